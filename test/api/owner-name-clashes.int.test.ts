/**
 * User ids, user names and group owners name one owner each (review16 items 1 and 2): a user whose id is a
 * group's owner id got that group's drives, and a user id equal to another user's name made user/get and
 * the operator's findUser (id first) answer the wrong user. Now a group owner that is a user id, a user id
 * that is a group owner or another user's name, and a user name that is another user's id are 409
 * AlreadyExist.User, also when the two creates race; and a drive a user reaches as its owner is one owned
 * as a user, so a clash left by older data gives nothing away. On PGlite and on PostgreSQL.
 */
import { ADMIN_PASSWORD, startTestServer, type ApiClient, type ApiResponse } from '../support/test-server';

const ROUNDS = 4;

describe.each(['pglite', 'pg'] as const)('owner name clashes on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    api = server.api;
    token = (await api.login('admin', ADMIN_PASSWORD)).access_token;
  });
  afterAll(() => server?.stop());

  const expect409 = (r: ApiResponse, message: RegExp) => {
    expect([r.status, r.body.code]).toEqual([409, 'AlreadyExist.User']);
    expect(r.body.message).toMatch(message);
  };

  it('refuses a group owner that is a user id, and leaves the user only their own drives', async () => {
    await api.ok('/v2/user/create', { user_id: 'sales', user_name: 'sales-person', password: 'sales-password' }, token);
    const group = await api.call('/v2/drive/create', { drive_name: 'Sales team', owner: 'sales', owner_type: 'group' }, token);
    expect409(group, /sales is a user id/);
    // Another case is another owner id (ids are case-sensitive): allowed, and not the user's.
    const other = await api.ok('/v2/drive/create', { drive_name: 'Sales team', owner: 'SALES', owner_type: 'group' }, token);
    const person = await api.login('sales-person', 'sales-password');
    const mine = await api.ok('/v2/drive/list_my_drives', {}, person.access_token);
    expect(mine.items.map((d: { drive_name: string }) => d.drive_name)).toEqual(['Default']);
    expect((await api.call('/v2/drive/get', { drive_id: other.drive_id }, person.access_token)).status).toBe(404);
  });

  it('gives a user no group drive whose owner id is theirs (data made before the clash was refused)', async () => {
    const user = await api.ok('/v2/user/create', { user_id: 'legacy', user_name: 'legacy-person', password: 'legacy-password' }, token);
    const group = await api.ok('/v2/drive/create', { drive_name: 'Legacy team', owner: 'legacy-team', owner_type: 'group' }, token);
    await api.ok('/v2/file/create', { drive_id: group.drive_id, parent_file_id: 'root', name: 'team-folder', type: 'folder' }, token);
    await server.deps.db.query(`UPDATE drives SET owner_id = 'legacy' WHERE drive_id = $1`, [group.drive_id]);
    const person = (await api.login('legacy-person', 'legacy-password')).access_token;

    for (const path of ['/v2/drive/list_my_drives', '/v2/drive/list']) {
      expect((await api.ok(path, {}, person)).items.map((d: { drive_id: string }) => d.drive_id)).toEqual([user.default_drive_id]);
    }
    expect((await api.ok('/v2/drive/get_default_drive', {}, person)).drive_id).toBe(user.default_drive_id);
    // The service's check (drive/get, file/list) and the one-statement SQL paths (file/create's fast path).
    for (const [path, body] of [
      ['/v2/drive/get', { drive_id: group.drive_id }],
      ['/v2/file/list', { drive_id: group.drive_id, parent_file_id: 'root' }],
      ['/v2/file/create', { drive_id: group.drive_id, parent_file_id: 'root', name: 'planted', type: 'folder' }],
      ['/v2/file/create', { drive_id: group.drive_id, parent_file_id: 'root', name: 'planted.txt', type: 'file', size: 3 }],
    ] as const) {
      const r = await api.call(path, body, person);
      expect([path, r.status]).toEqual([path, 404]);
    }
    // The admin's owner filter still finds both kinds (the operator lists a group's drives by its name).
    const byOwner = await api.ok('/v2/drive/list', { owner: 'legacy' }, token);
    expect(byOwner.items.map((d: { owner_type: string }) => d.owner_type).sort()).toEqual(['group', 'user']);
  });

  it('lets exactly one of a user create and a group drive create of one id through, whichever wins', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const id = `race-group-${i}`;
      const [user, group] = await Promise.all([
        api.call('/v2/user/create', { user_id: id, user_name: `${id}-person` }, token),
        api.call('/v2/drive/create', { drive_name: 'team', owner: id, owner_type: 'group' }, token),
      ]);
      expect([user.status, group.status].sort()).toEqual([201, 409]);
      for (const r of [user, group]) if (r.status === 409) expect(r.body.code).toBe('AlreadyExist.User');
    }
  });

  it('refuses a user id that is another user\'s name, in any case; user/get keeps naming the one user', async () => {
    const alice = await api.ok('/v2/user/create', { user_name: 'alice' }, token);
    for (const id of ['alice', 'ALICE']) expect409(await api.call('/v2/user/create', { user_id: id, user_name: 'mallory' }, token), new RegExp(`user id ${id} is the user name of another user \\(${alice.user_id}\\)`));
    expect((await api.call('/v2/user/get', { user_id: 'alice' }, token)).status).toBe(404);
    expect((await api.ok('/v2/user/search', { user_name: 'mallory' }, token)).items).toEqual([]);
  });

  it('refuses a user name that is another user\'s id, in any case, with a generated or a given id', async () => {
    await api.ok('/v2/user/create', { user_id: 'crm-7', user_name: 'carol' }, token);
    expect409(await api.call('/v2/user/create', { user_name: 'crm-7' }, token), /user name crm-7 is the user id of another user \(crm-7\)/);
    expect409(await api.call('/v2/user/create', { user_id: 'crm-8', user_name: 'CRM-7' }, token), /user name CRM-7 is the user id of another user/);
    // Its own id is no clash (the name defaults to it).
    expect((await api.call('/v2/user/create', { user_id: 'Dave-1', user_name: 'dave-1' }, token)).status).toBe(201);
  });

  it('lets exactly one of two creates through when one\'s id is the other\'s name', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const id = `race-name-${i}`;
      const [byId, byName] = await Promise.all([
        api.call('/v2/user/create', { user_id: id, user_name: `${id}-x` }, token),
        api.call('/v2/user/create', { user_name: id.toUpperCase() }, token),
      ]);
      expect([byId.status, byName.status].sort()).toEqual([201, 409]);
      for (const r of [byId, byName]) if (r.status === 409) expect(r.body.code).toBe('AlreadyExist.User');
    }
  });

  it('lets exactly one of two crossed creates through (each one\'s id the other\'s name), without a deadlock', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const [a, b] = [`cross-a-${i}`, `cross-b-${i}`];
      const results = await Promise.all([
        api.call('/v2/user/create', { user_id: a, user_name: b }, token),
        api.call('/v2/user/create', { user_id: b, user_name: a }, token),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    }
  });
});
