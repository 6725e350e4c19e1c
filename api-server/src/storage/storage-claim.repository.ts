import type { Queryable } from '../db/db';

/** What the storage claim asks this database: who it is, and whether it knows a store's objects. */
export function createStorageClaimRepository() {
  return {
    /** The id migration 007 generated once for this database. */
    async instanceId(db: Queryable): Promise<string> {
      const [row] = await db.query<{ value: string }>(`SELECT value FROM instance_settings WHERE name = 'instance_id'`);
      if (!row) throw new Error('instance_settings has no instance_id: run the migrations');
      return row.value;
    },
    /** Whether any blob or upload session points at an object at all (false: a fresh database). */
    async knowsAnyObject(db: Queryable): Promise<boolean> {
      const [row] = await db.query<{ known: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM blobs) OR EXISTS (SELECT 1 FROM upload_sessions) AS known`,
      );
      return row?.known === true;
    },
    /**
     * How many blobs this database records as stored (a row is written once its object is in the store).
     * Counted only when an unclaimed store turns out empty, to say how much it lacks.
     */
    async countBlobs(db: Queryable): Promise<number> {
      const [row] = await db.query<{ n: string | number }>(`SELECT count(*) AS n FROM blobs`);
      return Number(row?.n ?? 0);
    },
    /** Whether any of these storage keys is a blob's or an upload session's (finished or not). */
    async knowsAnyKey(db: Queryable, keys: readonly string[]): Promise<boolean> {
      const [row] = await db.query<{ known: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM blobs WHERE storage_key = ANY($1::text[]))
             OR EXISTS (SELECT 1 FROM upload_sessions WHERE storage_key = ANY($1::text[])) AS known`,
        [keys],
      );
      return row?.known === true;
    },
  };
}
