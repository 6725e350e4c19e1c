/**
 * /readyz's checks of the database and the blob store, each under its own deadline. A store or database
 * that hangs instead of refusing (a frozen PostgreSQL, an S3 endpoint that accepts and never answers) made
 * /readyz wait as long as the driver does: 70 s and more on a frozen database, 99 s on a hung S3 (its idle
 * timeout times 3 attempts), while the kubelet gives up on a probe after 3 s and learns nothing but
 * "timeout" (red team, freeze-db.sh and outage-s3.sh). Now a check that takes longer than the deadline is
 * reported as `timeout`, in time for the probe.
 *
 * A check still running when the next probe comes is joined, not started again: on a frozen database each
 * probe's SELECT 1 used to take one more pool connection, and held it for as long as the freeze lasted.
 * One running for over STALE_CHECK_MS is left behind and a fresh one started, so a check stuck on a
 * connection that died silently cannot keep /readyz failing after the dependency is back.
 *
 * What the body says is the kind of failure only (`timeout`, `unreachable`, `credentials rejected`), never
 * the error's text, which names hosts and ports; the log has the error. It is logged when readiness
 * changes, not at every probe (every 5 s per pod).
 */
import type { Logger } from 'pino';

export type CheckResult = 'ok' | 'timeout' | 'unreachable' | 'credentials rejected';

export interface ReadinessOptions {
  checks: Record<string, () => Promise<unknown>>;
  timeoutMs: number;
  logger: Logger;
}

export interface Readiness {
  /** Runs (or joins) every check; each answers within timeoutMs. `extra` problems come from elsewhere (the store claim). */
  check(extra?: Record<string, string>): Promise<{ ready: boolean; results: Record<string, string> }>;
}

class CheckTimeout extends Error {
  override name = 'CheckTimeout';
}

/**
 * Credentials the store or the database refused: S3's 403 (InvalidAccessKeyId, SignatureDoesNotMatch,
 * AccessDenied; a HEAD answer has no body, so only its status says it) and PostgreSQL's
 * invalid_password / invalid_authorization_specification. Not an outage: retrying will not help, the
 * key or the password must be fixed.
 */
const S3_CREDENTIAL_ERRORS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'Forbidden', 'InvalidToken', 'ExpiredToken']);
const PG_CREDENTIAL_ERRORS = new Set(['28P01', '28000']);

export function classifyCheckError(err: unknown): Exclude<CheckResult, 'ok'> {
  if (err instanceof CheckTimeout) return 'timeout';
  const e = err as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: number } } | null;
  const status = e?.$metadata?.httpStatusCode;
  if (status === 401 || status === 403 || S3_CREDENTIAL_ERRORS.has(String(e?.name)) || PG_CREDENTIAL_ERRORS.has(String(e?.code))) return 'credentials rejected';
  return 'unreachable';
}

export const STALE_CHECK_MS = 30_000;

export function createReadiness({ checks, timeoutMs, logger, now = Date.now }: ReadinessOptions & { now?: () => number }): Readiness {
  const inFlight = new Map<string, { running: Promise<unknown>; since: number }>();
  let lastState: string | undefined;

  const runOne = async (name: string, fn: () => Promise<unknown>): Promise<{ result: CheckResult; err?: unknown }> => {
    let joined = inFlight.get(name);
    if (!joined || now() - joined.since > STALE_CHECK_MS) {
      const entry = { running: Promise.resolve().then(fn), since: now() };
      entry.running = entry.running.finally(() => inFlight.get(name) === entry && inFlight.delete(name));
      // A check left behind must not surface as an unhandled rejection.
      entry.running.catch(() => undefined);
      inFlight.set(name, (joined = entry));
    }
    const running = joined.running;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new CheckTimeout(`${name} did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([running, deadline]);
      return { result: 'ok' };
    } catch (err) {
      return { result: classifyCheckError(err), err };
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    async check(extra = {}) {
      const names = Object.keys(checks);
      const outcomes = await Promise.all(names.map((name) => runOne(name, checks[name]!)));
      const results: Record<string, string> = Object.fromEntries(names.map((name, i) => [name, outcomes[i]!.result]));
      Object.assign(results, extra);
      const ready = Object.values(results).every((r) => r === 'ok');
      const state = JSON.stringify(results);
      if (state !== lastState) {
        const first = lastState === undefined;
        lastState = state;
        if (ready) {
          if (!first) logger.info({ readiness: results }, 'readiness: ready again');
        } else {
          names.forEach((dependency, i) => {
            const { result, err } = outcomes[i]!;
            if (result !== 'ok') logger.warn({ err, dependency, result, readiness: results }, `readiness: ${dependency} ${result}`);
          });
          for (const [dependency, problem] of Object.entries(extra)) {
            if (problem !== 'ok') logger.warn({ dependency, result: problem, readiness: results }, `readiness: ${dependency} not ok`);
          }
        }
      }
      return { ready, results };
    },
  };
}
