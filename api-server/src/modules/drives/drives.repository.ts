import type { Queryable } from '../../db/db';
import { setClause } from '../../db/set-clause';

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
    async getDefault(db: Queryable, domainId: string, ownerId: string): Promise<DriveRow | undefined> {
      const [row] = await db.query<DriveRow>(`SELECT * FROM drives WHERE domain_id = $1 AND owner_id = $2 AND is_default`, [domainId, ownerId]);
      return row;
    },
    /** Keyset page by drive_id; ownerId narrows to one owner's drives. */
    async list(db: Queryable, domainId: string, ownerId: string | null, after: string, limit: number): Promise<DriveRow[]> {
      return db.query<DriveRow>(
        `SELECT * FROM drives WHERE domain_id = $1 AND ($2::text IS NULL OR owner_id = $2) AND drive_id > $3
         ORDER BY drive_id LIMIT $4`,
        [domainId, ownerId, after, limit],
      );
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
     * Deleting a drive deletes its files, revisions and sessions by cascade, their triggers updating the
     * drive row once per row: minutes for a big drive. Not cut by statement_timeout (pg.db.ts), or a drive
     * past ~15k files could never be deleted (503 on every retry). `db` must be a transaction: SET LOCAL
     * lasts until its end.
     */
    async delete(db: Queryable, domainId: string, driveId: string): Promise<boolean> {
      await db.query(`SET LOCAL statement_timeout = 0`);
      return (await db.query(`DELETE FROM drives WHERE domain_id = $1 AND drive_id = $2 RETURNING drive_id`, [domainId, driveId])).length > 0;
    },
    /** As delete(), for every drive a user owns; `db` must be a transaction. */
    async deleteOwnedByUser(db: Queryable, domainId: string, userId: string): Promise<void> {
      await db.query(`SET LOCAL statement_timeout = 0`);
      await db.query(`DELETE FROM drives WHERE domain_id = $1 AND owner_type = 'user' AND owner_id = $2`, [domainId, userId]);
    },
  };
}
export type DrivesRepository = ReturnType<typeof createDrivesRepository>;
