import type { Queryable } from '../../db/db';

export interface JobRow {
  job_id: number;
  kind: string;
  payload: Record<string, unknown>;
  state: 'queued' | 'failed';
  run_at: Date;
  locked_until: Date | null;
  /** Attempts that counted against max_attempts (an outage's are given back: see fail). */
  attempts: number;
  max_attempts: number;
  /** Bumped by every claim: the token that fences this claim's outcome (migration 017). */
  claims: number;
  last_error: string;
  created_at: Date;
  /** When its first failed attempt was (migration 020); null until then and after retryFailed. */
  first_failed_at: Date | null;
}

/**
 * What identifies one claim of a job: its id and the claim count it was claimed at. Without `claims` the
 * outcome is not fenced: only for a job row run by hand (tests), never by the runner.
 */
export type JobClaim = Pick<JobRow, 'job_id'> & { claims?: number };

/** The claim's outcome was not applied: the job was claimed again after this claim's lease lapsed, or is gone. */
export const LOST_LEASE = 'lost' as const;

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
        `UPDATE jobs SET locked_until = now() + make_interval(secs => $3), attempts = attempts + 1, claims = claims + 1
         WHERE job_id IN (
           SELECT job_id FROM jobs
           WHERE state = 'queued' AND run_at <= now() - make_interval(secs => $4) AND (locked_until IS NULL OR locked_until < now()) AND kind = ANY($1::text[])
           ORDER BY run_at, job_id LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [kinds, limit, leaseSeconds, dueSecondsAgo],
      );
    },
    /** False when this claim no longer holds the job (claimed again, or gone). */
    async extendLease(db: Queryable, job: JobClaim, leaseSeconds: number): Promise<boolean> {
      const rows = await db.query(`UPDATE jobs SET locked_until = now() + make_interval(secs => $3) WHERE job_id = $1 AND claims = coalesce($2::int, claims) RETURNING job_id`, [job.job_id, job.claims ?? null, leaseSeconds]);
      return rows.length > 0;
    },
    /** Deletes the job if this claim still holds it (handlers call it in the transaction that commits their work); false if not. */
    async finish(db: Queryable, job: JobClaim): Promise<boolean> {
      const rows = await db.query(`DELETE FROM jobs WHERE job_id = $1 AND claims = coalesce($2::int, claims) RETURNING job_id`, [job.job_id, job.claims ?? null]);
      return rows.length > 0;
    },
    /**
     * Schedules a retry after `retryInSeconds`, or keeps the job as failed when its attempts are used up.
     * `counts: false` (the store or database was unreachable) gives the attempt back: an outage longer than
     * the whole backoff must not fail jobs for good. With `giveBackForSeconds` only while the job's first
     * failure is younger than that: then outage attempts count too, so a job that only ever fails with what
     * looks like an outage (its own object answering 500) ends as failed. 'lost' when this claim no longer
     * holds the job. Whether it counted is decided in the UPDATE, against the row's first_failed_at.
     */
    async fail(
      db: Queryable,
      job: JobRow,
      error: string,
      retryInSeconds: number,
      options: { counts?: boolean; giveBackForSeconds?: number } = {},
    ): Promise<'retry' | 'failed' | typeof LOST_LEASE> {
      const counts = `($5::boolean OR ($6::float8 IS NOT NULL AND coalesce(first_failed_at, now()) <= now() - make_interval(secs => $6::float8)))`;
      const final = `(${counts} AND attempts >= max_attempts)`;
      const rows = await db.query<{ state: string }>(
        `UPDATE jobs SET locked_until = NULL, last_error = $3, first_failed_at = coalesce(first_failed_at, now()),
           state = CASE WHEN ${final} THEN 'failed' ELSE 'queued' END,
           run_at = now() + make_interval(secs => CASE WHEN ${final} THEN 0 ELSE $4::float8 END),
           attempts = attempts - CASE WHEN ${counts} THEN 0 ELSE 1 END
         WHERE job_id = $1 AND claims = coalesce($2::int, claims) RETURNING state`,
        [job.job_id, job.claims ?? null, error.slice(0, 2000), retryInSeconds, options.counts ?? true, options.giveBackForSeconds ?? null],
      );
      if (!rows.length) return LOST_LEASE;
      return rows[0]!.state === 'failed' ? 'failed' : 'retry';
    },
    /** Queues failed jobs (of one kind, or all) to run again now with a fresh set of attempts; resolves to how many. */
    async retryFailed(db: Queryable, kind?: string): Promise<number> {
      const rows = await db.query(
        `UPDATE jobs SET state = 'queued', attempts = 0, run_at = now(), locked_until = NULL, first_failed_at = NULL
         WHERE state = 'failed' AND ($1::text IS NULL OR kind = $1) RETURNING job_id`,
        [kind ?? null],
      );
      return rows.length;
    },
    /** Failed jobs, oldest first, for O&M to read. */
    async listFailed(db: Queryable, kind?: string, limit = 100): Promise<Array<Pick<JobRow, 'job_id' | 'kind' | 'payload' | 'attempts' | 'last_error' | 'created_at'>>> {
      return db.query(
        `SELECT job_id, kind, payload, attempts, last_error, created_at FROM jobs
         WHERE state = 'failed' AND ($1::text IS NULL OR kind = $1) ORDER BY job_id LIMIT $2`,
        [kind ?? null, limit],
      );
    },
    /**
     * Due jobs (queued, waiting or running: the worker autoscaler follows it) and how long the oldest one
     * waiting to run has been due. A job running under a live lease is not waiting: counted there, the
     * 15-minute hash of a big upload fired OpenPDSJobBacklogOld with nothing queued (red team). One whose
     * lease ran out (its runner died) waits again, since its run_at.
     */
    async backlog(db: Queryable): Promise<{ backlog: number; oldest_seconds: number }> {
      const [row] = await db.query<{ backlog: number | string; oldest_seconds: number | string | null }>(
        `SELECT count(*) AS backlog,
           EXTRACT(EPOCH FROM now() - min(run_at) FILTER (WHERE locked_until IS NULL OR locked_until < now())) AS oldest_seconds
         FROM jobs WHERE state = 'queued' AND run_at <= now()`,
      );
      return { backlog: Number(row?.backlog ?? 0), oldest_seconds: Math.max(0, Number(row?.oldest_seconds ?? 0)) };
    },
  };
}
export type JobsRepository = ReturnType<typeof createJobsRepository>;
