import pg from 'pg';
import type { Db, Queryable } from './db';

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * Default statement_timeout of every pooled connection. A query that runs away (a bug, corrupted data a
 * recursive query loops on) fails after it instead of holding its connection for good: ten of those once
 * took every connection of the pool and hung /readyz and every user. Far above what an API query takes.
 */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

/**
 * Db on a PostgreSQL server through a pg Pool. `statementTimeoutMs` (0: none) is set on each connection
 * as it opens, so it holds for every statement of every connection. What is long by nature lifts it for itself and says
 * why: `exec` (migrations: a schema change on a big table), and, with `SET LOCAL statement_timeout = 0`
 * in their own transaction, the statements that grow with a folder's size (files.repository
 * allowLongStatements: copy, trash, delete, the GC's purge of trash). The GC's other statements work in
 * batches of 500 and stay far below it.
 */
export function createPgDb(connectionString: string, options: { max?: number; statementTimeoutMs?: number } = {}): Db {
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID || oid === NUMERIC_OID ? Number : pg.types.getTypeParser(oid, format as 'text'),
  };
  const statementTimeout = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  // Set by a SET on each new connection, not pg's statement_timeout option: that one is a startup
  // parameter, which PgBouncer (and poolers like it) refuse by default ("unsupported startup parameter"),
  // so every connection through one would fail. The SET is awaited before a new client's first use: sent
  // from the pool's 'connect' event instead, it was queued behind nothing and the first query was queued
  // behind it, which pg 8 warns about on every start (DeprecationWarning: "Calling client.query() when the
  // client is already executing a query") and pg 9 refuses.
  const timeoutSetting = `SET statement_timeout = ${Math.max(0, Math.floor(statementTimeout))}`;
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10, types });
  const prepared = new WeakSet<pg.PoolClient>();
  async function checkout(): Promise<pg.PoolClient> {
    const client = await pool.connect();
    if (prepared.has(client)) return client;
    try {
      await client.query(timeoutSetting);
    } catch (e) {
      client.release(e as Error);
      throw e;
    }
    prepared.add(client);
    return client;
  }
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const query = async <T>(client: Pick<pg.Pool, 'query'>, sql: string, params?: readonly unknown[]) =>
    (await client.query(sql, params as unknown[])).rows as T[];
  return {
    dialect: 'pg',
    async query<T>(sql: string, params?: readonly unknown[]) {
      // As pool.query does it: a client whose query failed is not reused (its connection may be the cause).
      const client = await checkout();
      try {
        const rows = await query<T>(client, sql, params);
        client.release();
        return rows;
      } catch (e) {
        client.release(e as Error);
        throw e;
      }
    },
    async exec(sql) {
      // Untimed: SET (not LOCAL: sql may hold several transactions), set back before the connection goes back.
      const client = await checkout();
      try {
        await client.query('SET statement_timeout = 0');
        await client.query(sql);
      } finally {
        await client.query(timeoutSetting).then(
          () => client.release(),
          (e: Error) => client.release(e),
        );
      }
    },
    async transaction(fn) {
      const client = await checkout();
      try {
        await client.query('BEGIN');
        const tx: Queryable = {
          query: (sql, params) => query(client, sql, params),
          // Migrations: untimed for the rest of the transaction.
          exec: async (sql) => {
            await client.query('SET LOCAL statement_timeout = 0');
            await client.query(sql);
          },
        };
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
