import { mayUseDrive, type AdminScope } from '../drives/drive-access.sql';
import type { Queryable } from '../../db/db';
import type { FileRow } from '../files/files.repository';

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
  /** The blob's bytes still sit at a one-part upload's key (not hashed yet): a link must not name it (blob-sealing.ts). */
  client_writable: boolean;
}

const SELECT = `SELECT r.*, b.storage_key, b.client_writable FROM file_revisions r JOIN blobs b ON b.sha256 = r.blob_sha256`;

export function createRevisionsRepository() {
  return {
    /**
     * A file the caller may read (its drive's owner, or an admin; the drive enabled) with the revision to read (the given one
     * or the current one) and its storage key, in one query: what every download starts with. Undefined
     * whenever anything does not hold; the service then finds out which error to give.
     */
    async readable(db: Queryable, q: { domainId: string; userId: string; scope: AdminScope; driveId: string; fileId: string; revisionId: string | null }): Promise<{ file: FileRow; revision: RevisionRow } | undefined> {
      const [row] = await db.query<Record<string, unknown>>(
        `SELECT f.*, r.revision_id AS rev_revision_id, r.blob_sha256 AS rev_blob_sha256, r.size AS rev_size, r.content_hash AS rev_content_hash,
                r.created_by AS rev_created_by, r.created_at AS rev_created_at, b.storage_key AS rev_storage_key, b.client_writable AS rev_client_writable
         FROM files f
         JOIN drives d ON d.drive_id = f.drive_id
         JOIN file_revisions r ON r.file_id = f.file_id AND r.revision_id = COALESCE($6, f.revision_id)
         JOIN blobs b ON b.sha256 = r.blob_sha256
         WHERE f.drive_id = $1 AND f.file_id = $2 AND f.trashed_at IS NULL AND f.type = 'file' AND f.status = 'available'
           AND d.domain_id = $3 AND ${mayUseDrive('d', '$4', '$5')} AND d.status = 'enabled'`,
        [q.driveId, q.fileId, q.domainId, q.userId, q.scope, q.revisionId],
      );
      if (!row) return undefined;
      const { rev_revision_id, rev_blob_sha256, rev_size, rev_content_hash, rev_created_by, rev_created_at, rev_storage_key, rev_client_writable, ...file } = row;
      const revision = { revision_id: rev_revision_id, file_id: file.file_id, drive_id: file.drive_id, blob_sha256: rev_blob_sha256, size: rev_size, content_hash: rev_content_hash, created_by: rev_created_by, created_at: rev_created_at, storage_key: rev_storage_key, client_writable: rev_client_writable };
      return { file: file as unknown as FileRow, revision: revision as RevisionRow };
    },
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
