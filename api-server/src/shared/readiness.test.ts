import pino from 'pino';
import { classifyCheckError, createReadiness, STALE_CHECK_MS } from './readiness';

const silentLogger = () => pino({ level: 'silent' });
const never = () => new Promise<never>(() => undefined);

describe('createReadiness', () => {
  it('answers `timeout` for a check that hangs, within its deadline, and `ok` for the others', async () => {
    const readiness = createReadiness({ checks: { database: never, storage: async () => undefined }, timeoutMs: 100, logger: silentLogger() });
    const started = Date.now();
    expect(await readiness.check({ storage_claim: 'ok' })).toEqual({ ready: false, results: { database: 'timeout', storage: 'ok', storage_claim: 'ok' } });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('joins a check still running instead of starting another one per probe', async () => {
    let calls = 0;
    let finish!: () => void;
    let hung = true;
    const database = () => (calls++, hung ? new Promise<void>((resolve) => (finish = resolve)) : Promise.resolve());
    const readiness = createReadiness({ checks: { database }, timeoutMs: 50, logger: silentLogger() });
    for (let i = 0; i < 5; i++) expect((await readiness.check()).results.database).toBe('timeout');
    expect(calls).toBe(1);
    hung = false;
    finish();
    await new Promise((resolve) => setImmediate(resolve));
    expect((await readiness.check()).results.database).toBe('ok');
    expect(calls).toBe(2);
  });

  it('starts a fresh check instead of joining one stuck for longer than STALE_CHECK_MS', async () => {
    let calls = 0;
    let clock = 0;
    const readiness = createReadiness({ checks: { database: () => (calls++, never()) }, timeoutMs: 20, logger: silentLogger(), now: () => clock });
    await readiness.check();
    await readiness.check();
    expect(calls).toBe(1);
    clock += STALE_CHECK_MS + 1;
    await readiness.check();
    expect(calls).toBe(2);
  });

  it('says the store or the database rejected the credentials, not that it is unreachable', () => {
    const s3 = (name: string, httpStatusCode: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode } });
    expect(classifyCheckError(s3('SignatureDoesNotMatch', 403))).toBe('credentials rejected');
    expect(classifyCheckError(s3('InvalidAccessKeyId', 403))).toBe('credentials rejected');
    // HeadBucket's 403 has no body: the SDK names it after the status only.
    expect(classifyCheckError(s3('403', 403))).toBe('credentials rejected');
    expect(classifyCheckError(Object.assign(new Error('password authentication failed'), { code: '28P01' }))).toBe('credentials rejected');
    expect(classifyCheckError(s3('NoSuchBucket', 404))).toBe('unreachable');
    expect(classifyCheckError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe('unreachable');
  });

  it('logs when readiness changes, not at every probe', async () => {
    const logger = silentLogger();
    const warn = jest.spyOn(logger, 'warn');
    const info = jest.spyOn(logger, 'info');
    let failing: Error | undefined;
    const readiness = createReadiness({ checks: { database: async () => { if (failing) throw failing; } }, timeoutMs: 100, logger });
    await readiness.check();
    expect(warn).not.toHaveBeenCalled();
    failing = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' });
    for (let i = 0; i < 3; i++) await readiness.check();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatchObject({ dependency: 'database', result: 'unreachable', err: failing });
    failing = undefined;
    for (let i = 0; i < 3; i++) await readiness.check();
    expect(info).toHaveBeenCalledTimes(1);
    expect(info.mock.calls[0]![1]).toBe('readiness: ready again');
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
