/**
 * The job backlog gauges, read from the database in the background and served from memory. They used to
 * run their query during each scrape, so /metrics hung as long as the database did (red team): a scrape
 * must answer whatever the database does, or Prometheus loses every other series of the pod too (the
 * storage errors, the HTTP latency) exactly when they matter.
 *
 * Started by the first scrape (a process nobody scrapes queries nothing), then every `refreshMs`, with
 * at most one query in flight: a hung one holds back the next refresh, it does not pile them up. Figures
 * older than `staleMs` are served blank (NaN) rather than as if current, as is a failed read;
 * openpds_jobs_backlog_refreshed_timestamp_seconds says when they were last read.
 */
import client from 'prom-client';
import type { Logger } from 'pino';
import type { Db } from '../../db/db';
import { createJobsRepository } from './jobs.repository';

/** Often enough for the worker autoscaler and a 15 s scrape; one cheap count per pod. */
export const BACKLOG_REFRESH_MS = 5_000;
/** Past this the figures are not served: the database has not answered for several refreshes. */
export const BACKLOG_STALE_MS = 30_000;
/** How long the first scrape waits for the first figures (later ones never wait); well within a 10 s scrape timeout. */
export const BACKLOG_FIRST_WAIT_MS = 3_000;
/**
 * A scrape that finds figures older than this starts a read in the background (it still answers with what
 * it has): whoever scrapes often (a benchmark waiting for the hashing after its uploads, an operator
 * watching a drain) sees figures at most about this old, not up to refreshMs.
 */
export const BACKLOG_SCRAPE_REFRESH_MS = 1_000;

export interface JobBacklogMetrics {
  /** Stops the refreshes (at close). Scrapes after it serve what was last read, until it is stale. */
  stop(): void;
}

export function createJobBacklogMetrics(
  deps: { db: Db; logger: Logger; registry: client.Registry; now?: () => number },
  options: { refreshMs?: number; staleMs?: number; firstWaitMs?: number; scrapeRefreshMs?: number } = {},
): JobBacklogMetrics {
  const repo = createJobsRepository();
  const now = deps.now ?? Date.now;
  const refreshMs = options.refreshMs ?? BACKLOG_REFRESH_MS;
  const staleMs = options.staleMs ?? BACKLOG_STALE_MS;
  let figures: { backlog: number; oldest_seconds: number } | null = null;
  let readAt = 0;
  let failing = false;
  let inFlight: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  const refresh = (): Promise<void> =>
    (inFlight ??= repo
      .backlog(deps.db)
      .then(
        (read) => {
          figures = read;
          readAt = now();
          if (failing) deps.logger.info('reading the job backlog for metrics works again');
          failing = false;
        },
        (err: unknown) => {
          // Blank, not the last figures: an autoscaler must not act on a backlog nobody can read.
          figures = null;
          // Once per outage, not every refresh.
          if (!failing) deps.logger.warn({ err }, 'reading the job backlog for metrics failed; its gauges are blank until it works again');
          failing = true;
        },
      )
      .finally(() => (inFlight = null)));

  let first: Promise<unknown> | null = null;
  async function current(): Promise<{ backlog: number; oldest_seconds: number } | null> {
    if (!first && !stopped) {
      timer = setInterval(() => void refresh(), refreshMs);
      timer.unref();
      const waited = new Promise((resolve) => setTimeout(resolve, options.firstWaitMs ?? BACKLOG_FIRST_WAIT_MS).unref());
      first = Promise.race([refresh(), waited]);
    } else if (!stopped && now() - readAt >= (options.scrapeRefreshMs ?? BACKLOG_SCRAPE_REFRESH_MS)) {
      void refresh(); // answered with what is there; the next scrape sees the new figures
    }
    // Every gauge of the first scrape waits for the same first read; later scrapes never wait.
    await first;
    return figures && now() - readAt <= staleMs ? figures : null;
  }

  new client.Gauge({
    name: 'openpds_jobs_backlog',
    help: 'Jobs due now, waiting or running (the worker autoscaler follows it); read in the background, blank (NaN) when the database has not answered for 30 s',
    registers: [deps.registry],
    async collect() {
      this.set((await current())?.backlog ?? NaN);
    },
  });
  new client.Gauge({
    name: 'openpds_jobs_oldest_age_seconds',
    help: 'How long the oldest job waiting to run has been due, in seconds: queued and due, not running under a live lease (0: none waiting); read in the background, blank (NaN) when the database has not answered for 30 s',
    registers: [deps.registry],
    async collect() {
      this.set((await current())?.oldest_seconds ?? NaN);
    },
  });
  new client.Gauge({
    name: 'openpds_jobs_backlog_refreshed_timestamp_seconds',
    help: 'Unix time the job backlog gauges were last read from the database (0: not yet)',
    registers: [deps.registry],
    async collect() {
      await current();
      this.set(readAt / 1000);
    },
  });

  return {
    stop() {
      stopped = true;
      if (timer) clearInterval(timer);
    },
  };
}
