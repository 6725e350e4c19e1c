/**
 * A real data plane in this process for integration tests: PGlite or a fresh PostgreSQL database, local
 * disk or radosgw (a unique prefix per server), listening on a random loopback port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startServer, type RunningServer } from '../../api-server/src/main';
import { seedPgliteDataDir } from './pglite-template';
import { createTestDatabaseUrl, requireEnv, type DbKind } from './test-db';

export type StoreKind = 'local' | 's3';
export const ADMIN_PASSWORD = 'admin-password-for-tests';

export function s3Env(prefix: string): Record<string, string> {
  return {
    OPENPDS_STORAGE: 's3',
    OPENPDS_S3_ENDPOINT: requireEnv('OPENPDS_TEST_S3_ENDPOINT'),
    OPENPDS_S3_REGION: process.env.OPENPDS_TEST_S3_REGION ?? 'us-east-1',
    OPENPDS_S3_BUCKET: requireEnv('OPENPDS_TEST_S3_BUCKET'),
    OPENPDS_S3_ACCESS_KEY_ID: requireEnv('OPENPDS_TEST_S3_ACCESS_KEY_ID'),
    OPENPDS_S3_SECRET_ACCESS_KEY: requireEnv('OPENPDS_TEST_S3_SECRET_ACCESS_KEY'),
    OPENPDS_S3_PREFIX: prefix,
  };
}

/** Environment for a data plane on the given database and store (also used to spawn `openpds serve`). */
export async function testServerEnv(db: DbKind, store: StoreKind, extra: Record<string, string> = {}): Promise<{ env: Record<string, string>; dataDir: string }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'openpds-test-'));
  const env: Record<string, string> = {
    OPENPDS_PORT: '0',
    OPENPDS_HOST: '127.0.0.1',
    OPENPDS_DATA_DIR: dataDir,
    OPENPDS_ADMIN_PASSWORD: ADMIN_PASSWORD,
    OPENPDS_LOG_LEVEL: 'silent',
    OPENPDS_GC_INTERVAL_SECONDS: '0',
    OPENPDS_SECRET_KEY: randomBytes(32).toString('hex'),
    // argon2 at its cheapest: the default (~160 ms a check on these cores) made password checks a tenth of
    // the suite's time. test/api/password-hash-cost.int.test.ts checks the default cost and the rehash.
    OPENPDS_PASSWORD_HASH_MEMORY_KIB: '1024',
    OPENPDS_PASSWORD_HASH_ITERATIONS: '1',
    ...(db === 'pg' ? { OPENPDS_DATABASE_URL: await createTestDatabaseUrl() } : {}),
    ...(store === 's3' ? s3Env(`t-${randomBytes(5).toString('hex')}/`) : {}),
    ...extra,
  };
  if (db === 'pglite') await seedPgliteDataDir(dataDir);
  return { env, dataDir };
}

export async function startTestServer(db: DbKind, store: StoreKind, extra: Record<string, string> = {}): Promise<RunningServer & { api: ApiClient; stop(): Promise<void> }> {
  const { env, dataDir } = await testServerEnv(db, store, extra);
  const running = await startServer(env);
  return {
    ...running,
    api: createApiClient(running.url),
    async stop() {
      await running.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `close` (a server's close(), or a test server's stop()) while dropping each keep-alive connection
 * as soon as it is idle. The server's close() drops the idle ones once, when called: one whose response was
 * still finishing then (a download from the local store, streamed through the server) stayed open until
 * the 10 s shutdown grace cut it (SHUTDOWN_GRACE_MS in api-server/src/main.ts), 10 s of a suite's time.
 */
export async function closeDroppingIdle(running: Pick<RunningServer, 'server'>, close: () => Promise<void>): Promise<void> {
  const timer = setInterval(() => running.server.closeIdleConnections(), 20);
  try {
    await close();
  } finally {
    clearInterval(timer);
  }
}

/**
 * Runs `fn` with the server's in-process job runner stopped (after what was queued has run), then starts it
 * again: what `fn` uploads stays unhashed, at its upload key, until it returns.
 */
export async function withJobsHeld<T>(server: Pick<RunningServer, 'services'>, fn: () => Promise<T>): Promise<T> {
  await server.services.jobs.drain();
  await server.services.jobs.close();
  try {
    return await fn();
  } finally {
    server.services.jobs.start();
  }
}

/** A user of the domain (created by the superadmin, password `<name>-password`), logged in. */
export async function createLoggedInUser(api: ApiClient, name: string): Promise<Awaited<ReturnType<ApiClient['login']>>> {
  const admin = await api.login('admin', ADMIN_PASSWORD);
  await api.ok('/v2/user/create', { user_name: name, password: `${name}-password` }, admin.access_token);
  return api.login(name, `${name}-password`);
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
}

export interface ApiClient {
  url: string;
  call<T = any>(path: string, body?: unknown, token?: string): Promise<ApiResponse<T>>;
  /** Calls and expects 2xx, returning the body. */
  ok<T = any>(path: string, body?: unknown, token?: string): Promise<T>;
  login(username: string, password: string): Promise<{ access_token: string; refresh_token: string; user_id: string; default_drive_id: string }>;
}

export function createApiClient(url: string): ApiClient {
  const client: ApiClient = {
    url,
    async call(p, body = {}, token) {
      const res = await fetch(`${url}${p}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async ok(p, body, token) {
      const r = await client.call(p, body, token);
      if (r.status >= 300) throw new Error(`${p} answered ${r.status}: ${JSON.stringify(r.body)}`);
      return r.body;
    },
    login: (username, password) => client.ok('/v2/account/login', { username, password }),
  };
  return client;
}

export type TestServer = Awaited<ReturnType<typeof startTestServer>>;
export type LoggedInUser = Awaited<ReturnType<typeof createLoggedInUser>>;

/**
 * The set-up most API suites share, for the describe block it is called in: a server on `db` + `store`
 * started before its tests and stopped after them, and one user (`createLoggedInUser`). `use` gets them
 * once they are up, to keep in the block's own variables.
 */
export function serverWithUser(db: DbKind, store: StoreKind, userName: string, use: (ready: { server: TestServer; api: ApiClient; user: LoggedInUser }) => void, extra: Record<string, string> = {}): void {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(db, store, extra);
    use({ server, api: server.api, user: await createLoggedInUser(server.api, userName) });
  });
  afterAll(() => server?.stop());
}
