import type { Queryable } from '../../db/db';
import type { Role } from '../auth/auth.types';
import { adminScope, mayUseDrive } from '../drives/drive-access.sql';

/** What a signed download link's target is now: its drive's status, and whether its file and revision still stand. */
export interface DownloadLinkState {
  drive_status: string;
  /** null: the file is gone (deleted for good, or its drive deleted with it). */
  trashed: boolean | null;
  revision_exists: boolean;
  /** The issuing user's status; null when that user is gone (or the link names none: issued before user_id). */
  issuer_status: string | null;
  /** Whether the issuing user may still use the drive, as a bearer call of theirs would be let (drive-access.sql.ts). */
  issuer_may_use: boolean;
}

const ROLES: Role[] = ['superadmin', 'admin', 'user'];

/**
 * adminScope() of the user row aliased `u`, as SQL: the link carries a user id, not a role, and the role is
 * the one the user has now (a demoted admin's links stop), so the scope is computed in the statement. Built
 * from adminScope itself, so the mapping is said in one place.
 */
const adminScopeOf = (u: string) => `(CASE ${u}.role ${ROLES.map((role) => `WHEN '${role}' THEN '${adminScope({ role })}'`).join(' ')} ELSE 'none' END)`;

export function createDownloadLinksRepository() {
  return {
    /**
     * The one read each request on a signed link costs: four primary-key lookups in one statement. The
     * drive first (LEFT JOINs after it), so a disabled drive answers as such even for a file deleted since.
     * `issuerId` null (a link issued before links carried one) joins no user.
     */
    async target(db: Queryable, q: { driveId: string; fileId: string; revisionId: string; issuerId: string | null }): Promise<DownloadLinkState | undefined> {
      const [row] = await db.query<DownloadLinkState>(
        `SELECT d.status AS drive_status, CASE WHEN f.file_id IS NULL THEN NULL ELSE f.trashed_at IS NOT NULL END AS trashed,
                r.revision_id IS NOT NULL AS revision_exists,
                iu.status AS issuer_status,
                COALESCE(iu.user_id IS NOT NULL AND ${mayUseDrive('d', 'iu.user_id', adminScopeOf('iu'))}, false) AS issuer_may_use
         FROM drives d
         LEFT JOIN files f ON f.file_id = $2 AND f.drive_id = d.drive_id
         LEFT JOIN file_revisions r ON r.revision_id = $3 AND r.file_id = f.file_id
         LEFT JOIN users iu ON iu.user_id = $4 AND iu.domain_id = d.domain_id
         WHERE d.drive_id = $1`,
        [q.driveId, q.fileId, q.revisionId, q.issuerId],
      );
      return row;
    },
  };
}
