/**
 * Runs jobs from the `jobs` table: `openpds serve` runs one runner in-process (the embedded default) and
 * every `openpds worker` runs one against the shared PostgreSQL. Claims are leases (see the repository),
 * so runners never coordinate beyond the database and a crashed one loses nothing.
 *
 * The loop claims as many due jobs as it has free slots, sleeps until a slot frees, `wake()` is called
 * (the process just enqueued something) or the poll interval passes. A failing job is retried with
 * exponential backoff and jitter, then kept as failed (`openpds_jobs_failed_total`).
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
import { createJobsRepository, type JobRow } from './jobs.repository';

/**
 * Runs one job. A handler that commits its work in a transaction may delete the job row in that same
 * transaction (`DELETE FROM jobs WHERE job_id = …`, exactly once-effective) and resolve to 'finished';
 * otherwise the runner deletes it after the handler resolves.
 */
export type JobHandler = (payload: Record<string, unknown>, job: JobRow) => Promise<void | 'finished'>;

export interface JobRunnerOptions {
  concurrency: number;
  pollMs: number;
  leaseSeconds: number;
  holdBack?: { quietMs: number; maxSeconds: number };
}

export const DEFAULT_JOB_RUNNER_OPTIONS: JobRunnerOptions = { concurrency: 1, pollMs: 1000, leaseSeconds: 60 };

const MAX_BACKOFF_SECONDS = 3600;
export const retryDelaySeconds = (attempts: number, random = Math.random): number =>
  Math.round(Math.min(MAX_BACKOFF_SECONDS, 5 * 2 ** (attempts - 1)) * (0.75 + random() * 0.5));

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
    help: 'Job run time by kind and result (ok, retry, failed)',
    labelNames: ['kind', 'result'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [deps.registry],
  });
  const failed = new client.Counter({
    name: 'openpds_jobs_failed_total',
    help: 'Jobs that failed on their last attempt and were kept as failed',
    labelNames: ['kind'],
    registers: [deps.registry],
  });
  let backlog: Promise<{ backlog: number; oldest_seconds: number }> | null = null;
  // One query per scrape feeds both gauges.
  // A scrape must answer even when the database does not (or is not migrated yet): the gauges then go blank.
  const readBacklog = () =>
    (backlog ??= repo
      .backlog(deps.db)
      .catch((err: unknown) => {
        deps.logger.warn({ err }, 'reading the job backlog for metrics failed');
        return { backlog: NaN, oldest_seconds: NaN };
      })
      .finally(() => setImmediate(() => (backlog = null))));
  new client.Gauge({
    name: 'openpds_jobs_backlog',
    help: 'Jobs due now, waiting or running (the worker autoscaler follows it)',
    registers: [deps.registry],
    async collect() {
      this.set((await readBacklog()).backlog);
    },
  });
  new client.Gauge({
    name: 'openpds_jobs_oldest_age_seconds',
    help: 'How long the oldest due job has been waiting',
    registers: [deps.registry],
    async collect() {
      this.set((await readBacklog()).oldest_seconds);
    },
  });

  async function runOne(job: JobRow): Promise<void> {
    const handler = handlers[job.kind]!;
    const lease = setInterval(() => void repo.extendLease(deps.db, job.job_id, options.leaseSeconds).catch(() => undefined), (options.leaseSeconds * 1000) / 3);
    const end = duration.startTimer({ kind: job.kind });
    try {
      if ((await handler(job.payload, job)) !== 'finished') await repo.finish(deps.db, job.job_id);
      end({ result: 'ok' });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const outcome = await repo.fail(deps.db, job, message, retryDelaySeconds(job.attempts)).catch(() => 'retry' as const);
      end({ result: outcome });
      if (outcome === 'failed') failed.inc({ kind: job.kind });
      deps.logger[outcome === 'failed' ? 'error' : 'warn']({ err, job_id: job.job_id, kind: job.kind, attempts: job.attempts }, `job ${outcome === 'failed' ? 'failed for good' : 'failed, will retry'}`);
    } finally {
      clearInterval(lease);
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
        const claimed = await repo.claim(deps.db, kinds, free, options.leaseSeconds, due).catch((err: unknown) => {
          deps.logger.error({ err }, 'claiming jobs failed');
          return [];
        });
        claimed.forEach(start);
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
        await Promise.all(running);
        const claimed = await repo.claim(deps.db, kinds, Math.max(options.concurrency, 1), options.leaseSeconds);
        if (!claimed.length) return ran;
        ran += claimed.length;
        await Promise.all(claimed.map(runOne));
      }
    },
    /** Stops claiming and waits for the jobs already running. */
    async close() {
      stopped = true;
      wake();
      await loop;
      await Promise.all(running);
    },
  };
}
export type JobRunner = ReturnType<typeof createJobRunner>;
