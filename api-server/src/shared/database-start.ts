/**
 * At start, a PostgreSQL that cannot be reached yet is waited for, as an unreachable store already is:
 * `serve` exited 1 at once, and pods crash-looped into Kubernetes' back-off, coming up to 5 minutes after
 * the database was back (red team, outage-db.sh). Connection failures are retried with capped backoff,
 * each logged, for OPENPDS_DB_START_TIMEOUT_SECONDS; anything else (a password refused, a database that
 * does not exist, a failing migration) still fails the start at once: waiting would not fix it.
 */
import type { Logger } from 'pino';
import type { Db } from '../db/db';

/**
 * What a database not reachable yet fails with: network errors, PostgreSQL starting up or shutting down
 * (57P03, 57P01), too many connections (53300), the SQLSTATE class 08 pg.db.ts gives its own connection
 * failures, and pg's bare errors for a connection cut or never opened.
 */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', '57P01', '57P03', '53300']);
const CONNECTION_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout|connect ETIMEDOUT)/;

export function isConnectionError(err: unknown): boolean {
  if (err instanceof AttemptTimeout) return true;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (CONNECTION_CODES.has(code) || code.startsWith('08')) return true;
  if (!code && typeof e?.message === 'string' && CONNECTION_MESSAGES.test(e.message)) return true;
  // AggregateError (a host name with several addresses, all refused) and wrapped errors.
  const inner = (err as { errors?: unknown[] } | null)?.errors ?? (e?.cause ? [e.cause] : []);
  return inner.length > 0 && inner.every(isConnectionError);
}

const MIN_ATTEMPT_MS = 2_000;

class AttemptTimeout extends Error {
  override name = 'AttemptTimeout';
}

export class DatabaseStartError extends Error {
  override name = 'DatabaseStartError';
  readonly code = 'ServiceUnavailable.Database';
}

export interface WaitForDatabaseOptions {
  timeoutMs: number;
  logger: Logger;
  /** Longest one attempt may take: a frozen database or a dropped SYN never answers. */
  attemptTimeoutMs?: number;
  firstDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export async function waitForDatabase(db: Pick<Db, 'query'>, options: WaitForDatabaseOptions): Promise<void> {
  const { timeoutMs, logger, attemptTimeoutMs = 10_000, firstDelayMs = 500, maxDelayMs = 5_000, now = Date.now } = options;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = now();
  let delay = firstDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      // Within what is left of the wait, but never so short that a slow healthy connect fails (0: one try).
      await withDeadline(db.query('SELECT 1'), Math.min(attemptTimeoutMs, Math.max(MIN_ATTEMPT_MS, timeoutMs - (now() - started))));
      if (attempt > 1) logger.info({ attempt }, 'database reachable');
      return;
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      const waited = now() - started;
      if (waited >= timeoutMs) {
        throw new DatabaseStartError(`the database was not reachable within ${Math.round(timeoutMs / 1000)} s at start (OPENPDS_DB_START_TIMEOUT_SECONDS; ${attempt} attempts): ${describeError(err)}`, { cause: err });
      }
      const pause = Math.min(delay, timeoutMs - waited);
      logger.warn({ attempt, retry_in_ms: pause, waited_ms: waited, err }, `database not reachable at start (${describeError(err)}); retrying`);
      await sleep(pause);
      delay = Math.min(delay * 2, maxDelayMs);
    }
  }
}

const describeError = (err: unknown) => {
  const e = err as { code?: unknown; message?: unknown };
  return [typeof e?.code === 'string' ? e.code : undefined, typeof e?.message === 'string' ? e.message : String(err)].filter(Boolean).join(' ');
};

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  // The attempt left behind settles on its own (pg's connection timeout); its failure must not be unhandled.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new AttemptTimeout(`no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
