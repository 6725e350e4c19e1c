/**
 * Password changes and resets, and user creation with a password, take the password-check slots logins
 * take (password-check-slots.ts): their argon2 hashes ran outside them (red team), so a storm of resets or
 * changes starved libuv's threads as login storms did before the slots. With every slot held and the queue
 * full they answer 503 ServiceUnavailable.Busy with Retry-After at once and change nothing; a refused own
 * change counts no wrong old password.
 */
import { CHECKS_AT_ONCE, CHECKS_WAITING } from '../../api-server/src/modules/auth/password-check-slots';
import { ADMIN_PASSWORD, createLoggedInUser, startTestServer, type ApiClient } from '../support/test-server';

describe('password changes in the password-check slots (pglite + local)', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;

  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
    api = server.api;
  });
  afterAll(() => server?.stop());

  /** Takes every slot and every place in the queue until the returned function is called. */
  const fillSlots = () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held = Array.from({ length: CHECKS_AT_ONCE + CHECKS_WAITING }, () => server.deps.passwordChecks!.run(() => gate));
    return async () => {
      release();
      await Promise.all(held);
    };
  };
  const expectBusy = (r: { status: number; body: Record<string, unknown> }) =>
    expect({ status: r.status, code: r.body.code }).toEqual({ status: 503, code: 'ServiceUnavailable.Busy' });

  it('answers an admin reset, an own change and a user creation 503 Busy while the slots are full, and changes nothing', async () => {
    const admin = await api.login('admin', ADMIN_PASSWORD);
    const dave = await createLoggedInUser(api, 'dave');
    const release = fillSlots();
    try {
      expectBusy(await api.call('/v2/user/update', { user_id: dave.user_id, password: 'reset-by-admin' }, admin.access_token));
      expectBusy(await api.call('/v2/user/update', { user_id: dave.user_id, password: 'changed-by-dave', old_password: 'dave-password' }, dave.access_token));
      expectBusy(await api.call('/v2/user/create', { user_name: 'erin', password: 'erin-password' }, admin.access_token));
      // Retry-After, as a login refused the same way.
      const raw = await fetch(`${api.url}/v2/user/update`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.access_token}` },
        body: JSON.stringify({ user_id: dave.user_id, password: 'reset-by-admin' }),
      });
      expect([raw.status, raw.headers.get('retry-after')]).toEqual([503, '1']);
    } finally {
      await release();
    }
    // Nothing changed: dave's password and sessions stand, erin does not exist.
    expect((await api.call('/v2/user/get', {}, dave.access_token)).status).toBe(200);
    expect((await api.call('/v2/account/login', { username: 'erin', password: 'erin-password' })).status).toBe(401);
    // Slots free again: the own change goes through, and the refused one did not count as a wrong guess.
    await api.ok('/v2/user/update', { user_id: dave.user_id, password: 'changed-by-dave', old_password: 'dave-password' }, dave.access_token);
    expect((await api.call('/v2/account/login', { username: 'dave', password: 'changed-by-dave' })).status).toBe(200);
    await api.ok('/v2/user/update', { user_id: dave.user_id, password: 'reset-by-admin' }, admin.access_token);
    expect((await api.call('/v2/account/login', { username: 'dave', password: 'reset-by-admin' })).status).toBe(200);
  });

  it('refunds the old-password attempt a Busy refusal took: the throttle counts checked guesses only', async () => {
    const frank = await createLoggedInUser(api, 'frank');
    const release = fillSlots();
    try {
      // Far more refusals than the throttle allows wrong guesses (login-throttle.ts MAX_FAILURES).
      for (let i = 0; i < 12; i++) expectBusy(await api.call('/v2/user/update', { user_id: frank.user_id, password: 'franks-new-password', old_password: 'frank-password' }, frank.access_token));
    } finally {
      await release();
    }
    await api.ok('/v2/user/update', { user_id: frank.user_id, password: 'franks-new-password', old_password: 'frank-password' }, frank.access_token);
  });
});
