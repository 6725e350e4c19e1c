/**
 * Runs jobs from the `jobs` table: `openpds serve` runs one runner in-process (the embedded default) and
 * every `openpds worker` runs one against the shared PostgreSQL. Claims are leases (see the repository),
 * so runners never coordinate beyond the database and a crashed one loses nothing.
 *
 * The loop claims as many due jobs as it has free slots, sleeps until a slot frees, `wake()` is called
 * (the process just enqueued something) or the poll interval passes. A failing job is retried with
 * exponential backoff and jitter, then kept as failed (`openpds_jobs_failed_total`; `openpds jobs
 * retry-failed` queues them again). An attempt that failed because the store or database was unreachable
 * does not count: it is retried with a backoff capped at OUTAGE_MAX_BACKOFF_SECONDS for as long as the
 * outage lasts, up to OUTAGE_GIVE_BACK_SECONDS after the job first failed; from then on such attempts
 * count too. Every outcome is fenced by the claim (jobs.repository.ts): a runner whose lease lapsed and
 * whose job was claimed again changes nothing, and says so (`openpds_jobs_lost_lease_total`).
 *
 * `holdBack` is for the runner inside `serve`, which shares its CPU and store with the uploads it serves:
 * while foreground work keeps arriving (`noteForeground()`), it claims only jobs that have waited longer
 * than `maxSeconds`, and catches up once `quietMs` pass without any. Measured on 2 cores: hashing 2,000
 * small files while they arrive cut upload throughput from 0.54× to 0.35× of raw PUTs.
 */
import { performance } from 'node:perf_hooks';
import client from 'prom-client';
import type { Logger } from 'pino';
import type { Db } from '../../db/db';
import { createJobBacklogMetrics } from './job-backlog.metrics';
import { createJobsRepository, LOST_LEASE, type JobRow } from './jobs.repository';
import { isDependencyUnavailable } from './unavailable-dependency';

/**
 * Runs one job. A handler that commits its work in a transaction may delete the job row in that same
 * transaction (jobs.repository.ts finish, fenced by the claim: exactly once-effective) and resolve to
 * 'finished', or to 'lost' when that matched no row (its lease lapsed and the job was claimed again);
 * otherwise the runner deletes it after the handler resolves.
 */
export type JobHandler = (payload: Record<string, unknown>, job: JobRow) => Promise<void | 'finished' | typeof LOST_LEASE>;

export interface JobRunnerOptions {
  concurrency: number;
  pollMs: number;
  leaseSeconds: number;
  holdBack?: { quietMs: number; maxSeconds: number };
  /**
   * How long close() waits for running jobs before it stops waiting and leaves them to their leases
   * (another runner claims them once the lease runs out). Kubernetes kills a pod 30 s after SIGTERM
   * (terminationGracePeriodSeconds, which the charts leave at its default); `serve` first gives its HTTP
   * connections up to 10 s (main.ts SHUTDOWN_GRACE_MS), so 15 s leaves time to close the pool in both.
   */
  closeGraceMs?: number;
  /** The backlog gauges' refresh (job-backlog.metrics.ts); its defaults unless a test needs them faster. */
  backlogMetrics?: Parameters<typeof createJobBacklogMetrics>[1];
}

export const DEFAULT_JOB_RUNNER_OPTIONS: JobRunnerOptions = { concurrency: 1, pollMs: 1000, leaseSeconds: 60, closeGraceMs: 15_000 };

const MAX_BACKOFF_SECONDS = 3600;
/** While the store or database is unreachable, a job is tried again at least this often, however long it lasts. */
export const OUTAGE_MAX_BACKOFF_SECONDS = 300;
/**
 * How long after a job's first failure an outage attempt is still given back. Longer than any outage worth
 * riding out; then a job that only ever fails as if the store were down (its own object answering S3
 * 500/InternalError, or timing out, every time) uses its attempts up and shows as failed, instead of being
 * retried every 5 minutes forever.
 */
export const OUTAGE_GIVE_BACK_SECONDS = 24 * 3600;
export const retryDelaySeconds = (attempts: number, random = Math.random, maxSeconds = MAX_BACKOFF_SECONDS): number =>
  Math.round(Math.min(maxSeconds, 5 * 2 ** (attempts - 1)) * (0.75 + random() * 0.5));

export function createJobRunner(
  deps: { db: Db; logger: Logger; registry: client.Registry },
  handlers: Readonly<Record<string, JobHandler>>,
  options: JobRunnerOptions = DEFAULT_JOB_RUNNER_OPTIONS,
) {
  const repo = createJobsRepository();
  const kinds = Object.keys(handlers);
  const running = new Set<Promise<void>>();
  let stopped = true;
  let loop: Promise<void> = Promise.resolve();
  // The loop's claim while it is in flight, resolved once the jobs it took are started (in `running`):
  // drain() waits for it, or it found nothing to claim while the loop was about to run the job.
  let claiming: Promise<JobRow[]> | null = null;
  let woken = false;
  let wakeUp: (() => void) | null = null;
  let lastForeground = -Infinity;
  /** Seconds a job must have been due to be claimed now: 0, or the hold-back while foreground is busy. */
  const dueSecondsAgo = () => {
    const hold = options.holdBack;
    return hold && hold.maxSeconds > 0 && performance.now() - lastForeground < hold.quietMs ? hold.maxSeconds : 0;
  };

  const duration = new client.Histogram({
    name: 'openpds_job_duration_seconds',
    help: 'Job run time by kind (the job name, e.g. blob.hash) and result: ok, retry (failed, will run again), failed (failed on its last attempt, kept as failed), lost (its lease lapsed and another runner claimed it: outcome not applied)',
    labelNames: ['kind', 'result'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [deps.registry],
  });
  const failed = new client.Counter({
    name: 'openpds_jobs_failed_total',
    help: 'Jobs that failed on their last attempt and were kept as failed, by kind (the job name, e.g. blob.hash; every kind starts at 0)',
    labelNames: ['kind'],
    registers: [deps.registry],
  });
  const lostLease = new client.Counter({
    name: 'openpds_jobs_lost_lease_total',
    help: 'Job runs whose lease lapsed and whose job another runner claimed meanwhile: their outcome was not applied; by kind (the job name, e.g. blob.hash; every kind starts at 0)',
    labelNames: ['kind'],
    registers: [deps.registry],
  });
  // Every kind's series at 0 from the start: rate() and increase() need a sample before the first
  // failure, or a pod's first failed job (or lost lease) never shows in them.
  for (const kind of kinds) {
    failed.inc({ kind }, 0);
    lostLease.inc({ kind }, 0);
  }
  const leases = new Set<NodeJS.Timeout>();
  const backlog = createJobBacklogMetrics(deps, options.backlogMetrics);

  async function runOne(job: JobRow): Promise<void> {
    const handler = handlers[job.kind]!;
    const context = { job_id: job.job_id, kind: job.kind, attempts: job.attempts, claims: job.claims };
    let warnedLapse = false;
    const renew = () =>
      void repo.extendLease(deps.db, job, options.leaseSeconds).then(
        (held) => {
          // Nothing to stop: the handler's own outcome is fenced too, and will be reported as lost.
          if (!held && !warnedLapse) deps.logger.warn(context, 'job lease lapsed and another runner claimed it; this run\'s outcome will not be applied');
          warnedLapse ||= !held;
        },
        () => undefined,
      );
    const lease = setInterval(renew, (options.leaseSeconds * 1000) / 3);
    leases.add(lease);
    const end = duration.startTimer({ kind: job.kind });
    const lost = () => {
      end({ result: 'lost' });
      lostLease.inc({ kind: job.kind });
      deps.logger.warn(context, 'job lost its lease to another runner; its outcome was not applied');
    };
    try {
      const result = await handler(job.payload, job);
      if (result === LOST_LEASE || (result !== 'finished' && !(await repo.finish(deps.db, job)))) return lost();
      end({ result: 'ok' });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const outage = isDependencyUnavailable(err);
      const delay = outage ? retryDelaySeconds(job.claims, Math.random, OUTAGE_MAX_BACKOFF_SECONDS) : retryDelaySeconds(job.attempts);
      // A database outage still uses the attempt: the claim counted it, and this UPDATE cannot run (the lease
      // lapses and the job is claimed again once the database is back).
      const outcome = await repo.fail(deps.db, job, message, delay, { counts: !outage, giveBackForSeconds: OUTAGE_GIVE_BACK_SECONDS }).catch(() => 'retry' as const);
      if (outcome === LOST_LEASE) return lost();
      end({ result: outcome });
      if (outcome === 'failed') failed.inc({ kind: job.kind });
      const what = outcome === 'failed' ? 'failed for good' : outage ? 'failed: store or database unavailable, will retry (attempt not counted for the first 24 h of failures)' : 'failed, will retry';
      deps.logger[outcome === 'failed' ? 'error' : 'warn']({ err, ...context, retry_in_seconds: outcome === 'retry' ? delay : undefined }, `job ${what}`);
    } finally {
      clearInterval(lease);
      leases.delete(lease);
    }
  }

  function start(job: JobRow) {
    const p: Promise<void> = runOne(job).finally(() => {
      running.delete(p);
      wake();
    });
    running.add(p);
  }

  function wake() {
    woken = true;
    wakeUp?.();
  }

  async function runLoop() {
    while (!stopped) {
      woken = false;
      const free = options.concurrency - running.size;
      if (free > 0) {
        const due = dueSecondsAgo();
        const claim = repo.claim(deps.db, kinds, free, options.leaseSeconds, due).then(
          (jobs) => (jobs.forEach(start), jobs),
          (err: unknown): JobRow[] => {
            deps.logger.error({ err }, 'claiming jobs failed');
            return [];
          },
        );
        claiming = claim;
        const claimed = await claim.finally(() => (claiming = null));
        if (claimed.length === free) continue;
        if (due > 0) {
          // Look again once the foreground may have gone quiet.
          await new Promise((resolve) => setTimeout(resolve, Math.min(options.holdBack!.quietMs, options.pollMs)));
          continue;
        }
      }
      if (woken || stopped) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollMs);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeUp = null;
    }
  }

  return {
    kinds,
    start() {
      if (!stopped || kinds.length === 0) return;
      stopped = false;
      loop = runLoop();
    },
    /** Something was just enqueued: claim now instead of at the next poll. */
    wake,
    /** Foreground work (an upload call) just happened: with `holdBack`, young jobs wait for a quiet moment. */
    noteForeground() {
      lastForeground = performance.now();
    },
    /** Runs every job that is due, until none is left (tests and benchmarks wait on this). */
    async drain(): Promise<number> {
      let ran = 0;
      for (;;) {
        while (claiming || running.size) {
          await claiming;
          await Promise.all(running);
        }
        const claimed = await repo.claim(deps.db, kinds, Math.max(options.concurrency, 1), options.leaseSeconds);
        if (!claimed.length) {
          // A claim of the loop's in flight meanwhile may hold what this one skipped (SKIP LOCKED): wait for
          // that one claim (not every later poll: a running loop claims all the time) and what it started.
          const pending = claiming as Promise<JobRow[]> | null; // set by the loop meanwhile (TS narrowed it above)
          if (running.size || (pending && (await pending).length)) continue;
          return ran;
        }
        ran += claimed.length;
        await Promise.all(claimed.map(runOne));
      }
    },
    /**
     * Stops claiming and waits for the jobs already running, at most `closeGraceMs`: then it stops renewing
     * their leases and returns, so the process can exit; each such job runs again once its lease runs out.
     */
    async close() {
      stopped = true;
      backlog.stop();
      wake();
      await loop;
      let timer: NodeJS.Timeout | undefined;
      const grace = options.closeGraceMs ?? DEFAULT_JOB_RUNNER_OPTIONS.closeGraceMs!;
      const gaveUp = await Promise.race([
        Promise.all(running).then(() => false),
        new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), grace))),
      ]);
      clearTimeout(timer);
      if (!gaveUp) return;
      for (const lease of leases) clearInterval(lease);
      leases.clear();
      deps.logger.warn({ running: running.size, grace_ms: grace }, 'jobs still running at close; left to their leases');
    },
  };
}
export type JobRunner = ReturnType<typeof createJobRunner>;
