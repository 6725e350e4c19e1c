import type { Db, Queryable } from '../../db/db';
import { STALE_COMPLETING_SECONDS, type UploadSessionRow } from '../uploads/uploads.repository';

/**
 * Which upload sessions are abandoned, as SQL over upload_sessions ($1: the grace cut-off, $2: seconds).
 * An open session untouched since the cut-off. A completing one only once it is also stale (a crashed
 * completion, the age at which file/complete may claim it again): a live completion touches its session
 * every COMPLETING_HEARTBEAT_SECONDS, so a grace shorter than that must not take it. now() is the
 * database's clock, the one claimForCompletion and the heartbeat use.
 */
const ABANDONED = `updated_at < $1 AND (status = 'open' OR (status = 'completing' AND updated_at < now() - make_interval(secs => $2)))`;

export function createGcRepository() {
  return {
    /** Candidates only: each must then be taken with claimAbandonedSession, which checks again. */
    async abandonedSessions(db: Queryable, before: Date, limit: number): Promise<UploadSessionRow[]> {
      return db.query<UploadSessionRow>(`SELECT * FROM upload_sessions WHERE ${ABANDONED} ORDER BY updated_at LIMIT $3`, [before, STALE_COMPLETING_SECONDS, limit]);
    },
    /**
     * Takes an abandoned session for deletion: deletes its row if it is still abandoned, and the invisible
     * file row it leaves without any session, in one transaction. Resolves to the deleted session, or
     * undefined when it was completed, claimed for completion or touched since it was listed: its bytes are
     * then someone's and must stay. The row lock makes this and file/complete's claim (an UPDATE of the same
     * row) take turns: whichever comes second re-reads the row and finds it gone, or no longer abandoned.
     * File before session, the order file/complete's commit (linkUpload's target CTE) and every delete of a
     * file lock them in: taken session first, a GC run racing a completion of the same upload deadlocked, and
     * the completion answered 503 (test/api/gc-lock-order.int.test.ts). FOR UPDATE at once, the lock the
     * delete of the file needs: a weaker lock upgraded later would wait for an insert's key share on the file,
     * whose transaction may wait in turn for the drive row the session's delete has locked (migration 009).
     */
    async claimAbandonedSession(db: Db, uploadId: string, before: Date): Promise<UploadSessionRow | undefined> {
      return db.transaction(async (tx) => {
        const [listed] = await tx.query<Pick<UploadSessionRow, 'drive_id' | 'file_id'>>(`SELECT drive_id, file_id FROM upload_sessions WHERE upload_id = $1`, [uploadId]);
        if (!listed) return undefined;
        await tx.query(`SELECT 1 FROM files WHERE drive_id = $1 AND file_id = $2 FOR UPDATE`, [listed.drive_id, listed.file_id]);
        const [session] = await tx.query<UploadSessionRow>(`DELETE FROM upload_sessions WHERE upload_id = $3 AND ${ABANDONED} RETURNING *`, [before, STALE_COMPLETING_SECONDS, uploadId]);
        if (!session) return undefined;
        // A statement of its own: its snapshot sees any session committed for the file meanwhile, and
        // deleting the file would cascade to it.
        await tx.query(
          `DELETE FROM files f WHERE f.drive_id = $1 AND f.file_id = $2 AND f.status = 'uploading'
             AND NOT EXISTS (SELECT 1 FROM upload_sessions s WHERE s.file_id = f.file_id)`,
          [session.drive_id, session.file_id],
        );
        return session;
      });
    },
    async unreferencedBlobs(db: Queryable, before: Date, limit: number): Promise<{ sha256: string }[]> {
      return db.query(`SELECT sha256 FROM blobs WHERE ref_count = 0 AND unreferenced_since < $1 LIMIT $2`, [before, limit]);
    },
    /**
     * Deletes the row only if still unreferenced. A concurrent rapid upload that references the blob holds
     * its row lock; this DELETE waits for it, re-checks ref_count and then leaves the row alone.
     */
    async deleteBlobIfUnreferenced(db: Queryable, sha256: string): Promise<string | undefined> {
      const [row] = await db.query<{ storage_key: string }>(`DELETE FROM blobs WHERE sha256 = $1 AND ref_count = 0 RETURNING storage_key`, [sha256]);
      return row?.storage_key;
    },
    /**
     * Of these storage keys, the ones a blob or an unfinished upload session still points at, or that are
     * kept for download links (deferred_object_deletes).
     */
    async referencedKeys(db: Queryable, keys: readonly string[]): Promise<Set<string>> {
      const rows = await db.query<{ key: string }>(
        `SELECT storage_key AS key FROM blobs WHERE storage_key = ANY($1::text[])
         UNION SELECT storage_key FROM upload_sessions WHERE status <> 'completed' AND storage_key = ANY($1::text[])
         UNION SELECT storage_key FROM deferred_object_deletes WHERE storage_key = ANY($1::text[])`,
        [keys],
      );
      return new Set(rows.map((r) => r.key));
    },
    async knownStoreUploads(db: Queryable, storeUploadIds: readonly string[]): Promise<Set<string>> {
      const rows = await db.query<{ id: string }>(
        `SELECT store_upload_id AS id FROM upload_sessions WHERE status <> 'completed' AND store_upload_id = ANY($1::text[])`,
        [storeUploadIds],
      );
      return new Set(rows.map((r) => r.id));
    },
  };
}
