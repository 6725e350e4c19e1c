import type { Queryable } from '../../db/db';

/** What a signed download link's target is now: its drive's status, and whether its file and revision still stand. */
export interface DownloadLinkState {
  drive_status: string;
  /** null: the file is gone (deleted for good, or its drive deleted with it). */
  trashed: boolean | null;
  revision_exists: boolean;
}

export function createDownloadLinksRepository() {
  return {
    /**
     * The one read each request on a signed link costs: three primary-key lookups in one statement. The
     * drive first (LEFT JOINs after it), so a disabled drive answers as such even for a file deleted since.
     */
    async target(db: Queryable, q: { driveId: string; fileId: string; revisionId: string }): Promise<DownloadLinkState | undefined> {
      const [row] = await db.query<DownloadLinkState>(
        `SELECT d.status AS drive_status, CASE WHEN f.file_id IS NULL THEN NULL ELSE f.trashed_at IS NOT NULL END AS trashed,
                r.revision_id IS NOT NULL AS revision_exists
         FROM drives d
         LEFT JOIN files f ON f.file_id = $2 AND f.drive_id = d.drive_id
         LEFT JOIN file_revisions r ON r.revision_id = $3 AND r.file_id = f.file_id
         WHERE d.drive_id = $1`,
        [q.driveId, q.fileId, q.revisionId],
      );
      return row;
    },
  };
}
