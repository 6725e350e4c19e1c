import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../config/config';
import { StorageClaimError } from '../storage/storage-claim';
import { fatalLogLine, writeTerminationMessage } from './fatal-log-line';

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

describe('writeTerminationMessage', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-termination-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes the code and message over what the file held, as the kubelet reads it', () => {
    const file = path.join(dir, 'termination-log');
    fs.writeFileSync(file, 'x'.repeat(10_000)); // an earlier, longer message: none of it may remain
    expect(writeTerminationMessage(new StorageClaimError('HeldByOther', 'the blob store is claimed by another instance'), file)).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe('StorageClaim.HeldByOther: openpds: invalid configuration: the blob store is claimed by another instance');
  });

  it('never creates the file (outside Kubernetes there is none) and never throws', () => {
    const absent = path.join(dir, 'absent');
    expect(writeTerminationMessage(new Error('boom'), absent)).toBe(false);
    expect(fs.existsSync(absent)).toBe(false);
    expect(writeTerminationMessage(new Error('boom'), path.join(dir, 'no', 'such', 'dir'))).toBe(false);
  });

  it('keeps within the kubelet\'s 4096 bytes, cut between characters, and says it was cut', () => {
    const file = path.join(dir, 'long');
    fs.writeFileSync(file, '');
    writeTerminationMessage(new ConfigError(`${'é'.repeat(3000)}`), file);
    const written = fs.readFileSync(file);
    expect(written.length).toBeLessThanOrEqual(4096);
    expect(written.length).toBeGreaterThan(4090);
    const text = written.toString('utf8');
    expect(text).not.toContain('\uFFFD');
    expect(text.endsWith('é…')).toBe(true);
  });
});
