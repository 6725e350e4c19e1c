import type { Queryable } from '../../db/db';
import { setClause } from '../../db/set-clause';
import type { Role } from '../auth/auth.types';

export interface DriveRow {
  drive_id: string;
  domain_id: string;
  drive_name: string;
  description: string;
  owner_type: 'user' | 'group';
  owner_id: string;
  drive_type: string;
  status: 'enabled' | 'disabled';
  total_size: number | null;
  used_size: number;
  /** Declared sizes of the drive's uploads in progress (migration 009): counted against total_size too. */
  reserved_size?: number;
  is_default: boolean;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export type DrivePatch = Partial<Pick<DriveRow, 'drive_name' | 'description' | 'status' | 'total_size'>>;

/** Deletes the drives matching `where`, their revisions and sessions in the same statement (see delete). */
async function deleteDrivesWhere(db: Queryable, where: string, params: unknown[]): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    `WITH gone AS (DELETE FROM drives WHERE ${where} RETURNING drive_id),
     revisions AS (DELETE FROM file_revisions WHERE drive_id IN (SELECT drive_id FROM gone)),
     sessions AS (DELETE FROM upload_sessions WHERE drive_id IN (SELECT drive_id FROM gone))
     SELECT count(*)::int AS n FROM gone`,
    params,
  );
  return row!.n;
}

export function createDrivesRepository() {
  return {
    async insert(db: Queryable, d: Omit<DriveRow, 'used_size' | 'created_at' | 'updated_at'>): Promise<DriveRow> {
      const [row] = await db.query<DriveRow>(
        `INSERT INTO drives (drive_id, domain_id, drive_name, description, owner_type, owner_id, drive_type, status, total_size, is_default, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
        [d.drive_id, d.domain_id, d.drive_name, d.description, d.owner_type, d.owner_id, d.drive_type, d.status, d.total_size, d.is_default, d.created_by],
      );
      return row!;
    },
    async get(db: Queryable, domainId: string, driveId: string, options: { forUpdate?: boolean } = {}): Promise<DriveRow | undefined> {
      const [row] = await db.query<DriveRow>(
        `SELECT * FROM drives WHERE domain_id = $1 AND drive_id = $2${options.forUpdate ? ' FOR UPDATE' : ''}`,
        [domainId, driveId],
      );
      return row;
    },
    /**
     * The role of a user-owned drive's owner, null when the drive is a group's or its owner is gone (see
     * DrivesService: what an admin may do with a drive depends on whose it is).
     */
    async ownerRole(db: Queryable, domainId: string, drive: Pick<DriveRow, 'owner_type' | 'owner_id'>): Promise<Role | null> {
      if (drive.owner_type !== 'user') return null;
      const [row] = await db.query<{ role: Role }>(`SELECT role FROM users WHERE domain_id = $1 AND user_id = $2`, [domainId, drive.owner_id]);
      return row?.role ?? null;
    },
    /**
     * The user's role, read FOR SHARE: a drive created for them in the same transaction cannot miss a
     * concurrent delete of the user (it waits, and then deletes the user's drives with this one). `forUpdate`
     * (FOR NO KEY UPDATE) for a transaction that will write the row (setUserDefault): two holding FOR SHARE
     * and then both writing deadlocked; this way they take turns.
     */
    async lockOwner(db: Queryable, domainId: string, userId: string, options: { forUpdate?: boolean } = {}): Promise<Role | undefined> {
      const [row] = await db.query<{ role: Role }>(`SELECT role FROM users WHERE domain_id = $1 AND user_id = $2 ${options.forUpdate ? 'FOR NO KEY UPDATE' : 'FOR SHARE'}`, [domainId, userId]);
      return row?.role;
    },
    /**
     * Keeps users.default_drive_id (what user/get, the user lists and login answer) on the drive that is the
     * user's default, or null when it is deleted: `from` is the drive it may name now (null: whatever it
     * names). drive/get_default_drive reads the drives table, so without this the two disagreed: after the
     * default drive was deleted, login still answered its id, also once a new default drive was made.
     */
    async setUserDefault(db: Queryable, domainId: string, userId: string, driveId: string | null, from: string | null = null): Promise<void> {
      await db.query(`UPDATE users SET default_drive_id = $3 WHERE domain_id = $1 AND user_id = $2 AND ($4::text IS NULL OR default_drive_id = $4)`, [domainId, userId, driveId, from]);
    },
    /** The user's default drive (a group's default drive with the same owner id is not theirs). */
    async getDefault(db: Queryable, domainId: string, userId: string): Promise<DriveRow | undefined> {
      const [row] = await db.query<DriveRow>(`SELECT * FROM drives WHERE domain_id = $1 AND owner_type = 'user' AND owner_id = $2 AND is_default`, [domainId, userId]);
      return row;
    },
    /**
     * Keyset page by drive_id; ownerId narrows to one owner's drives, ownerType to one kind of owner (a
     * user's own drives are the 'user' ones: a group may be named like a user id, see getVisible).
     */
    async list(db: Queryable, domainId: string, ownerId: string | null, after: string, limit: number, ownerType: DriveRow['owner_type'] | null = null): Promise<DriveRow[]> {
      return db.query<DriveRow>(
        `SELECT * FROM drives WHERE domain_id = $1 AND ($2::text IS NULL OR owner_id = $2) AND ($5::text IS NULL OR owner_type = $5) AND drive_id > $3
         ORDER BY drive_id LIMIT $4`,
        [domainId, ownerId, after, limit, ownerType],
      );
    },
    /** Whether a user has this exact id (a group owner must not be one: see lockOwnerNames). */
    async isUserId(db: Queryable, domainId: string, id: string): Promise<boolean> {
      return (await db.query(`SELECT 1 FROM users WHERE domain_id = $1 AND user_id = $2`, [domainId, id])).length > 0;
    },
    /**
     * Takes, until the transaction ends, the locks on these owner names: user ids, user names and group
     * owners share one namespace (a user id must be no other user's name nor a group's id, and back), and
     * each side checks the other under the lock, so two creates that would clash take turns and the later
     * one sees the earlier one's row (its check is a new statement: READ COMMITTED). Keyed by the name in
     * ASCII lower case, as user names compare (users_name_key). Taken in hash order: no deadlock between two
     * creates that each lock two names.
     */
    async lockOwnerNames(db: Queryable, domainId: string, names: readonly string[]): Promise<void> {
      const keys = names.map((n) => `owner-names:${domainId}:${n.replace(/[A-Z]/g, (c) => c.toLowerCase())}`);
      const hashes = await db.query<{ h: number }>(`SELECT DISTINCT hashtext(k) AS h FROM unnest($1::text[]) AS k ORDER BY h`, [keys]);
      for (const { h } of hashes) await db.query(`SELECT pg_advisory_xact_lock($1::int)`, [h]);
    },
    async update(db: Queryable, domainId: string, driveId: string, patch: DrivePatch, clearTotalSize = false): Promise<DriveRow | undefined> {
      const params: unknown[] = [domainId, driveId];
      const sets = setClause(patch, ['drive_name', 'description', 'status', 'total_size'], params);
      const [row] = await db.query<DriveRow>(
        `UPDATE drives SET ${clearTotalSize ? 'total_size = NULL, ' : ''}${sets} WHERE domain_id = $1 AND drive_id = $2 RETURNING *`,
        params,
      );
      return row;
    },
    /**
     * Deletes the drive with everything in it. Its revisions and sessions go in the same statement, not by
     * the cascade from files, which deletes them one file at a time and fires the accounting triggers once
     * per file (migration 010): once per statement here. Still long for a big drive (the cascade deletes
     * the files and checks each file's references), so not cut by statement_timeout (pg.db.ts), or a big
     * drive could never be deleted (503 on every retry). `db` must be a transaction: SET LOCAL lasts until
     * its end.
     */
    async delete(db: Queryable, domainId: string, driveId: string): Promise<boolean> {
      await db.query(`SET LOCAL statement_timeout = 0`);
      return (await deleteDrivesWhere(db, `domain_id = $1 AND drive_id = $2`, [domainId, driveId])) > 0;
    },
    /** As delete(), for every drive a user owns; `db` must be a transaction. */
    async deleteOwnedByUser(db: Queryable, domainId: string, userId: string): Promise<void> {
      await db.query(`SET LOCAL statement_timeout = 0`);
      await deleteDrivesWhere(db, `domain_id = $1 AND owner_type = 'user' AND owner_id = $2`, [domainId, userId]);
    },
  };
}
export type DrivesRepository = ReturnType<typeof createDrivesRepository>;
