import type { Queryable } from '../../db/db';

export interface RevisionRow {
  revision_id: string;
  file_id: string;
  drive_id: string;
  blob_sha256: string;
  size: number;
  content_hash: string;
  created_by: string | null;
  created_at: Date;
  storage_key: string;
}

const SELECT = `SELECT r.*, b.storage_key FROM file_revisions r JOIN blobs b ON b.sha256 = r.blob_sha256`;

export function createRevisionsRepository() {
  return {
    async get(db: Queryable, fileId: string, revisionId: string): Promise<RevisionRow | undefined> {
      const [row] = await db.query<RevisionRow>(`${SELECT} WHERE r.file_id = $1 AND r.revision_id = $2`, [fileId, revisionId]);
      return row;
    },
    /** Newest first, keyset on (created_at, revision_id). */
    async list(db: Queryable, fileId: string, after: [string, string] | null, limit: number): Promise<RevisionRow[]> {
      return db.query<RevisionRow>(
        `${SELECT} WHERE r.file_id = $1 ${after ? 'AND (r.created_at, r.revision_id) < ($3::timestamptz, $4)' : ''}
         ORDER BY r.created_at DESC, r.revision_id DESC LIMIT $2`,
        after ? [fileId, limit, after[0], after[1]] : [fileId, limit],
      );
    },
    async delete(db: Queryable, fileId: string, revisionId: string): Promise<boolean> {
      return (await db.query(`DELETE FROM file_revisions WHERE file_id = $1 AND revision_id = $2 RETURNING revision_id`, [fileId, revisionId])).length > 0;
    },
  };
}
