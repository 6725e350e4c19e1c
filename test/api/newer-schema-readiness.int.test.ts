/**
 * An older OpenPDS on a database a newer one migrated (an image rolled back; red team M2) used to start,
 * answer /readyz 200 and be Ready. Now a process that finds migrations it does not know at its start is
 * not ready (/readyz 503 `schema: newer than this version: …`, which the operator quotes in the Domain's
 * Ready condition), answers the API with 503 and runs no jobs, unless OPENPDS_ALLOW_NEWER_SCHEMA=true;
 * /metrics counts the migrations either way. A process started before the newer one migrated keeps
 * serving, as old pods do mid-roll. `openpds worker` likewise.
 */
import { rmSync } from 'node:fs';
import { loadConfig } from '../../api-server/src/config/config';
import { openDb, startServer } from '../../api-server/src/main';
import { startWorker } from '../../workers/src/main';
import { ADMIN_PASSWORD, createApiClient, testServerEnv } from '../support/test-server';

const FUTURE = '998_from_the_future';

async function addFutureMigration(env: Record<string, string>) {
  const db = await openDb(loadConfig(env));
  try {
    await db.query(`INSERT INTO schema_migrations (version, name) VALUES (998, $1)`, [FUTURE]);
  } finally {
    await db.close();
  }
}

const gauge = async (url: string) => (await (await fetch(`${url}/metrics`)).text()).match(/^openpds_schema_unknown_migrations (\d+)$/m)?.[1];

describe.each(['pglite', 'pg'] as const)('a database migrated by a newer OpenPDS, on %s', (dbKind) => {
  let env: Record<string, string>;
  let dataDir: string;

  beforeAll(async () => {
    ({ env, dataDir } = await testServerEnv(dbKind, 'local'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  test('a process started before the newer one migrated keeps serving, as old pods do mid-roll', async () => {
    const server = await startServer(env);
    try {
      expect(await (await fetch(`${server.url}/readyz`)).json()).toMatchObject({ status: 'ready', schema: 'ok' });
      expect(await gauge(server.url)).toBe('0');
      // PGlite is one process's: the "newer pod" migrates through this one's connection.
      if (dbKind === 'pglite') await server.deps.db.query(`INSERT INTO schema_migrations (version, name) VALUES (998, $1)`, [FUTURE]);
      else await addFutureMigration(env);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      await createApiClient(server.url).login('admin', ADMIN_PASSWORD);
    } finally {
      await server.close();
    }
  }, 60_000);

  test('a process starting on it is not ready, naming the migrations, answers the API 503 and runs no jobs', async () => {
    const server = await startServer(env);
    try {
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'not ready', database: 'ok', storage: 'ok', storage_claim: 'ok', schema: `newer than this version: ${FUTURE}` });
      expect(await gauge(server.url)).toBe('1');
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect(await createApiClient(server.url).call('/v2/account/login', { username: 'admin', password: ADMIN_PASSWORD })).toMatchObject({
        status: 503,
        body: { code: 'ServiceUnavailable.SchemaNewer', message: expect.stringContaining(`newer than this version: ${FUTURE}`) },
      });
      expect(server.deps.schema?.servable()).toBe(false);
      // A queued job stays untouched: the in-process runner (poll 1 s) was never started.
      await server.deps.db.query(`INSERT INTO jobs (kind, payload) VALUES ('blob.hash', '{}')`);
      await new Promise((r) => setTimeout(r, 2500));
      expect(await server.deps.db.query(`SELECT attempts, claims FROM jobs`)).toEqual([{ attempts: 0, claims: 0 }]);
    } finally {
      await server.close();
    }
  }, 60_000);

  test('OPENPDS_ALLOW_NEWER_SCHEMA=true serves it; the gauge still says so', async () => {
    const server = await startServer({ ...env, OPENPDS_ALLOW_NEWER_SCHEMA: 'true' });
    try {
      expect(await (await fetch(`${server.url}/readyz`)).json()).toMatchObject({ status: 'ready', schema: 'ok' });
      expect(await gauge(server.url)).toBe('1');
      await createApiClient(server.url).login('admin', ADMIN_PASSWORD);
      // The job the refused start left queued runs now.
      const deadline = Date.now() + 10_000;
      while ((await server.deps.db.query<{ claims: number }>(`SELECT claims FROM jobs`))[0]?.claims === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect((await server.deps.db.query<{ claims: number }>(`SELECT claims FROM jobs`))[0]?.claims ?? 1).toBeGreaterThan(0);
      await server.deps.db.query(`DELETE FROM jobs`);
    } finally {
      await server.close();
    }
  }, 60_000);

  if (dbKind === 'pg') {
    test('`openpds worker` on it is not ready either, unless allowed', async () => {
      const workerEnv = { ...env, OPENPDS_LOG_LEVEL: 'silent' };
      for (const [allow, status, schema] of [['false', 503, `newer than this version: ${FUTURE}`], ['true', 200, 'ok']] as const) {
        const worker = await startWorker({ ...workerEnv, OPENPDS_ALLOW_NEWER_SCHEMA: allow });
        try {
          let res = await fetch(`${worker.url}/readyz`);
          const deadline = Date.now() + 10_000;
          // The worker reads the schema in the background: `not checked yet` for a moment.
          while (((await res.clone().json()) as { schema: string }).schema === 'not checked yet' && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 100));
            res = await fetch(`${worker.url}/readyz`);
          }
          expect([allow, res.status, await res.json()]).toEqual([allow, status, expect.objectContaining({ database: 'ok', storage: 'ok', schema })]);
          expect(await gauge(worker.url)).toBe('1');
        } finally {
          await worker.close();
        }
      }
    }, 60_000);
  }
});
