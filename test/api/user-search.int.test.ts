/**
 * /v2/user/search (PDS SearchUser): exact user name (case-insensitive, as login), nick name, email and
 * phone, a nick-name fragment, role and status, all combined; paged like user/list; admins only; bad input
 * refused with a 400. On PGlite and on PostgreSQL.
 */
import { ADMIN_PASSWORD, startTestServer, type ApiClient } from '../support/test-server';

describe.each(['pglite', 'pg'] as const)('user search on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let token: string;
  const names = (body: { items: { user_name: string }[] }) => body.items.map((u) => u.user_name).sort();
  const search = (body: Record<string, unknown>) => api.ok('/v2/user/search', body, token);

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    api = server.api;
    token = (await api.login('admin', ADMIN_PASSWORD)).access_token;
    const users = [
      { user_name: 'Alice', nick_name: 'Alice Liddell', email: 'alice@example.com', phone: '+100' },
      { user_name: 'bob', nick_name: 'Bob 100%_sure', email: 'bob@example.com', role: 'admin' },
      { user_name: 'carol', nick_name: 'Carol', email: 'carol@example.com', status: 'disabled' },
      { user_name: 'dave', nick_name: 'Dave Lid' },
    ];
    for (const u of users) await api.ok('/v2/user/create', u, token);
  });
  afterAll(() => server?.stop());

  it('finds a user by name, case-insensitively as login does, and nobody by a name no one has', async () => {
    expect(names(await search({ user_name: 'alice' }))).toEqual(['Alice']);
    expect(names(await search({ user_name: 'ALICE' }))).toEqual(['Alice']);
    expect((await search({ user_name: 'alic' })).items).toEqual([]);
  });

  it('combines every given field; a nick-name fragment matches case-insensitively and literally', async () => {
    expect(names(await search({ nick_name_for_fuzzy: 'lid' }))).toEqual(['Alice', 'dave']);
    expect(names(await search({ nick_name_for_fuzzy: 'lid', phone: '+100' }))).toEqual(['Alice']);
    expect(names(await search({ nick_name_for_fuzzy: '%_' }))).toEqual(['bob']); // not wildcards
    expect(names(await search({ email: 'BOB@example.com' }))).toEqual(['bob']);
    expect(names(await search({ nick_name: 'Carol' }))).toEqual(['carol']);
    expect(names(await search({ status: 'disabled' }))).toEqual(['carol']);
    expect(names(await search({ role: 'admin' }))).toEqual(['bob']);
    expect(names(await search({ role: 'superadmin' }))).toEqual(['admin']);
    expect(names(await search({}))).toEqual(['Alice', 'admin', 'bob', 'carol', 'dave']);
  });

  it('pages with limit and next_marker like user/list', async () => {
    const seen: string[] = [];
    let marker = '';
    do {
      const page = await search({ nick_name_for_fuzzy: '', limit: 2, ...(marker ? { marker } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...names(page));
      marker = page.next_marker;
    } while (marker);
    expect(seen.sort()).toEqual(['Alice', 'admin', 'bob', 'carol', 'dave']);
  });

  it('is for admins only, and refuses bad input with a 400', async () => {
    await api.ok('/v2/user/create', { user_name: 'erin', password: 'erin-password' }, token);
    const erin = await api.login('erin', 'erin-password');
    const refused = await api.call('/v2/user/search', { user_name: 'bob' }, erin.access_token);
    expect(refused.status).toBe(403);
    const bad = await api.call('/v2/user/search', { role: 'owner' }, token);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBeDefined();
  });
});
