/**
 * Objects that must outlive the blob row they belonged to, because download links handed out earlier name
 * them (migration 006). Recorded in the transaction that stops them being a blob's; deleted by the blob GC
 * once delete_after has passed, row first, so a crash in between leaves an orphan the GC's sweep collects.
 */
import type { Queryable } from '../../db/db';

/**
 * How long an object that is being written is kept from the GC: a sealed copy the hash job, a link's
 * sealing or file/complete makes before the row that names it commits. It is recorded here (committed)
 * before the copy starts, so neither the orphan sweep nor any OPENPDS_GC_GRACE_SECONDS (0 included) can
 * take it while the copy or a hash of it runs; takeDue then leaves it alone if a blob uses it, and
 * collects it if the writer crashed. Far above the longest copy and hash (5 GiB objects).
 */
export const IN_FLIGHT_OBJECT_SECONDS = 86_400;

export function createDeferredDeletesRepository() {
  /** Keeps these keys for `seconds` from now; recording one twice keeps the later time (idempotent). */
  async function defer(db: Queryable, keys: readonly string[], seconds: number): Promise<void> {
    if (!keys.length) return;
    await db.query(
      `INSERT INTO deferred_object_deletes (storage_key, delete_after)
       SELECT k, now() + make_interval(secs => $2) FROM unnest($1::text[]) AS k
       ON CONFLICT (storage_key) DO UPDATE SET delete_after = GREATEST(deferred_object_deletes.delete_after, EXCLUDED.delete_after)`,
      [keys, seconds],
    );
  }
  return {
    defer,
    /** Keeps a key that is about to be written from the GC (see IN_FLIGHT_OBJECT_SECONDS). */
    async reserveInFlight(db: Queryable, key: string): Promise<void> {
      await defer(db, [key], IN_FLIGHT_OBJECT_SECONDS);
    },
    /**
     * Ends a reservation once a committed row protects the key (a blob's), or the writer dropped the object:
     * in the linking transaction where there is one. Keys kept for download links are never reserved.
     */
    async releaseInFlight(db: Queryable, keys: readonly string[]): Promise<void> {
      if (keys.length) await db.query(`DELETE FROM deferred_object_deletes WHERE storage_key = ANY($1::text[])`, [keys]);
    },
    /**
     * True when an in-flight reservation of a key starting with `prefix` was made or renewed (reserveInFlight
     * again) within the last `freshSeconds`: a writer that still says it is writing there (blob-sealing.ts).
     * Keys kept for download links (kept longer than a reservation lasts) never count.
     */
    async hasFreshReservation(db: Queryable, prefix: string, freshSeconds: number): Promise<boolean> {
      // statement_timestamp(), not now(): now() is when the caller's transaction began, which can be before
      // the reservation it must see was made (a sealing that began, then waited on the advisory lock while
      // another replica's claim committed). That reservation's expiry then lay beyond now() + its lifetime,
      // looked like a download link's keep, and the second replica copied too (a flaky test under load).
      const rows = await db.query(
        `SELECT 1 FROM deferred_object_deletes
         WHERE starts_with(storage_key, $1)
           AND delete_after > statement_timestamp() + make_interval(secs => $2) AND delete_after <= statement_timestamp() + make_interval(secs => $3)
         LIMIT 1`,
        [prefix, IN_FLIGHT_OBJECT_SECONDS - freshSeconds, IN_FLIGHT_OBJECT_SECONDS],
      );
      return rows.length > 0;
    },
    /**
     * Removes up to `limit` records due by `now`; resolves to their keys, each marked `in_use` when a blob
     * uses it: an in-flight reservation whose copy a blob now uses, or a guard (a live blob's object must never
     * go on this table's say-so).
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
