/**
 * A PostgreSQL that accepts connections but stops answering (frozen, or a proxy or load balancer that
 * stopped forwarding): the pool had no connect timeout and no client-side query bound, so every call
 * waited forever (red team, freeze-db.sh). Now they fail within the connect timeout, or statement_timeout
 * plus a margin, as a connection failure the API answers 503. Simulated by a TCP proxy that stops
 * forwarding (never by stopping a shared server). PostgreSQL only: PGlite is in the process.
 */
import express from 'express';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { startTcpProxy, type TcpProxy } from '../../../test/support/tcp-proxy';
import { createTestDatabaseUrl } from '../../../test/support/test-db';
import { createErrorMiddleware } from '../shared/error-middleware';
import { isDependencyUnavailable } from '../modules/jobs/unavailable-dependency';
import type { Db } from './db';
import { createPgDb, QUERY_TIMEOUT_MARGIN_MS } from './pg.db';

const STATEMENT_TIMEOUT_MS = 300;
const CONNECT_TIMEOUT_MS = 500;

/** The call's error, or 'still waiting' once `ms` pass (the old pool waited forever). */
const outcome = (call: Promise<unknown>, ms: number): Promise<unknown> =>
  Promise.race([call.then(() => 'answered', (e: unknown) => e), new Promise((r) => setTimeout(() => r('still waiting'), ms).unref())]);

/** What the API answers for `err` (the one error middleware). */
async function statusFor(err: unknown): Promise<{ status: number; code: unknown }> {
  const app = express();
  app.get('/', () => {
    throw err;
  });
  app.use(createErrorMiddleware(pino({ level: 'silent' })));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    return { status: res.status, code: ((await res.json()) as { code: unknown }).code };
  } finally {
    await new Promise((r) => server.close(r));
  }
}

describe('pg pool in front of a frozen PostgreSQL', () => {
  let proxy: TcpProxy;
  let db: Db;
  let proxied: string;
  beforeEach(async () => {
    const url = await createTestDatabaseUrl();
    proxy = await startTcpProxy(new URL(url)); // its own copy: it reads the port at each connection
    proxied = Object.assign(new URL(url), { port: new URL(proxy.url).port }).toString();
    db = createPgDb(proxied, { max: 2, statementTimeoutMs: STATEMENT_TIMEOUT_MS, connectTimeoutMs: CONNECT_TIMEOUT_MS });
  });
  afterEach(async () => {
    await proxy.close();
    await db.close();
  });

  it('gives up connecting after the connect timeout, answered 503 ServiceUnavailable', async () => {
    proxy.mode = 'silent';
    const started = Date.now();
    const err = await outcome(db.query('SELECT 1'), 5_000);
    expect(err).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(CONNECT_TIMEOUT_MS + 1_000);
    expect(await statusFor(err)).toEqual({ status: 503, code: 'ServiceUnavailable' });
    expect(isDependencyUnavailable(err)).toBe(true); // a job's attempt is given back
  });

  it('gives up on a query on an open connection after statement_timeout plus a margin, and drops that connection', async () => {
    expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    proxy.mode = 'silent';
    const started = Date.now();
    const err = await outcome(db.query('SELECT 2'), STATEMENT_TIMEOUT_MS + QUERY_TIMEOUT_MARGIN_MS + 3_000);
    expect(err).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeGreaterThanOrEqual(STATEMENT_TIMEOUT_MS + QUERY_TIMEOUT_MARGIN_MS - 50);
    expect(await statusFor(err)).toEqual({ status: 503, code: 'ServiceUnavailable' });
    proxy.mode = 'pass';
    expect(await db.query('SELECT 3 AS three')).toEqual([{ three: 3 }]);
  }, 20_000);

  it('ends a transaction frozen mid-way without a ROLLBACK that would wait as long again; the pool goes on', async () => {
    const err = await outcome(
      db.transaction(async (tx) => {
        await tx.query('SELECT 1');
        proxy.mode = 'silent';
        await tx.query('SELECT 2');
      }),
      STATEMENT_TIMEOUT_MS + QUERY_TIMEOUT_MARGIN_MS + 3_000,
    );
    expect(await statusFor(err)).toEqual({ status: 503, code: 'ServiceUnavailable' });
    proxy.mode = 'pass';
    expect(await Promise.all([db.query('SELECT 1 AS n'), db.query('SELECT 2 AS n')])).toEqual([[{ n: 1 }], [{ n: 2 }]]);
  }, 20_000);

  it('survives a connection lost between the statements of a transaction: the next one fails 503', async () => {
    const err = await outcome(
      db.transaction(async (tx) => {
        await tx.query('SELECT 1');
        await proxy.close(); // the connection drops while the transaction waits on something else
        await new Promise((r) => setTimeout(r, 100));
        await tx.query('SELECT 2');
      }),
      5_000,
    );
    expect(await statusFor(err)).toEqual({ status: 503, code: 'ServiceUnavailable' });
  });

  it('waits for a busy pool no longer than the connect timeout', async () => {
    const one = createPgDb(proxied, { max: 1, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    try {
      let release!: () => void;
      const held = one.transaction(() => new Promise<void>((r) => (release = r)));
      await new Promise((r) => setTimeout(r, 200));
      const err = await outcome(one.query('SELECT 1'), 5_000);
      expect(await statusFor(err)).toEqual({ status: 503, code: 'ServiceUnavailable' });
      release();
      await held;
    } finally {
      await one.close();
    }
  });
});

describe('pg pool: what is untimed stays untimed', () => {
  let db: Db;
  beforeAll(async () => {
    db = createPgDb(await createTestDatabaseUrl(), { max: 1, statementTimeoutMs: 200, queryTimeoutMs: 300 });
  });
  afterAll(() => db?.close());

  it('does not cut exec or a transaction after SET LOCAL statement_timeout = 0 client-side either', async () => {
    await expect(db.exec('SELECT pg_sleep(0.6)')).resolves.toBeUndefined();
    await expect(
      db.transaction(async (tx) => {
        await tx.query('SET LOCAL statement_timeout = 0');
        return tx.query('SELECT pg_sleep(0.6)::text AS slept');
      }),
    ).resolves.toEqual([{ slept: '' }]);
    // Timed again afterwards, by the server (57014) before the client bound.
    await expect(db.query('SELECT pg_sleep(0.6)')).rejects.toMatchObject({ code: '57014' });
  });
});
