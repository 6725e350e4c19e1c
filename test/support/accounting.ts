/**
 * The quota and reference accounting (drives.used_size, drives.reserved_size, blobs.ref_count and
 * unreferenced_since, kept by the triggers of migrations 002, 009, 010 and 012) checked against a recount.
 */
import type { Queryable } from '../../api-server/src/db/db';

/** Rows whose stored figure differs from a recount of what is there (none when the accounting is right). */
export async function accountingDrift(db: Queryable): Promise<unknown[]> {
  return db.query(
    `SELECT 'drive' AS kind, d.drive_id AS id, d.used_size AS stored_used, coalesce(r.used, 0) AS used, d.reserved_size AS stored_reserved, coalesce(s.reserved, 0) AS reserved
       FROM drives d
       LEFT JOIN (SELECT drive_id, sum(size) AS used FROM file_revisions GROUP BY drive_id) r ON r.drive_id = d.drive_id
       LEFT JOIN (SELECT drive_id, sum(size) AS reserved FROM upload_sessions WHERE status <> 'completed' GROUP BY drive_id) s ON s.drive_id = d.drive_id
      WHERE d.used_size <> coalesce(r.used, 0) OR d.reserved_size <> coalesce(s.reserved, 0)
     UNION ALL
     SELECT 'blob', b.sha256, b.ref_count, coalesce(r.refs, 0), NULL, NULL
       FROM blobs b LEFT JOIN (SELECT blob_sha256, count(*) AS refs FROM file_revisions GROUP BY blob_sha256) r ON r.blob_sha256 = b.sha256
      WHERE b.ref_count <> coalesce(r.refs, 0) OR (b.ref_count = 0) <> (b.unreferenced_since IS NOT NULL)`,
  );
}

/** `SELECT count(*)::int AS n …` as a number. */
export const count = async (db: Queryable, sql: string, params: unknown[] = []) => Number((await db.query<{ n: number }>(sql, params))[0]!.n);

/**
 * Resolves once some statement on PostgreSQL waits for a lock (`what` names it in the error after 10 s): a
 * race test's call has reached the row another transaction holds. PGlite runs one transaction at a time,
 * so there the call simply queues behind the holder: a short pause stands in.
 */
export async function untilALockWaits(db: Queryable, dbKind: 'pg' | 'pglite', what: string): Promise<void> {
  if (dbKind === 'pglite') return void (await new Promise((r) => setTimeout(r, 100)));
  for (const until = Date.now() + 10_000; (await count(db, `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted`)) === 0; ) {
    if (Date.now() > until) throw new Error(`${what} never waited for a lock`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
