import type { Queryable } from '../../db/db';

export interface JobRow {
  job_id: number;
  kind: string;
  payload: Record<string, unknown>;
  state: 'queued' | 'failed';
  run_at: Date;
  locked_until: Date | null;
  attempts: number;
  max_attempts: number;
  last_error: string;
  created_at: Date;
}

export function createJobsRepository() {
  return {
    /** Enqueues in the caller's transaction: the job exists exactly when the work it stands for committed. */
    async enqueue(db: Queryable, kind: string, payload: Record<string, unknown>): Promise<void> {
      await db.query(`INSERT INTO jobs (kind, payload) VALUES ($1, $2::jsonb)`, [kind, JSON.stringify(payload)]);
    },
    /**
     * Leases up to `limit` due jobs of these kinds. SKIP LOCKED lets any number of workers claim at once
     * without waiting on each other; a lease that runs out (a crashed worker) makes the job due again.
     */
    async claim(db: Queryable, kinds: readonly string[], limit: number, leaseSeconds: number, dueSecondsAgo = 0): Promise<JobRow[]> {
      return db.query<JobRow>(
        `UPDATE jobs SET locked_until = now() + make_interval(secs => $3), attempts = attempts + 1
         WHERE job_id IN (
           SELECT job_id FROM jobs
           WHERE state = 'queued' AND run_at <= now() - make_interval(secs => $4) AND (locked_until IS NULL OR locked_until < now()) AND kind = ANY($1::text[])
           ORDER BY run_at, job_id LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [kinds, limit, leaseSeconds, dueSecondsAgo],
      );
    },
    async extendLease(db: Queryable, jobId: number, leaseSeconds: number): Promise<void> {
      await db.query(`UPDATE jobs SET locked_until = now() + make_interval(secs => $2) WHERE job_id = $1`, [jobId, leaseSeconds]);
    },
    async finish(db: Queryable, jobId: number): Promise<void> {
      await db.query(`DELETE FROM jobs WHERE job_id = $1`, [jobId]);
    },
    /** Schedules a retry after `retryInSeconds`, or keeps the job as failed when its attempts are used up. */
    async fail(db: Queryable, job: JobRow, error: string, retryInSeconds: number): Promise<'retry' | 'failed'> {
      const final = job.attempts >= job.max_attempts;
      await db.query(
        `UPDATE jobs SET locked_until = NULL, last_error = $2, state = $3, run_at = now() + make_interval(secs => $4) WHERE job_id = $1`,
        [job.job_id, error.slice(0, 2000), final ? 'failed' : 'queued', final ? 0 : retryInSeconds],
      );
      return final ? 'failed' : 'retry';
    },
    /** Due jobs (queued, waiting or running) and how long the oldest has been due. */
    async backlog(db: Queryable): Promise<{ backlog: number; oldest_seconds: number }> {
      const [row] = await db.query<{ backlog: number | string; oldest_seconds: number | string | null }>(
        `SELECT count(*) AS backlog, EXTRACT(EPOCH FROM now() - min(run_at)) AS oldest_seconds
         FROM jobs WHERE state = 'queued' AND run_at <= now()`,
      );
      return { backlog: Number(row?.backlog ?? 0), oldest_seconds: Math.max(0, Number(row?.oldest_seconds ?? 0)) };
    },
  };
}
export type JobsRepository = ReturnType<typeof createJobsRepository>;
