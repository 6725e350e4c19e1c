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
 * How long getting a connection may take: opening one (TCP, TLS, startup) or waiting for a busy pool to
 * free one. Without it a database that accepts connections but does not answer (frozen, a proxy or load
 * balancer that stopped forwarding) made every call wait forever (red team); now they fail as unreachable
 * (code 08001: 503 ServiceUnavailable, and a job's attempt is given back). Above the worst queueing a full
 * pool sees under load. Not a config key yet (config.ts is not this change's): a constant.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/**
 * A timed statement that has not answered this long after statement_timeout is not coming back (the server
 * would have cancelled it): the client gives up on it and drops the connection. TCP keepalive cannot see
 * this, as a frozen server's kernel still acknowledges. Untimed statements (exec, after SET LOCAL
 * statement_timeout = 0) are not cut.
 */
export const QUERY_TIMEOUT_MARGIN_MS = 5_000;
/** Idle time before TCP keepalive probes a pooled connection (the OS default is two hours). */
const KEEPALIVE_IDLE_MS = 30_000;
/** SQLSTATEs our client-side failures carry, so they are answered 503 as the server's own would be. */
const UNABLE_TO_CONNECT = '08001';
const CONNECTION_FAILURE = '08006';
const LIFTS_STATEMENT_TIMEOUT = /^\s*SET\s+LOCAL\s+statement_timeout\s*(=|TO)\s*'?0'?\s*;?\s*$/i;

/**
 * pg reports its own timeouts and lost connections as bare Errors with no code, which the error middleware
 * answered as 500s: they get the SQLSTATE a server-side connection failure has, with the original as cause.
 */
function asConnectionError(err: unknown, code: string): unknown {
  if (!(err instanceof Error) || typeof (err as { code?: unknown }).code === 'string') return err;
  // pg's text last: the log's error serializer appends the cause's message again.
  const what = code === UNABLE_TO_CONNECT ? 'could not get a database connection' : 'database connection lost or not answering';
  return Object.assign(new Error(`${what} (${err.message})`, { cause: err }), { code });
}
const CONNECTION_LOST = /^(Query read timeout|Connection terminated|Client has encountered a connection error|Client was closed)/;
const isConnectionLost = (err: unknown) => err instanceof Error && typeof (err as { code?: unknown }).code !== 'string' && CONNECTION_LOST.test(err.message);

/**
 * Db on a PostgreSQL server through a pg Pool. `statementTimeoutMs` (0: none) is set on each connection
 * as it opens, so it holds for every statement of every connection. What is long by nature lifts it for itself and says
 * why: `exec` (migrations: a schema change on a big table), and, with `SET LOCAL statement_timeout = 0`
 * in their own transaction, the statements that grow with a folder's size (files.repository
 * allowLongStatements: copy, trash, delete, the GC's purge of trash). The GC's other statements work in
 * batches of 500 and stay far below it.
 */
export function createPgDb(
  connectionString: string,
  options: { max?: number; statementTimeoutMs?: number; connectTimeoutMs?: number; queryTimeoutMs?: number } = {},
): Db {
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
  // Client-side bound of a timed statement; 0 (none) when statement_timeout is off.
  const queryTimeout = options.queryTimeoutMs ?? (statementTimeout > 0 ? statementTimeout + QUERY_TIMEOUT_MARGIN_MS : 0);
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    types,
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
  });
  const prepared = new WeakSet<pg.PoolClient>();
  async function checkout(): Promise<pg.PoolClient> {
    const client = await pool.connect().catch((e: unknown) => Promise.reject(asConnectionError(e, UNABLE_TO_CONNECT)));
    if (prepared.has(client)) return client;
    // A connection lost while its client is checked out (between the statements of a transaction that
    // awaits the store, say) is emitted on the client, where an 'error' without a listener ends the
    // process; the pool only listens on idle clients. The next statement on it fails (08006) instead.
    client.on('error', () => undefined);
    try {
      await query(client, timeoutSetting, undefined, queryTimeout);
    } catch (e) {
      client.release(e as Error);
      throw e;
    }
    prepared.add(client);
    return client;
  }
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  // query_timeout per statement, not on the pool: pg cannot lift a pool-wide one for a single statement.
  const query = async <T>(client: pg.PoolClient, sql: string, params: readonly unknown[] | undefined, timeoutMs: number) => {
    const config: pg.QueryConfig & { query_timeout?: number } = { text: sql, values: params as unknown[] };
    if (timeoutMs > 0) config.query_timeout = timeoutMs;
    try {
      return (await client.query(config)).rows as T[];
    } catch (e) {
      throw isConnectionLost(e) ? asConnectionError(e, CONNECTION_FAILURE) : e;
    }
  };
  return {
    dialect: 'pg',
    async query<T>(sql: string, params?: readonly unknown[]) {
      // As pool.query does it: a client whose query failed is not reused (its connection may be the cause).
      const client = await checkout();
      try {
        const rows = await query<T>(client, sql, params, queryTimeout);
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
        await query(client, 'SET statement_timeout = 0', undefined, queryTimeout);
        await query(client, sql, undefined, 0);
      } finally {
        await query(client, timeoutSetting, undefined, queryTimeout).then(
          () => client.release(),
          (e: Error) => client.release(e),
        );
      }
    },
    async transaction(fn) {
      const client = await checkout();
      // Set once a statement lifts statement_timeout for the rest of the transaction: no client-side bound either.
      let untimed = false;
      const run = <T>(sql: string, params?: readonly unknown[]) => {
        if (LIFTS_STATEMENT_TIMEOUT.test(sql)) untimed = true;
        return query<T>(client, sql, params, untimed ? 0 : queryTimeout);
      };
      // A connection that failed (or timed out) mid-transaction is dropped, never handed to the next caller.
      let broken: Error | undefined;
      try {
        await run('BEGIN');
        const tx: Queryable = {
          query: run,
          // Migrations: untimed for the rest of the transaction.
          exec: async (sql) => {
            await run('SET LOCAL statement_timeout = 0');
            await run(sql);
          },
        };
        const result = await fn(tx);
        await run('COMMIT');
        return result;
      } catch (e) {
        // Lost or timed out: no ROLLBACK on it (it would wait as long again); the server rolls back when the
        // connection closes.
        if ((e as { code?: unknown }).code === CONNECTION_FAILURE) broken = e as Error;
        else await run('ROLLBACK').catch((err: Error) => (broken = err));
        throw e;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
