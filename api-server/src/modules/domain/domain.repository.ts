import type { Queryable } from '../../db/db';

export interface DomainRow {
  domain_id: string;
  settings: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
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
    async usage(db: Queryable, domainId: string): Promise<{ user_count: number; drive_count: number; used_size: number }> {
      const [row] = await db.query<{ user_count: number; drive_count: number; used_size: number }>(
        `SELECT (SELECT count(*)::int FROM users WHERE domain_id = $1) AS user_count,
                (SELECT count(*)::int FROM drives WHERE domain_id = $1) AS drive_count,
                (SELECT coalesce(sum(used_size), 0)::bigint FROM drives WHERE domain_id = $1) AS used_size`,
        [domainId],
      );
      return row!;
    },
  };
}
