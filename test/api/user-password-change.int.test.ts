/**
 * Changing your own password takes the current one (old_password): an access token alone cannot take
 * the account over. Missing → 400 InvalidParameter.OldPassword, wrong → 403 Forbidden.OldPasswordMismatch,
 * and wrong guesses are throttled (429 TooManyRequests.PasswordChange). On PGlite and on PostgreSQL.
 */
import { MAX_FAILURES } from '../../api-server/src/modules/auth/login-throttle';
import { createLoggedInUser, startTestServer, type ApiClient } from '../support/test-server';

describe.each(['pglite', 'pg'] as const)('self-service password change on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  const change = (token: string, userId: string, body: Record<string, unknown>) => api.call('/v2/user/update', { user_id: userId, ...body }, token);

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    api = server.api;
  });
  afterAll(() => server?.stop());

  it('refuses a change without the old password or with a wrong one, and keeps the password', async () => {
    const alice = await createLoggedInUser(api, 'alice');
    expect(await change(alice.access_token, alice.user_id, { password: 'pwnedpass1' })).toMatchObject({ status: 400, body: { code: 'InvalidParameter.OldPassword' } });
    expect(await change(alice.access_token, alice.user_id, { password: 'pwnedpass1', old_password: 'guess-1' })).toMatchObject({ status: 403, body: { code: 'Forbidden.OldPasswordMismatch' } });
    expect((await api.call('/v2/account/login', { username: 'alice', password: 'pwnedpass1' })).status).toBe(401);
    // The owner's session still works: nothing was changed, no session ended.
    expect((await api.call('/v2/account/token', { refresh_token: alice.refresh_token })).status).toBe(200);
  });

  it('changes the password given the right old one', async () => {
    const bob = await createLoggedInUser(api, 'bob');
    expect((await change(bob.access_token, bob.user_id, { password: 'bobs-new-password', old_password: 'bob-password' })).status).toBe(200);
    expect((await api.call('/v2/account/login', { username: 'bob', password: 'bob-password' })).status).toBe(401);
    const again = await api.login('bob', 'bobs-new-password');
    // The change ended every session, the one that made it too: its client logs in again.
    expect(await api.call('/v2/user/get', {}, bob.access_token)).toMatchObject({ status: 401, body: { code: 'AccessTokenInvalid' } });
    // The profile alone needs no password.
    expect((await change(again.access_token, bob.user_id, { nick_name: 'Bobby' })).body.nick_name).toBe('Bobby');
  });

  it('throttles old-password guessing, even for the right one, until the window passes', async () => {
    const carol = await createLoggedInUser(api, 'carol');
    for (let i = 0; i < MAX_FAILURES; i++) expect((await change(carol.access_token, carol.user_id, { password: 'pwnedpass1', old_password: `guess-${i}` })).status).toBe(403);
    const blocked = await change(carol.access_token, carol.user_id, { password: 'pwnedpass1', old_password: 'carol-password' });
    expect(blocked).toMatchObject({ status: 429, body: { code: 'TooManyRequests.PasswordChange' } });
    expect((await api.call('/v2/account/login', { username: 'carol', password: 'carol-password' })).status).toBe(200);
  });

  it('also asks a superadmin changing their own password for the old one', async () => {
    const admin = await api.login('admin', 'admin-password-for-tests');
    expect((await change(admin.access_token, admin.user_id, { password: 'pwnedpass1' })).status).toBe(400);
  });
});
