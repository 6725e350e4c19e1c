/**
 * What anyone can reach without a token stays small and says little: /metrics has a series per route, not
 * per path a client makes up (20k POSTs to random /v2 paths made it 98 MB), and /readyz names the
 * dependency that is down without its error text (it showed "connect ECONNREFUSED 127.0.0.1:50603").
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer } from '../../api-server/src/main';
import { DB_KINDS } from '../support/test-db';
import { ADMIN_PASSWORD, createApiClient, startTestServer, testServerEnv } from '../support/test-server';

const RANDOM_PATHS = 300;

describe.each(DB_KINDS)('the unauthenticated surface on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
  });
  afterAll(() => server?.stop());

  const durationSeries = async () =>
    (await (await fetch(`${server.url}/metrics`)).text()).split('\n').filter((l) => l.startsWith('openpds_http_request_duration_seconds_count{'));

  it('labels requests by route: paths no route has are "unmatched", whatever the status or method', async () => {
    const before = (await durationSeries()).length;
    const junk = (i: number) => `x${i}-${Math.random().toString(36).slice(2)}`;
    for (let i = 0; i < RANDOM_PATHS; i++) {
      const [method, path] = [
        ['POST', `/v2/${junk(i)}`], // 401: refused before any route
        ['GET', `/${junk(i)}`], // 404
        ['POST', `/v2/file/${junk(i)}`],
        ['PROPFIND', `/v2/${junk(i)}`],
      ][i % 4]!;
      const res = await fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'GET' ? undefined : '{}' });
      expect([401, 404]).toContain(res.status);
      await res.arrayBuffer();
    }
    // A known route refused before its handler ran (no token) keeps its own label.
    expect((await server.api.call('/v2/file/list', {})).status).toBe(401);

    const series = await durationSeries();
    expect(series.length - before).toBeLessThan(10);
    expect(series.join('\n')).not.toMatch(/route="[^"]*x\d+-/);
    expect(series.some((l) => l.includes('route="unmatched"') && l.includes('status="401"'))).toBe(true);
    expect(series.some((l) => l.includes('route="unmatched"') && l.includes('status="404"'))).toBe(true);
    expect(series.some((l) => l.includes('route="unmatched"') && l.includes('method="other"'))).toBe(true);
    expect(series.some((l) => l.includes('route="/v2/file/list"') && l.includes('status="401"'))).toBe(true);
    // Routes still have theirs.
    await server.api.login('admin', ADMIN_PASSWORD);
    expect((await durationSeries()).some((l) => l.includes('route="/v2/account/login"') && l.includes('status="200"'))).toBe(true);
  });

  it('/readyz names the dependency that is down, and logs why; the body has no error text', async () => {
    const warn = jest.spyOn(server.deps.logger, 'warn');
    const secret = 'connect ECONNREFUSED 127.0.0.1:50603';
    const [query, ping] = [server.deps.db.query, server.deps.store.ping];
    server.deps.db.query = (async () => {
      throw Object.assign(new Error(secret), { code: 'ECONNREFUSED' });
    }) as typeof query;
    server.deps.store.ping = async () => {
      throw new Error(`${secret} (store)`);
    };
    try {
      const res = await fetch(`${server.url}/readyz`);
      const text = await res.text();
      expect(res.status).toBe(503);
      expect(JSON.parse(text)).toEqual({ status: 'not ready', database: 'unreachable', storage: 'unreachable', storage_claim: 'ok', schema: 'ok' });
      expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|50603/);
      const logged = warn.mock.calls.map(([fields]) => fields as { dependency?: string; err?: Error });
      expect(logged).toEqual(expect.arrayContaining([
        expect.objectContaining({ dependency: 'database', err: expect.objectContaining({ message: secret }) }),
        expect.objectContaining({ dependency: 'storage' }),
      ]));
    } finally {
      server.deps.db.query = query;
      server.deps.store.ping = ping;
      warn.mockRestore();
    }
    expect(await (await fetch(`${server.url}/readyz`)).json()).toEqual({ status: 'ready', database: 'ok', storage: 'ok', storage_claim: 'ok', schema: 'ok' });
  });
});

describe.each(DB_KINDS)('a store claim that could not be checked, on %s', (dbKind) => {
  it('is said in /readyz and in the 503 of every call without the error text', async () => {
    const { env, dataDir } = await testServerEnv(dbKind, 'local');
    // The blobs directory is a file: the claim cannot be read (ENOTDIR and the data dir's path).
    writeFileSync(path.join(dataDir, 'blobs'), 'not a directory');
    const server = await startServer(env);
    try {
      const ready = await fetch(`${server.url}/readyz`);
      const body = (await ready.json()) as { storage_claim: string };
      expect(ready.status).toBe(503);
      expect(body.storage_claim).toBe('the blob store claim could not be checked: the store or the database is unreachable (see the log)');
      const call = await createApiClient(server.url).call('/v2/account/login', { username: 'admin', password: ADMIN_PASSWORD });
      expect(call).toMatchObject({ status: 503, body: { code: 'ServiceUnavailable.StorageClaimUnchecked', message: body.storage_claim } });
      expect(JSON.stringify([body, call.body])).not.toMatch(/ENOTDIR|EEXIST|openpds-test-/);
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
