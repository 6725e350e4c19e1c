/**
 * Password guessing is bounded by the database, not by one process's memory: attempts are counted before the
 * password is checked (so a burst of parallel guesses cannot all pass a check made before any of them
 * failed), and every API replica on one database counts against the same limit. Also old_password guessing
 * (proof v2 challenges share the mechanism: test/api/rapid-upload-proof-v2.int.test.ts). On PGlite and on
 * PostgreSQL; the replicas case on PostgreSQL (PGlite is one process).
 */
import { MAX_FAILURES } from '../../api-server/src/modules/auth/login-throttle';
import { startServer } from '../../api-server/src/main';
import { ADMIN_PASSWORD, createApiClient, startTestServer, testServerEnv, type ApiClient } from '../support/test-server';

describe.each(['pglite', 'pg'] as const)('login throttle on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let root: string;
  const login = (username: string, password: string) => api.call('/v2/account/login', { username, password });

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    api = server.api;
    root = (await api.login('admin', ADMIN_PASSWORD)).access_token;
  });
  afterAll(() => server?.stop());

  it('refuses a burst of parallel guesses past the limit, before checking them', async () => {
    await api.ok('/v2/user/create', { user_name: 'burst', password: 'burst-password' }, root);
    const answers = await Promise.all(Array.from({ length: 2 * MAX_FAILURES }, (_, i) => login('burst', `wrong-${i}`)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(MAX_FAILURES);
    expect(statuses.filter((s) => s === 429)).toHaveLength(MAX_FAILURES);
    const refused = answers.find((a) => a.status === 429)!;
    expect(refused.body.code).toBe('TooManyRequests.Login');
    // The right password is refused too until the window has passed, saying how long that is.
    const res = await fetch(`${api.url}/v2/account/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'burst', password: 'burst-password' }) });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('a success clears the count: logging in often is not guessing', async () => {
    await api.ok('/v2/user/create', { user_name: 'often', password: 'often-password' }, root);
    for (let i = 0; i <= MAX_FAILURES; i++) expect((await login('often', 'often-password')).status).toBe(200);
    for (let i = 0; i < MAX_FAILURES - 1; i++) expect((await login('often', `wrong-${i}`)).status).toBe(401);
    expect((await login('often', 'often-password')).status).toBe(200);
    for (let i = 0; i < MAX_FAILURES; i++) expect((await login('often', `wrong-${i}`)).status).toBe(401);
    expect((await login('often', 'often-password')).status).toBe(429);
  });

  it('bounds parallel old_password guesses with a stolen token', async () => {
    const victim = await (async () => {
      await api.ok('/v2/user/create', { user_name: 'victim', password: 'victim-password' }, root);
      return api.login('victim', 'victim-password');
    })();
    const answers = await Promise.all(
      Array.from({ length: 2 * MAX_FAILURES }, (_, i) => api.call('/v2/user/update', { user_id: victim.user_id, password: 'new-password-1', old_password: `wrong-${i}` }, victim.access_token)),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 403)).toHaveLength(MAX_FAILURES);
    expect(statuses.filter((s) => s === 429)).toHaveLength(MAX_FAILURES);
  });
});

describe('the client address the login throttle counts under', () => {
  const guess = (url: string, password: string, forwardedFor: string) =>
    fetch(`${url}/v2/account/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor }, body: JSON.stringify({ username: 'admin', password }) });
  const lockFrom = async (url: string, forwardedFor: string) => {
    for (let i = 0; i < MAX_FAILURES; i++) expect((await guess(url, `wrong-${i}`, forwardedFor)).status).toBe(401);
  };

  it('is the peer when no proxy is trusted: a client cannot claim another address', async () => {
    const server = await startTestServer('pglite', 'local', { OPENPDS_TRUST_PROXY: '' });
    try {
      await lockFrom(server.url, '10.0.0.7');
      // Another claimed address is the same peer: no fresh guesses.
      expect((await guess(server.url, ADMIN_PASSWORD, '10.0.0.8')).status).toBe(429);
    } finally {
      await server.stop();
    }
  });

  it('is the forwarded one behind a trusted proxy (the default trusts loopback, where this test runs)', async () => {
    const server = await startTestServer('pglite', 'local');
    try {
      await lockFrom(server.url, '10.0.0.7');
      expect((await guess(server.url, ADMIN_PASSWORD, '10.0.0.7')).status).toBe(429);
      expect((await guess(server.url, ADMIN_PASSWORD, '10.0.0.8')).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});

describe('login throttle across two API replicas on one PostgreSQL', () => {
  it('counts the failures made at either replica against one limit', async () => {
    const { env } = await testServerEnv('pg', 'local');
    const a = await startServer(env);
    const b = await startServer(env);
    try {
      const apiA = createApiClient(a.url);
      const apiB = createApiClient(b.url);
      const root = (await apiA.login('admin', ADMIN_PASSWORD)).access_token;
      await apiA.ok('/v2/user/create', { user_name: 'shared', password: 'shared-password' }, root);
      for (let i = 0; i < MAX_FAILURES; i++) {
        const api = i % 2 ? apiA : apiB;
        expect((await api.call('/v2/account/login', { username: 'shared', password: `wrong-${i}` })).status).toBe(401);
      }
      expect((await apiA.call('/v2/account/login', { username: 'shared', password: 'shared-password' })).status).toBe(429);
      expect((await apiB.call('/v2/account/login', { username: 'shared', password: 'shared-password' })).status).toBe(429);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
