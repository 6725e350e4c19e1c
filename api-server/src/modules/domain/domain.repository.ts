import type { Queryable } from '../../db/db';

export interface DomainRow {
  domain_id: string;
  settings: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export interface DomainUsage {
  user_count: number;
  drive_count: number;
  /** Bytes stored, over all drives. */
  used_size: number;
  /** Sum of the quotas of drives that have one, in bytes. */
  total_size: number;
  /** Drives without a quota (total_size null). */
  unlimited_drive_count: number;
}

export function createDomainRepository() {
  return {
    async ensure(db: Queryable, domainId: string): Promise<void> {
      await db.query(`INSERT INTO domains (domain_id) VALUES ($1) ON CONFLICT (domain_id) DO NOTHING`, [domainId]);
    },
    async get(db: Queryable, domainId: string): Promise<DomainRow | undefined> {
      const [row] = await db.query<DomainRow>(`SELECT * FROM domains WHERE domain_id = $1`, [domainId]);
      return row;
    },
    /** Merges keys into the settings object (jsonb ||), so concurrent updates of different keys both stick. */
    async mergeSettings(db: Queryable, domainId: string, patch: Record<string, unknown>): Promise<DomainRow> {
      const [row] = await db.query<DomainRow>(
        `UPDATE domains SET settings = settings || $2::jsonb, updated_at = now() WHERE domain_id = $1 RETURNING *`,
        [domainId, JSON.stringify(patch)],
      );
      return row!;
    },
    /**
     * Counts and sizes for O&M in one statement (one scan of the domain's drives). A null total_size is an
     * unlimited drive: it is counted apart and adds nothing to total_size, which sums the quotas there are.
     */
    async usage(db: Queryable, domainId: string): Promise<DomainUsage> {
      const [row] = await db.query<DomainUsage>(
        `SELECT (SELECT count(*)::int FROM users WHERE domain_id = $1) AS user_count,
                d.drive_count, d.used_size, d.total_size, d.unlimited_drive_count
           FROM (SELECT count(*)::int AS drive_count,
                        coalesce(sum(used_size), 0)::bigint AS used_size,
                        coalesce(sum(total_size) FILTER (WHERE total_size > 0), 0)::bigint AS total_size,
                        (count(*) FILTER (WHERE total_size IS NULL))::int AS unlimited_drive_count
                   FROM drives WHERE domain_id = $1) d`,
        [domainId],
      );
      return row!;
    },
  };
}
