/**
 * user/create takes a caller-given user_id, as PDS CreateUser does (a customer keeps its CRM's ids), and a
 * body with only user_id (user_name defaults to it). Every call that takes a user id works with such an id;
 * a taken id is 409 AlreadyExist.User, also when two creates race; a bad one is 400 InvalidParameter.UserId.
 * Red team: repro-user-id-ignored. On PGlite and on PostgreSQL.
 */
import { ADMIN_PASSWORD, startTestServer, type ApiClient } from '../support/test-server';

describe.each(['pglite', 'pg'] as const)('caller-given user ids on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    api = server.api;
    token = (await api.login('admin', ADMIN_PASSWORD)).access_token;
  });
  afterAll(() => server?.stop());

  it('keeps the given id, and every call that takes a user id works with it', async () => {
    const id = 'crm.42@Acme-x_1';
    const created = await api.call('/v2/user/create', { user_id: id, user_name: 'crm-user', password: 'crm-user-password' }, token);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ user_id: id, user_name: 'crm-user' });

    expect(await api.ok('/v2/user/get', { user_id: id }, token)).toMatchObject({ user_id: id, default_drive_id: created.body.default_drive_id });
    expect(await api.ok('/v2/user/update', { user_id: id, nick_name: 'Ported' }, token)).toMatchObject({ user_id: id, nick_name: 'Ported' });
    expect((await api.ok('/v2/user/search', { user_name: 'CRM-USER' }, token)).items.map((u: { user_id: string }) => u.user_id)).toEqual([id]);
    expect((await api.ok('/v2/user/list', {}, token)).items.map((u: { user_id: string }) => u.user_id)).toContain(id);

    const drive = await api.call('/v2/drive/create', { drive_name: 'second', owner: id, owner_type: 'user' }, token);
    expect(drive.status).toBe(201);
    expect((await api.ok('/v2/drive/list', { owner: id }, token)).items).toHaveLength(2);

    const login = await api.login('crm-user', 'crm-user-password');
    expect(login.user_id).toBe(id);
    expect(await api.ok('/v2/user/get', {}, login.access_token)).toMatchObject({ user_id: id });

    expect((await api.call('/v2/user/delete', { user_id: id }, token)).status).toBe(204);
    expect((await api.call('/v2/user/get', { user_id: id }, token)).status).toBe(404);
  });

  it('takes a body with only user_id: the user name (and nick name) is the id', async () => {
    const created = await api.call('/v2/user/create', { user_id: 'only-id' }, token);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ user_id: 'only-id', user_name: 'only-id', nick_name: 'only-id' });
  });

  it('still generates the id when none is given', async () => {
    const created = await api.ok('/v2/user/create', { user_name: 'generated' }, token);
    expect(created.user_id).toMatch(/^[0-9a-f]{26}$/);
  });

  it('answers 409 AlreadyExist.User for a taken id, and for a default user name taken in another case', async () => {
    await api.ok('/v2/user/create', { user_id: 'taken', user_name: 'first-taker' }, token);
    const again = await api.call('/v2/user/create', { user_id: 'taken', user_name: 'second-taker' }, token);
    expect([again.status, again.body.code]).toEqual([409, 'AlreadyExist.User']);
    // A different id (ids are case-sensitive), but its default name is "taken"'s name in another case.
    await api.ok('/v2/user/create', { user_id: 'Named', user_name: 'named' }, token);
    const sameName = await api.call('/v2/user/create', { user_id: 'NAMED' }, token);
    expect([sameName.status, sameName.body.code]).toEqual([409, 'AlreadyExist.User']);
    expect((await api.ok('/v2/user/search', { user_name: 'second-taker' }, token)).items).toEqual([]);
  });

  it('lets exactly one of concurrent creates of one id through', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => api.call('/v2/user/create', { user_id: 'raced', user_name: `racer-${i}` }, token)));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    for (const r of results.filter((r) => r.status === 409)) expect(r.body.code).toBe('AlreadyExist.User');
    const users = (await api.ok('/v2/user/list', {}, token)).items.filter((u: { user_id: string }) => u.user_id === 'raced');
    expect(users).toHaveLength(1);
    expect((await api.ok('/v2/drive/list', { owner: 'raced' }, token)).items).toHaveLength(1);
  });

  it('refuses an id that names a group owning drives (drives know their owner by id alone)', async () => {
    await api.ok('/v2/drive/create', { drive_name: 'team', owner: 'sales', owner_type: 'group' }, token);
    const created = await api.call('/v2/user/create', { user_id: 'sales', user_name: 'sales-person' }, token);
    expect([created.status, created.body.code]).toEqual([409, 'AlreadyExist.User']);
  });

  it('ends the access tokens of a deleted user whose id is given to a new one', async () => {
    await api.ok('/v2/user/create', { user_id: 'reused', password: 'reused-password' }, token);
    const old = await api.login('reused', 'reused-password');
    await api.ok('/v2/user/delete', { user_id: 'reused' }, token);
    await api.ok('/v2/user/create', { user_id: 'reused', password: 'reused-password' }, token);
    const stale = await api.call('/v2/user/get', {}, old.access_token);
    expect([stale.status, stale.body.code]).toEqual([401, 'AccessTokenInvalid']);
    const fresh = await api.login('reused', 'reused-password');
    expect((await api.call('/v2/user/get', {}, fresh.access_token)).status).toBe(200);
  });

  it.each([
    ['a space', 'has space'],
    ['a slash', 'a/b'],
    ['an empty id', ''],
    ['65 characters', 'x'.repeat(65)],
    ['non-ASCII letters', 'ünï'],
    ['a number', 42],
  ])('refuses %s with 400 InvalidParameter.UserId', async (_what, userId) => {
    const r = await api.call('/v2/user/create', { user_id: userId, user_name: 'never-made' }, token);
    expect([r.status, r.body.code]).toEqual([400, 'InvalidParameter.UserId']);
  });

  it('refuses a body with neither user_id nor user_name with 400 InvalidParameter.UserName', async () => {
    const r = await api.call('/v2/user/create', { nick_name: 'nobody' }, token);
    expect([r.status, r.body.code]).toEqual([400, 'InvalidParameter.UserName']);
  });

  it('documents user_id in the OpenAPI body of user/create, user_name optional', async () => {
    const doc = (await (await fetch(`${server.url}/v2/openapi.json`)).json()) as { paths: Record<string, any> };
    const schema = doc.paths['/v2/user/create'].post.requestBody.content['application/json'].schema;
    expect(schema.properties.user_id).toMatchObject({ type: 'string', minLength: 1, maxLength: 64 });
    expect(schema.required ?? []).not.toContain('user_name');
  });
});
