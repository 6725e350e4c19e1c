/**
 * The job backlog gauges: openpds_jobs_backlog counts due jobs waiting or running (the autoscaler's
 * figure); openpds_jobs_oldest_age_seconds only those waiting to run. A running 15-minute hash once
 * showed as a job waiting 15 minutes and fired OpenPDSJobBacklogOld with nothing queued (red team). Both
 * are read in the background: a scrape that awaited the database hung /metrics as long as it did.
 */
import pino from 'pino';
import client from 'prom-client';
import { startTcpProxy } from '../../../../test/support/tcp-proxy';
import { createTestDatabaseUrl, createTestDb, DB_KINDS, type DbKind } from '../../../../test/support/test-db';
import type { Db } from '../../db/db';
import { migrate } from '../../db/migrate';
import { createPgDb } from '../../db/pg.db';
import { createJobRunner } from './job-runner';
import { createJobsRepository } from './jobs.repository';

const repo = createJobsRepository();

/**
 * One migrated database of each kind for the blocks below, PGlite's from the test template: each block
 * made its own, and PGlite's in-memory initdb took 20–40 s apiece on two busy cores. Each test clears
 * the jobs table before it reads it.
 */
const shared: Partial<Record<DbKind, Promise<Db>>> = {};
const sharedDb = (kind: DbKind): Promise<Db> =>
  (shared[kind] ??= createTestDb(kind, { fromTemplate: true }).then(async (db) => {
    await migrate(db);
    return db;
  }));
afterAll(() => Promise.all(Object.values(shared).map(async (db) => (await db).close())));

describe.each(DB_KINDS)('job backlog on %s', (kind) => {
  let db: Db;
  beforeAll(async () => {
    db = await sharedDb(kind);
  });
  beforeEach(() => db.query('DELETE FROM jobs'));

  it('does not age a job that is running under a live lease', async () => {
    await db.query(`INSERT INTO jobs (kind, run_at, locked_until) VALUES ('blob.hash', now() - interval '900 seconds', now() + interval '60 seconds')`);
    expect(await repo.backlog(db)).toEqual({ backlog: 1, oldest_seconds: 0 });
  });

  it('ages waiting jobs, and a job whose lease ran out (its runner died), from when they were due', async () => {
    await db.query(`INSERT INTO jobs (kind, run_at, locked_until) VALUES
      ('a', now() - interval '900 seconds', now() + interval '60 seconds'),
      ('a', now() - interval '300 seconds', now() - interval '1 second'),
      ('a', now() - interval '30 seconds', NULL),
      ('a', now() + interval '1 hour', NULL)`);
    const { backlog, oldest_seconds } = await repo.backlog(db);
    expect(backlog).toBe(3);
    expect(oldest_seconds).toBeGreaterThanOrEqual(299);
    expect(oldest_seconds).toBeLessThan(400);
  });
});

/** A gauge's value in the exposition text (NaN for a blank one). */
const gauge = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
/** The scrape's text, or 'still waiting' after `ms` (the old gauges awaited the database on each scrape). */
const scrape = (registry: client.Registry, ms = 2_000) =>
  Promise.race([registry.metrics(), new Promise<string>((r) => setTimeout(() => r('still waiting'), ms).unref())]);
const logger = pino({ level: 'silent' });
const FAST = { refreshMs: 100, staleMs: 1_500 };

describe.each(DB_KINDS)('job backlog gauges on %s while the database hangs', (kind) => {
  let real: Db;
  beforeAll(async () => {
    real = await sharedDb(kind);
  });

  it('answer the scrape at once from the last figures, one query in flight at most, then go blank', async () => {
    await real.query(`DELETE FROM jobs`);
    await real.query(`INSERT INTO jobs (kind, run_at) VALUES ('a', now() - interval '90 seconds'), ('a', now())`);
    let hung = false;
    let started = 0;
    const db: Db = { ...real, query: (sql, params) => (started++, hung ? new Promise(() => undefined) : real.query(sql, params)) };
    const registry = new client.Registry();
    const runner = createJobRunner({ db, logger, registry }, { a: async () => undefined }, { concurrency: 1, pollMs: 50, leaseSeconds: 30, backlogMetrics: FAST });
    try {
      const before = await scrape(registry);
      expect(gauge(before, 'openpds_jobs_backlog')).toBe(2);
      hung = true;
      const queriesThen = started;
      await new Promise((r) => setTimeout(r, 600)); // several refresh intervals
      const during = await scrape(registry, 500);
      expect(gauge(during, 'openpds_jobs_backlog')).toBe(2);
      expect(gauge(during, 'openpds_jobs_oldest_age_seconds')).toBeGreaterThanOrEqual(89);
      expect(started - queriesThen).toBe(1); // the hung read holds back the next ones
      await new Promise((r) => setTimeout(r, FAST.staleMs));
      const stale = await scrape(registry, 500);
      expect(gauge(stale, 'openpds_jobs_backlog')).toBeNaN();
      expect(gauge(stale, 'openpds_jobs_backlog_refreshed_timestamp_seconds')).toBeLessThan(Date.now() / 1000 - FAST.staleMs / 1000);
    } finally {
      await runner.close();
    }
  });
});

describe.each(DB_KINDS)('job backlog gauges on %s, scraped often', (kind) => {
  it('a scrape that finds figures older than scrapeRefreshMs reads them again in the background', async () => {
    const db = await sharedDb(kind);
    await db.query(`DELETE FROM jobs`);
    const registry = new client.Registry();
    // The timer alone would not read again for a minute.
    const runner = createJobRunner({ db, logger, registry }, { a: async () => undefined }, { concurrency: 1, pollMs: 60_000, leaseSeconds: 30, backlogMetrics: { refreshMs: 60_000, staleMs: 120_000, scrapeRefreshMs: 200 } });
    try {
      expect(gauge(await scrape(registry), 'openpds_jobs_backlog')).toBe(0);
      await repo.enqueue(db, 'later', {});
      const deadline = Date.now() + 3_000;
      let seen = 0;
      while (seen !== 1 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        seen = gauge(await scrape(registry, 500), 'openpds_jobs_backlog');
      }
      expect(seen).toBe(1);
    } finally {
      await runner.close();
    }
  });
});

describe('job backlog gauges behind a PostgreSQL proxy that stops forwarding', () => {
  it('keep /metrics answering', async () => {
    const url = await createTestDatabaseUrl();
    const proxy = await startTcpProxy(new URL(url));
    const db = createPgDb(Object.assign(new URL(url), { port: new URL(proxy.url).port }).toString());
    const registry = new client.Registry();
    const runner = createJobRunner({ db, logger, registry }, { a: async () => undefined }, { concurrency: 1, pollMs: 50, leaseSeconds: 30, backlogMetrics: FAST });
    try {
      await migrate(db);
      await repo.enqueue(db, 'later', {});
      expect(gauge(await scrape(registry), 'openpds_jobs_backlog')).toBe(1);
      proxy.mode = 'silent';
      await new Promise((r) => setTimeout(r, 300));
      expect(gauge(await scrape(registry, 500), 'openpds_jobs_backlog')).toBe(1);
    } finally {
      await runner.close();
      await proxy.close();
      await db.close();
    }
  });
});
