/**
 * The job backlog gauges: openpds_jobs_backlog counts due jobs waiting or running (the autoscaler's
 * figure); openpds_jobs_oldest_age_seconds only those waiting to run. A running 15-minute hash once
 * showed as a job waiting 15 minutes and fired OpenPDSJobBacklogOld with nothing queued (red team).
 */
import { createTestDb, DB_KINDS } from '../../../../test/support/test-db';
import type { Db } from '../../db/db';
import { migrate } from '../../db/migrate';
import { createJobsRepository } from './jobs.repository';

const repo = createJobsRepository();

describe.each(DB_KINDS)('job backlog on %s', (kind) => {
  let db: Db;
  beforeAll(async () => {
    db = await createTestDb(kind);
    await migrate(db);
  });
  afterAll(() => db?.close());
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
