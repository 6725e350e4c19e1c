/** The job queue on both databases: leases, retries with backoff, failures kept, gauges, SKIP LOCKED claims. */
import pino from 'pino';
import client from 'prom-client';
import { createTestDb, DB_KINDS } from '../../../../test/support/test-db';
import type { Db } from '../../db/db';
import { migrate } from '../../db/migrate';
import { createJobRunner, OUTAGE_GIVE_BACK_SECONDS, OUTAGE_MAX_BACKOFF_SECONDS, retryDelaySeconds, type JobHandler } from './job-runner';
import { createJobsRepository } from './jobs.repository';

const logger = pino({ level: 'silent' });
const repo = createJobsRepository();
const options = { concurrency: 2, pollMs: 50, leaseSeconds: 30 };

describe.each(DB_KINDS)('job runner on %s', (kind) => {
  let db: Db;
  beforeAll(async () => {
    db = await createTestDb(kind, { fromTemplate: true });
    await migrate(db);
  });
  afterAll(() => db?.close());
  beforeEach(() => db.query('DELETE FROM jobs'));

  const runner = (handlers: Record<string, JobHandler>, registry = new client.Registry()) => createJobRunner({ db, logger, registry }, handlers, options);

  it('runs due jobs once each and removes them', async () => {
    const seen: unknown[] = [];
    for (const n of [1, 2, 3]) await repo.enqueue(db, 'count', { n });
    expect(await runner({ count: async (p) => void seen.push(p.n) }).drain()).toBe(3);
    expect(seen.sort()).toEqual([1, 2, 3]);
    expect(await db.query('SELECT * FROM jobs')).toEqual([]);
  });

  it('retries a failing job later, then keeps it as failed with its error and counts it', async () => {
    await db.query(`INSERT INTO jobs (kind, max_attempts) VALUES ('flaky', 2)`);
    const registry = new client.Registry();
    const jobs = runner({ flaky: async () => Promise.reject(new Error('store said no')) }, registry);
    expect(await jobs.drain()).toBe(1);
    const [retry] = await db.query<{ state: string; attempts: number; last_error: string; wait: number }>(
      `SELECT state, attempts, last_error, EXTRACT(EPOCH FROM run_at - now())::float AS wait FROM jobs`,
    );
    expect(retry).toMatchObject({ state: 'queued', attempts: 1, last_error: 'store said no' });
    expect(retry!.wait).toBeGreaterThan(2); // backoff: not due again at once
    expect(await jobs.drain()).toBe(0);

    await db.query(`UPDATE jobs SET run_at = now()`);
    expect(await jobs.drain()).toBe(1);
    expect(await db.query(`SELECT state, attempts FROM jobs`)).toEqual([{ state: 'failed', attempts: 2 }]);
    expect(await jobs.drain()).toBe(0); // failed jobs stay for O&M, never run again
    expect(await registry.getSingleMetricAsString('openpds_jobs_failed_total')).toContain('openpds_jobs_failed_total{kind="flaky"} 1');
  });

  it('backs off exponentially with jitter, capped at an hour', () => {
    expect(retryDelaySeconds(1, () => 0.5)).toBe(5);
    expect(retryDelaySeconds(4, () => 0.5)).toBe(40);
    expect(retryDelaySeconds(30, () => 1)).toBe(Math.round(3600 * 1.25));
    expect(retryDelaySeconds(1, () => 0)).toBe(4);
  });

  it('picks up a job whose worker died once its lease runs out, not before', async () => {
    await repo.enqueue(db, 'work', {});
    expect(await repo.claim(db, ['work'], 1, 60)).toHaveLength(1); // a worker claims it, then crashes
    let ran = 0;
    const jobs = runner({ work: async () => void ran++ });
    expect(await jobs.drain()).toBe(0);
    await db.query(`UPDATE jobs SET locked_until = now() - interval '1 second'`);
    expect(await jobs.drain()).toBe(1);
    expect(ran).toBe(1);
  });

  it('reports the backlog and the age of the oldest due job', async () => {
    await db.query(`INSERT INTO jobs (kind, run_at) VALUES ('a', now() - interval '90 seconds'), ('a', now()), ('a', now() + interval '1 hour')`);
    const registry = new client.Registry();
    runner({ a: async () => undefined }, registry);
    const text = await registry.metrics();
    expect(text).toMatch(/^openpds_jobs_backlog 2$/m);
    expect(Number(/^openpds_jobs_oldest_age_seconds (\S+)$/m.exec(text)![1])).toBeGreaterThanOrEqual(89);
  });

  it('runs a job as soon as it is enqueued and woken, and close() waits for running jobs', async () => {
    let release!: () => void;
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const jobs = createJobRunner({ db, logger, registry: new client.Registry() }, {
      slow: () => {
        started();
        return new Promise<void>((r) => (release = r));
      },
    }, { ...options, pollMs: 60_000 }); // only wake() can make it claim within the test
    jobs.start();
    await repo.enqueue(db, 'slow', {});
    jobs.wake();
    await running;
    let closed = false;
    const closing = jobs.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false);
    release();
    await closing;
    expect(await db.query('SELECT * FROM jobs')).toEqual([]);
  });

  it('holds young jobs back while foreground work keeps arriving, and runs them once it is quiet', async () => {
    const ran: string[] = [];
    const jobs = createJobRunner({ db, logger, registry: new client.Registry() }, { j: async (p) => void ran.push(p.name as string) }, {
      ...options,
      pollMs: 20,
      holdBack: { quietMs: 300, maxSeconds: 60 },
    });
    jobs.noteForeground();
    jobs.start();
    await repo.enqueue(db, 'j', { name: 'young' });
    await db.query(`INSERT INTO jobs (kind, payload, run_at) VALUES ('j', '{"name":"old"}', now() - interval '2 minutes')`);
    jobs.wake();
    const busyUntil = Date.now() + 250;
    while (Date.now() < busyUntil) {
      jobs.noteForeground();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(ran).toEqual(['old']); // waited longer than maxSeconds: runs even while busy
    await new Promise((r) => setTimeout(r, 600));
    expect(ran).toEqual(['old', 'young']);
    await jobs.close();
  });

  it('two runners claiming at once run every job exactly once (SKIP LOCKED)', async () => {
    for (let n = 0; n < 40; n++) await repo.enqueue(db, 'once', { n });
    const runs = new Map<number, number>();
    const handler: JobHandler = async (p) => {
      runs.set(p.n as number, (runs.get(p.n as number) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 2));
    };
    const [a, b] = await Promise.all([runner({ once: handler }).drain(), runner({ once: handler }).drain()]);
    expect(a + b).toBe(40);
    expect([...runs.values()].every((c) => c === 1)).toBe(true);
    expect(runs.size).toBe(40);
  });

  describe('a runner whose lease lapsed (its renewals did not land) while another runner claimed the job', () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    /** Runner `name` runs `work` until released with true (succeed) or false (throw). */
    function gatedRunner(name: string, gates: Map<string, (ok: boolean) => void>, registry = new client.Registry()) {
      const handler: JobHandler = async () => {
        const ok = await new Promise<boolean>((release) => gates.set(name, release));
        if (!ok) throw new Error(`${name} failed`);
      };
      return createJobRunner({ db, logger, registry }, { work: handler }, { concurrency: 1, pollMs: 20, leaseSeconds: 60 });
    }
    async function lapsedThenReclaimed() {
      await repo.enqueue(db, 'work', {});
      const gates = new Map<string, (ok: boolean) => void>();
      const registryA = new client.Registry();
      const a = gatedRunner('A', gates, registryA);
      const b = gatedRunner('B', gates);
      a.start();
      while (!gates.has('A')) await sleep(10);
      await db.query(`UPDATE jobs SET locked_until = now() - interval '1 second'`);
      b.start();
      while (!gates.has('B')) await sleep(10);
      const row = () => db.query<{ claims: number; attempts: number; leased: boolean; state: string }>(`SELECT claims, attempts, locked_until > now() AS leased, state FROM jobs`);
      return { gates, registryA, a, b, row };
    }

    it("its late failure leaves the new holder's lease alone, and is counted as lost", async () => {
      const { gates, registryA, a, b, row } = await lapsedThenReclaimed();
      gates.get('A')!(false);
      await a.close();
      // Before: A's failure cleared B's lease and requeued the job, so a third runner started it too.
      expect(await row()).toEqual([{ claims: 2, attempts: 2, leased: true, state: 'queued' }]);
      expect(await registryA.getSingleMetricAsString('openpds_jobs_lost_lease_total')).toContain('openpds_jobs_lost_lease_total{kind="work"} 1');
      expect(await registryA.getSingleMetricAsString('openpds_job_duration_seconds')).toContain('result="lost"');
      expect(await registryA.getSingleMetricAsString('openpds_job_duration_seconds')).not.toContain('result="retry"');
      gates.get('B')!(true);
      await b.close();
      expect(await row()).toEqual([]);
    });

    it('its late success does not delete the row another runner holds', async () => {
      const { gates, registryA, a, b, row } = await lapsedThenReclaimed();
      gates.get('A')!(true);
      await a.close();
      expect(await row()).toEqual([{ claims: 2, attempts: 2, leased: true, state: 'queued' }]);
      expect(await registryA.getSingleMetricAsString('openpds_jobs_lost_lease_total')).toContain('openpds_jobs_lost_lease_total{kind="work"} 1');
      gates.get('B')!(false); // and the holder's own outcome still applies
      await b.close();
      expect(await row()).toEqual([{ claims: 2, attempts: 2, leased: null, state: 'queued' }]); // B's retry: no lease
    });

    it('the repository says when an outcome matched no row', async () => {
      await repo.enqueue(db, 'work', {});
      const [first] = await repo.claim(db, ['work'], 1, 60);
      await db.query(`UPDATE jobs SET locked_until = now() - interval '1 second'`);
      const [second] = await repo.claim(db, ['work'], 1, 60);
      expect(await repo.extendLease(db, first!, 60)).toBe(false);
      expect(await repo.fail(db, first!, 'late', 5)).toBe('lost');
      expect(await repo.finish(db, first!)).toBe(false);
      expect(await repo.extendLease(db, second!, 60)).toBe(true);
      expect(await repo.finish(db, second!)).toBe(true);
    });
  });

  it('an attempt that failed because the store or database was unreachable does not count, and retries within minutes', async () => {
    await db.query(`INSERT INTO jobs (kind, max_attempts) VALUES ('outage', 1), ('broken', 1)`);
    const registry = new client.Registry();
    const unreachable = Object.assign(new Error('AWS SDK error wrapper for TimeoutError: connect ECONNRESET'), { name: 'TimeoutError', cause: { code: 'ECONNRESET' } });
    const jobs = runner({ outage: async () => Promise.reject(unreachable), broken: async () => Promise.reject(new Error('bad bytes')) }, registry);
    for (let round = 0; round < 12; round++) {
      expect(await jobs.drain()).toBeGreaterThan(0);
      await db.query(`UPDATE jobs SET run_at = now() WHERE state = 'queued'`);
    }
    const rows = await db.query<{ kind: string; state: string; attempts: number; claims: number }>(`SELECT kind, state, attempts, claims FROM jobs ORDER BY kind`);
    expect(rows).toEqual([{ kind: 'broken', state: 'failed', attempts: 1, claims: 1 }, { kind: 'outage', state: 'queued', attempts: 0, claims: 12 }]);
    // The backoff grows but stays capped while the outage lasts.
    await jobs.drain();
    const [{ wait }] = (await db.query<{ wait: number }>(`SELECT EXTRACT(EPOCH FROM run_at - now())::float AS wait FROM jobs WHERE kind = 'outage'`)) as [{ wait: number }];
    expect(wait).toBeGreaterThan(OUTAGE_MAX_BACKOFF_SECONDS * 0.7);
    expect(wait).toBeLessThanOrEqual(OUTAGE_MAX_BACKOFF_SECONDS * 1.25 + 1);
    expect(await registry.getSingleMetricAsString('openpds_jobs_failed_total')).toContain('openpds_jobs_failed_total{kind="broken"} 1');
    expect(await registry.getSingleMetricAsString('openpds_jobs_failed_total')).toContain('openpds_jobs_failed_total{kind="outage"} 0');
  });

  it('counts outage attempts once the job has been failing for a day, so it ends as failed', async () => {
    await db.query(`INSERT INTO jobs (kind, max_attempts) VALUES ('dead-object', 2)`);
    const registry = new client.Registry();
    const internal = Object.assign(new Error('We encountered an internal error.'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });
    const jobs = runner({ 'dead-object': async () => Promise.reject(internal) }, registry);
    const again = () => db.query(`UPDATE jobs SET run_at = now() WHERE state = 'queued'`);
    for (let round = 0; round < 3; round++) {
      await jobs.drain();
      await again();
    }
    expect(await db.query(`SELECT state, attempts, first_failed_at IS NOT NULL AS failing FROM jobs`)).toEqual([{ state: 'queued', attempts: 0, failing: true }]);
    // A day of failures later its outage attempts count: two more and it is failed, and counted.
    await db.query(`UPDATE jobs SET first_failed_at = now() - make_interval(secs => $1)`, [OUTAGE_GIVE_BACK_SECONDS + 60]);
    await jobs.drain();
    await again();
    await jobs.drain();
    expect(await db.query(`SELECT state, attempts FROM jobs`)).toEqual([{ state: 'failed', attempts: 2 }]);
    expect(await registry.getSingleMetricAsString('openpds_jobs_failed_total')).toContain('openpds_jobs_failed_total{kind="dead-object"} 1');
    // retry-failed starts the day again: an outage right after does not fail it at once.
    expect(await repo.retryFailed(db)).toBe(1);
    expect(await db.query(`SELECT first_failed_at FROM jobs`)).toEqual([{ first_failed_at: null }]);
    await jobs.drain();
    expect(await db.query(`SELECT state, attempts FROM jobs`)).toEqual([{ state: 'queued', attempts: 0 }]);
  });

  it('queues failed jobs again with fresh attempts, of one kind or all', async () => {
    await db.query(`INSERT INTO jobs (kind, state, attempts, last_error) VALUES ('a', 'failed', 8, 'x'), ('b', 'failed', 8, 'y'), ('a', 'queued', 1, '')`);
    expect((await repo.listFailed(db)).map((j) => j.kind)).toEqual(['a', 'b']);
    expect(await repo.retryFailed(db, 'a')).toBe(1);
    expect(await db.query(`SELECT kind, state, attempts FROM jobs ORDER BY job_id`)).toEqual([
      { kind: 'a', state: 'queued', attempts: 0 }, { kind: 'b', state: 'failed', attempts: 8 }, { kind: 'a', state: 'queued', attempts: 1 },
    ]);
    expect(await repo.retryFailed(db)).toBe(1);
    expect(await repo.retryFailed(db)).toBe(0);
  });

  it('close() stops waiting for a job that outlives its grace and leaves it to its lease', async () => {
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const jobs = createJobRunner({ db, logger, registry: new client.Registry() }, {
      stuck: () => {
        started();
        return new Promise<void>(() => undefined); // a read from a store that never answers
      },
    }, { ...options, pollMs: 20, closeGraceMs: 200 });
    await repo.enqueue(db, 'stuck', {});
    jobs.start();
    await running;
    const t0 = Date.now();
    await jobs.close();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await db.query(`SELECT locked_until > now() AS leased FROM jobs`)).toEqual([{ leased: true }]);
  });

  it('drain() waits for a job the running loop has just claimed (it returned before the job ran)', async () => {
    // Every claim reaches the database 200 ms late, so drain() runs while the loop's claim is in flight.
    const slow: Db = { ...db, query: (async (sql: string, params?: readonly unknown[]) => {
      if (sql.includes('SET locked_until')) await new Promise((r) => setTimeout(r, 200));
      return db.query(sql, params);
    }) as Db['query'] };
    await repo.enqueue(db, 'seal', {});
    let done = false;
    const jobs = createJobRunner({ db: slow, logger, registry: new client.Registry() }, { seal: async () => void (await new Promise((r) => setTimeout(r, 100)), (done = true)) }, options);
    jobs.start();
    try {
      await new Promise((r) => setTimeout(r, 50));
      await jobs.drain();
      expect(done).toBe(true);
    } finally {
      await jobs.close();
    }
  });
});
