import type { Queryable } from '../db/db';

/** countBlobs counts no further: a count of this many means at least this many. */
export const BLOB_COUNT_LIMIT = 10_000;

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
     * How many blobs this database records as stored (a row is written once its object is in the store),
     * counted up to `upTo`: asked only when an unclaimed store turns out empty, where what matters is
     * whether there are any (0 on a fresh database, read at once) and their order of magnitude for the
     * message. A full count(*) read all of a big blobs table (millions of rows: seconds) at that start.
     */
    async countBlobs(db: Queryable, upTo = BLOB_COUNT_LIMIT): Promise<number> {
      const [row] = await db.query<{ n: string | number }>(`SELECT count(*) AS n FROM (SELECT 1 FROM blobs LIMIT $1) AS b`, [upTo]);
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
