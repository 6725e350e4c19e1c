/**
 * A token is only as good as its user: once the user is deleted or disabled their access token is refused
 * at once (401 AccessTokenInvalid, not when it expires), as is their refresh token, and a role change
 * applies to the next call. Admins manage users, not other admins: only a superadmin sets an admin's
 * password, status or role or deletes them. On PGlite and on PostgreSQL.
 */
import { ADMIN_PASSWORD, startTestServer, type ApiClient } from '../support/test-server';

describe.each(['pglite', 'pg'] as const)('token revocation and admin protection on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let root: string;
  const createUser = async (name: string, role = 'user') => api.ok('/v2/user/create', { user_name: name, password: `${name}-password`, role }, root);
  const loginAs = (name: string) => api.login(name, `${name}-password`);

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    api = server.api;
    root = (await api.login('admin', ADMIN_PASSWORD)).access_token;
  });
  afterAll(() => server?.stop());

  it("refuses a deleted admin's access and refresh tokens at once, so she can neither reset passwords nor create users", async () => {
    const mallory = await createUser('mallory', 'admin');
    const victim = await createUser('victim', 'admin');
    const session = await loginAs('mallory');
    expect((await api.call('/v2/user/list', {}, session.access_token)).status).toBe(200);

    await api.ok('/v2/user/delete', { user_id: mallory.user_id }, root);
    const reset = await api.call('/v2/user/update', { user_id: victim.user_id, password: 'pwnedpass1' }, session.access_token);
    expect(reset).toMatchObject({ status: 401, body: { code: 'AccessTokenInvalid' } });
    expect((await api.call('/v2/account/login', { username: 'victim', password: 'pwnedpass1' })).status).toBe(401);
    expect((await api.call('/v2/user/create', { user_name: 'sleeper', password: 'sleeper-password' }, session.access_token)).status).toBe(401);
    expect((await api.call('/v2/drive/list_my_drives', {}, session.access_token)).status).toBe(401);
    expect((await api.call('/v2/account/token', { refresh_token: session.refresh_token })).status).toBe(401);
    expect((await api.call('/v2/account/login', { username: 'sleeper', password: 'sleeper-password' })).status).toBe(401);
  });

  it("refuses a disabled user's tokens at once (also for downloads), and lets them back in once enabled, with new tokens only", async () => {
    const dave = await createUser('dave', 'admin');
    const session = await loginAs('dave');
    await api.ok('/v2/user/update', { user_id: dave.user_id, status: 'disabled' }, root);
    expect(await api.call('/v2/user/list', {}, session.access_token)).toMatchObject({ status: 401, body: { code: 'AccessTokenInvalid' } });
    const download = await fetch(`${api.url}/v2/file/download?drive_id=${dave.default_drive_id}&file_id=nope`, { headers: { authorization: `Bearer ${session.access_token}` } });
    expect(download.status).toBe(401);
    expect((await api.call('/v2/account/token', { refresh_token: session.refresh_token })).status).toBeGreaterThanOrEqual(401);
    expect((await api.call('/v2/account/login', { username: 'dave', password: 'dave-password' })).body.code).toBe('Forbidden.UserDisabled');
    await api.ok('/v2/user/update', { user_id: dave.user_id, status: 'enabled' }, root);
    expect((await api.call('/v2/user/list', {}, (await loginAs('dave')).access_token)).status).toBe(200);
    // Re-enabling does not revive the tokens held when he was disabled.
    expect((await api.call('/v2/user/list', {}, session.access_token)).status).toBe(401);
  });

  it("ends a user's access tokens at once when an admin sets a new password (a stolen token dies with the old password)", async () => {
    const gina = await createUser('gina');
    const stolen = await loginAs('gina');
    const other = await loginAs('gina');
    await api.ok('/v2/user/update', { user_id: gina.user_id, password: 'gina-new-password' }, root);
    for (const session of [stolen, other]) {
      expect(await api.call('/v2/drive/list_my_drives', {}, session.access_token)).toMatchObject({ status: 401, body: { code: 'AccessTokenInvalid' } });
      expect((await api.call('/v2/account/token', { refresh_token: session.refresh_token })).status).toBe(401);
    }
    expect((await api.call('/v2/drive/list_my_drives', {}, (await api.login('gina', 'gina-new-password')).access_token)).status).toBe(200);
    // A profile change ends nothing.
    const current = await api.login('gina', 'gina-new-password');
    await api.ok('/v2/user/update', { user_id: gina.user_id, nick_name: 'Gina' }, root);
    expect((await api.call('/v2/drive/list_my_drives', {}, current.access_token)).status).toBe(200);
  });

  it('applies a role change to the next call: a demoted admin is a user at once, a promoted user an admin', async () => {
    const erin = await createUser('erin', 'admin');
    const frank = await createUser('frank');
    const erinSession = await loginAs('erin');
    const frankSession = await loginAs('frank');
    await api.ok('/v2/user/update', { user_id: erin.user_id, role: 'user' }, root);
    expect((await api.call('/v2/user/list', {}, erinSession.access_token)).status).toBe(403);
    expect((await api.call('/v2/user/create', { user_name: 'erins-friend', password: 'friend-password' }, erinSession.access_token)).status).toBe(403);
    expect((await api.call('/v2/user/update', { user_id: frank.user_id, password: 'pwnedpass1' }, erinSession.access_token)).status).toBe(403);
    await api.ok('/v2/user/update', { user_id: frank.user_id, role: 'admin' }, root);
    expect((await api.call('/v2/user/list', {}, frankSession.access_token)).status).toBe(200);
  });

  it("lets an admin manage users but not another admin or a superadmin: password, status, role, profile, deletion", async () => {
    const ops = await createUser('ops', 'admin');
    const peer = await createUser('peer', 'admin');
    const plain = await createUser('plain');
    const token = (await loginAs('ops')).access_token;
    const superadmin = (await api.ok('/v2/user/get', {}, root)).user_id;
    for (const target of [peer.user_id, superadmin]) {
      for (const change of [{ password: 'pwnedpass1' }, { status: 'disabled' }, { role: 'user' }, { nick_name: 'owned' }])
        expect(await api.call('/v2/user/update', { user_id: target, ...change }, token)).toMatchObject({ status: 403, body: { code: 'Forbidden.Role' } });
      expect((await api.call('/v2/user/delete', { user_id: target }, token)).body.code).toBe('Forbidden.Role');
    }
    expect((await api.call('/v2/user/update', { user_id: plain.user_id, role: 'superadmin' }, token)).body.code).toBe('Forbidden.Role');
    expect((await api.call('/v2/user/update', { user_id: ops.user_id, role: 'superadmin' }, token)).body.code).toBe('Forbidden.Role');
    expect((await api.call('/v2/account/login', { username: 'peer', password: 'pwnedpass1' })).status).toBe(401);
    expect((await api.call('/v2/account/login', { username: 'peer', password: 'peer-password' })).status).toBe(200);

    // Users are theirs to manage, password reset included (no old password needed).
    await api.ok('/v2/user/update', { user_id: plain.user_id, password: 'reset-by-ops' }, token);
    expect((await api.call('/v2/account/login', { username: 'plain', password: 'reset-by-ops' })).status).toBe(200);
    // A superadmin resets an admin's password without the old one.
    await api.ok('/v2/user/update', { user_id: peer.user_id, password: 'reset-by-root' }, root);
    expect((await api.call('/v2/account/login', { username: 'peer', password: 'reset-by-root' })).status).toBe(200);
    await api.ok('/v2/user/delete', { user_id: plain.user_id }, token);
    await api.ok('/v2/user/delete', { user_id: peer.user_id }, root);
  });
});
