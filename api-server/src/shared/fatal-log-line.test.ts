import { ConfigError } from '../config/config';
import { StorageClaimError } from '../storage/storage-claim';
import { fatalLogLine } from './fatal-log-line';

const parse = (err: unknown) => JSON.parse(fatalLogLine(err, () => 1000)) as Record<string, unknown>;

describe('fatalLogLine', () => {
  it('is one JSON line with pino\'s fatal level, the message and a code', () => {
    const line = fatalLogLine(Object.assign(new Error('listen EADDRINUSE: address already in use 0.0.0.0:8080\nsecond line'), { code: 'EADDRINUSE' }), () => 1000);
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({ level: 60, time: 1000, msg: 'openpds: cannot start: listen EADDRINUSE: address already in use 0.0.0.0:8080\nsecond line', code: 'EADDRINUSE' });
  });

  it('names configuration errors and storage claim refusals by their own codes', () => {
    expect(parse(new ConfigError('OPENPDS_PORT must be an integer, got "x"'))).toMatchObject({ code: 'InvalidConfiguration', msg: 'openpds: invalid configuration: OPENPDS_PORT must be an integer, got "x"' });
    expect(parse(new StorageClaimError('HeldByOther', 'the blob store is claimed by another instance'))).toMatchObject({ code: 'StorageClaim.HeldByOther' });
    expect(parse(new TypeError('x is not a function'))).toMatchObject({ code: 'TypeError' });
    expect(parse(new Error('boom'))).toMatchObject({ code: 'InternalError' });
    expect(parse('a string')).toMatchObject({ code: 'InternalError', msg: 'openpds: cannot start: a string' });
  });
});
