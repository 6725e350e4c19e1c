/**
 * Objects that must outlive the blob row they belonged to, because download links handed out earlier name
 * them (migration 006). Recorded in the transaction that stops them being a blob's; deleted by the blob GC
 * once delete_after has passed, row first, so a crash in between leaves an orphan the GC's sweep collects.
 */
import type { Queryable } from '../../db/db';

export function createDeferredDeletesRepository() {
  return {
    /** Keeps these keys for `seconds` from now; recording one twice keeps the later time (idempotent). */
    async defer(db: Queryable, keys: readonly string[], seconds: number): Promise<void> {
      if (!keys.length) return;
      await db.query(
        `INSERT INTO deferred_object_deletes (storage_key, delete_after)
         SELECT k, now() + make_interval(secs => $2) FROM unnest($1::text[]) AS k
         ON CONFLICT (storage_key) DO UPDATE SET delete_after = GREATEST(deferred_object_deletes.delete_after, EXCLUDED.delete_after)`,
        [keys, seconds],
      );
    },
    /**
     * Removes up to `limit` records due by `now`; resolves to their keys, each marked `in_use` when a blob
     * uses it (a guard: a key is never both, but a live blob's object must never go on this table's say-so).
     */
    async takeDue(db: Queryable, now: Date, limit: number): Promise<{ storage_key: string; in_use: boolean }[]> {
      return db.query<{ storage_key: string; in_use: boolean }>(
        `WITH due AS (
           DELETE FROM deferred_object_deletes WHERE storage_key IN (
             SELECT storage_key FROM deferred_object_deletes WHERE delete_after <= $1 ORDER BY delete_after LIMIT $2)
           RETURNING storage_key
         )
         SELECT storage_key, EXISTS (SELECT 1 FROM blobs b WHERE b.storage_key = due.storage_key) AS in_use FROM due`,
        [now, limit],
      );
    },
  };
}
