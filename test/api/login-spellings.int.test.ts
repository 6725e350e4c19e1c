/**
 * One user, one throttle: a user name logs in (and is throttled) as the user it resolves to, with the
 * case folding of the unique name index (ASCII only). PostgreSQL under C.UTF-8 folds the Turkish dotted
 * İ to i in lower(), so "alİce" used to log in as "alice" under a fresh throttle key. On PGlite and on
 * PostgreSQL.
 */
import { MAX_FAILURES } from '../../api-server/src/modules/auth/login-throttle';
import { ADMIN_PASSWORD, startTestServer, type ApiClient } from '../support/test-server';

describe.each(['pglite', 'pg'] as const)('login spellings on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let root: string;
  const login = (username: string, password: string) => api.call('/v2/account/login', { username, password });

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    api = server.api;
    root = (await api.login('admin', ADMIN_PASSWORD)).access_token;
    await api.ok('/v2/user/create', { user_name: 'alice', password: 'alice-password' }, root);
  });
  afterAll(() => server?.stop());

  it('matches names case-insensitively in ASCII only: "alİce" is not alice', async () => {
    expect((await login('ALICE', 'alice-password')).status).toBe(200);
    expect((await login('alİce', 'alice-password')).status).toBe(401);
    expect((await api.ok('/v2/user/search', { user_name: 'alİce' }, root)).items).toEqual([]);
    // The unique index lets "alİce" exist beside alice; each logs in as itself.
    await api.ok('/v2/user/create', { user_name: 'alİce', password: 'dotted-password' }, root);
    expect((await login('alİce', 'dotted-password')).body.user_name).toBe('alİce');
    expect((await login('alice', 'alice-password')).body.user_name).toBe('alice');
    expect((await login('alİce', 'alice-password')).status).toBe(401);
  });

  it('throttles every spelling of a user together', async () => {
    await api.ok('/v2/user/create', { user_name: 'guessed', password: 'guessed-password' }, root);
    const spellings = ['guessed', 'GUESSED', 'Guessed', 'gUeSsEd'];
    for (let i = 0; i < MAX_FAILURES; i++) expect((await login(spellings[i % spellings.length]!, `wrong-${i}`)).status).toBe(401);
    for (const name of [...spellings, 'guessed']) expect((await login(name, 'guessed-password')).status).toBe(429);
    // Names nobody has are throttled too, by their folded spelling.
    for (let i = 0; i < MAX_FAILURES; i++) expect((await login(i % 2 ? 'nobody' : 'NOBODY', `wrong-${i}`)).status).toBe(401);
    expect((await login('Nobody', 'whatever')).status).toBe(429);
  });
});
