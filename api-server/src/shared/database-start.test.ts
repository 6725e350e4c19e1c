import pino from 'pino';
import { DatabaseStartError, isConnectionError, waitForDatabase } from './database-start';

const fail = (code: string, message = code) => Object.assign(new Error(message), { code });

/** A database that fails with `errors` in turn, then answers; a fake clock that sleeps advance. */
function setUp(errors: unknown[]) {
  let clock = 0;
  let calls = 0;
  const db = { query: async () => ((calls++, errors.length) ? Promise.reject(errors.shift()) : []) as never };
  const logger = pino({ level: 'silent' });
  const warn = jest.spyOn(logger, 'warn');
  const sleeps: number[] = [];
  const options = { logger, now: () => clock, sleep: async (ms: number) => void (sleeps.push(ms), (clock += ms)) };
  return { db, warn, sleeps, options, calls: () => calls };
}

describe('waitForDatabase', () => {
  it('retries a refused connection with capped backoff, logging each attempt, until it answers', async () => {
    const { db, warn, sleeps, options, calls } = setUp(Array.from({ length: 6 }, () => fail('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.5:5432')));
    await waitForDatabase(db, { ...options, timeoutMs: 60_000 });
    expect(calls()).toBe(7);
    expect(sleeps).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
    expect(warn).toHaveBeenCalledTimes(6);
    expect(warn.mock.calls[0]![0]).toMatchObject({ attempt: 1, retry_in_ms: 500 });
  });

  it('gives up after the timeout with the last error', async () => {
    const { db, options } = setUp(Array.from({ length: 100 }, () => fail('ENOTFOUND', 'getaddrinfo ENOTFOUND db')));
    const wait = waitForDatabase(db, { ...options, timeoutMs: 10_000 });
    await expect(wait).rejects.toBeInstanceOf(DatabaseStartError);
    await expect(wait).rejects.toThrow(/not reachable within 10 s .*ENOTFOUND getaddrinfo ENOTFOUND db/);
  });

  it('fails at once on an error that is not a connection error', async () => {
    const refused = fail('28P01', 'password authentication failed for user "openpds"');
    const { db, sleeps, options } = setUp([refused]);
    await expect(waitForDatabase(db, { ...options, timeoutMs: 60_000 })).rejects.toBe(refused);
    expect(sleeps).toEqual([]);
    const missing = fail('3D000', 'database "openpds" does not exist');
    await expect(waitForDatabase(setUp([missing]).db, { ...options, timeoutMs: 60_000 })).rejects.toBe(missing);
  });

  it('gives an attempt that never answers (a frozen database) a deadline of its own', async () => {
    const logger = pino({ level: 'silent' });
    const db = { query: () => new Promise<never>(() => undefined) };
    const started = Date.now();
    await expect(waitForDatabase(db, { logger, timeoutMs: 0, attemptTimeoutMs: 100 })).rejects.toThrow(/not reachable .*no answer within 100 ms/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('tells connection errors from the others', () => {
    expect(isConnectionError(fail('57P03', 'the database system is starting up'))).toBe(true);
    expect(isConnectionError(fail('08001'))).toBe(true);
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError(Object.assign(new AggregateError([fail('ECONNREFUSED'), fail('ECONNREFUSED')]), { code: undefined }))).toBe(true);
    expect(isConnectionError(fail('42P01', 'relation "x" does not exist'))).toBe(false);
    expect(isConnectionError(new Error('boom'))).toBe(false);
  });
});
