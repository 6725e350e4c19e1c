import type { Queryable } from '../../db/db';

export function createGcRepository() {
  return {
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
