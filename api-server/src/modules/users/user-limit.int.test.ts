import { DB_KINDS } from '../../../../test/support/test-db';
import { ADMIN_PASSWORD, startTestServer } from '../../../../test/support/test-server';

const MAX_USERS = 4;

describe.each(DB_KINDS)('OPENPDS_MAX_USERS on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let token: string;
  const count = async (table: 'users' | 'drives') => (await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n;
  const create = (name: string) => server.api.call('/v2/user/create', { user_name: name, password: `${name}-password` }, token);

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local', { OPENPDS_MAX_USERS: String(MAX_USERS) });
    token = (await server.api.login('admin', ADMIN_PASSWORD)).access_token;
  });
  afterAll(() => server?.stop());

  it('refuses the user past the limit (the superadmin counts) with 403 Forbidden.UserLimitExceeded and leaves nothing behind', async () => {
    expect((await create('u1')).status).toBe(201);
    expect((await create('u2')).status).toBe(201);
    expect((await create('u3')).status).toBe(201);
    const [users, drives] = [await count('users'), await count('drives')];
    expect(users).toBe(MAX_USERS);

    const refused = await create('u4');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'Forbidden.UserLimitExceeded', max_users: MAX_USERS, message: expect.stringContaining(`maximum of ${MAX_USERS} users`) });
    // No user, no default drive: the refusal rolled the whole create back.
    expect([await count('users'), await count('drives')]).toEqual([users, drives]);
    expect((await server.api.call('/v2/account/login', { username: 'u4', password: 'u4-password' })).status).toBe(401);

    // Deleting a user makes room for one more.
    const list = await server.api.ok('/v2/user/list', {}, token);
    const u3 = list.items.find((u: { user_name: string }) => u.user_name === 'u3');
    await server.api.ok('/v2/user/delete', { user_id: u3.user_id }, token);
    expect((await create('u4')).status).toBe(201);
    expect((await create('u5')).status).toBe(403);
  });

  it('lets concurrent creates through only up to the limit', async () => {
    const list = await server.api.ok('/v2/user/list', {}, token);
    for (const u of list.items.filter((u: { role: string }) => u.role !== 'superadmin')) await server.api.ok('/v2/user/delete', { user_id: u.user_id }, token);
    expect(await count('users')).toBe(1);

    // Without passwords, so no argon2 hashing staggers them: the creates meet in the database together.
    const racers = 20;
    const answers = await Promise.all(Array.from({ length: racers }, (_, i) => server.api.call('/v2/user/create', { user_name: `racer-${i}` }, token)));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(MAX_USERS - 1);
    expect(answers.filter((a) => a.status === 403 && a.body.code === 'Forbidden.UserLimitExceeded')).toHaveLength(racers - (MAX_USERS - 1));
    expect(await count('users')).toBe(MAX_USERS);
    expect(await count('drives')).toBe(MAX_USERS);
  });
});
