/**
 * The domain keeps an enabled superadmin: demotes, disables and deletes of superadmins are decided under one
 * lock, so two superadmins demoting or deleting each other at once cannot both succeed (they did: both
 * counted the other), and the last enabled one cannot disable itself. The races run on PostgreSQL
 * (PGlite runs one transaction at a time); each round starts with exactly two enabled superadmins.
 */
import { DB_KINDS } from '../support/test-db';
import { ADMIN_PASSWORD, startTestServer, type ApiResponse } from '../support/test-server';

const RACE_ROUNDS = 18; // before the fix, PostgreSQL lost its last superadmin within the first 3 rounds
/** Which change each side makes (indexes into `changes`): the same one, then mixed. */
const PAIRS = [[0, 0], [2, 2], [1, 1], [0, 1], [1, 2], [2, 0]] as const;

describe.each(DB_KINDS)('the last enabled superadmin on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  const enabledSuperadmins = async () =>
    (await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE role = 'superadmin' AND status = 'enabled'`))[0]!.n;
  let serial = 0;
  /** A new superadmin made by `by`, logged in. */
  const newSuperadmin = async (byToken: string) => {
    const name = `sa${++serial}`;
    const user = await server.api.ok('/v2/user/create', { user_name: name, password: `${name}-password`, role: 'superadmin' }, byToken);
    return { id: user.user_id as string, token: (await server.api.login(name, `${name}-password`)).access_token };
  };
  const refused = (r: ApiResponse) => r.status === 403 && r.body.code === 'Forbidden.LastSuperadmin';

  beforeEach(async () => {
    server = await startTestServer(dbKind, 'local');
  });
  afterEach(() => server?.stop());

  it('refuses to demote, disable or delete the last enabled superadmin; a disabled one does not count', async () => {
    const root = await server.api.login('admin', ADMIN_PASSWORD);
    const self = { user_id: root.user_id };
    for (const change of [{ role: 'user' }, { role: 'admin' }, { status: 'disabled' }]) {
      const r = await server.api.call('/v2/user/update', { ...self, ...change }, root.access_token);
      expect([change, r.status, r.body.code]).toEqual([change, 403, 'Forbidden.LastSuperadmin']);
    }
    expect(refused(await server.api.call('/v2/user/delete', self, root.access_token))).toBe(true);
    // Allowed: a change that keeps it a superadmin and enabled.
    expect((await server.api.call('/v2/user/update', { ...self, role: 'superadmin', status: 'enabled', nick_name: 'root' }, root.access_token)).status).toBe(200);

    // A second superadmin, disabled, does not count: the first still cannot go.
    const other = await newSuperadmin(root.access_token);
    await server.api.ok('/v2/user/update', { user_id: other.id, status: 'disabled' }, root.access_token);
    expect(refused(await server.api.call('/v2/user/update', { ...self, status: 'disabled' }, root.access_token))).toBe(true);
    expect(refused(await server.api.call('/v2/user/update', { ...self, role: 'user' }, root.access_token))).toBe(true);
    // Enabled again, it does: now the first may disable itself, and the second is the last.
    await server.api.ok('/v2/user/update', { user_id: other.id, status: 'enabled' }, root.access_token);
    expect((await server.api.call('/v2/user/update', { ...self, status: 'disabled' }, root.access_token)).status).toBe(200);
    const otherToken = (await server.api.login(`sa${serial}`, `sa${serial}-password`)).access_token;
    expect(refused(await server.api.call('/v2/user/update', { user_id: other.id, status: 'disabled' }, otherToken))).toBe(true);
    expect(refused(await server.api.call('/v2/user/delete', { user_id: other.id }, otherToken))).toBe(true);
    // The disabled superadmin can be deleted: it was not the one keeping the domain managed.
    expect((await server.api.call('/v2/user/delete', self, otherToken)).status).toBe(204);
    expect(await enabledSuperadmins()).toBe(1);
  }, 120_000);

  it('two superadmins demoting, disabling or deleting each other at once: one wins, one stays', async () => {
    const root = await server.api.login('admin', ADMIN_PASSWORD);
    let a = { id: root.user_id, token: root.access_token };
    let b = await newSuperadmin(a.token);
    const changes = [
      (target: string) => ['/v2/user/update', { user_id: target, role: 'user' }] as const,
      (target: string) => ['/v2/user/update', { user_id: target, status: 'disabled' }] as const,
      (target: string) => ['/v2/user/delete', { user_id: target }] as const,
    ];
    let refusals = 0;
    for (let round = 0; round < RACE_ROUNDS; round++) {
      const [byAKind, byBKind] = PAIRS[round % PAIRS.length]!;
      const [ofA, ofB] = [changes[byAKind]!(b.id), changes[byBKind]!(a.id)];
      const [byA, byB] = await Promise.all([server.api.call(ofA[0], ofA[1], a.token), server.api.call(ofB[0], ofB[1], b.token)]);
      expect([round, await enabledSuperadmins()]).toEqual([round, 1]);
      // One succeeded; the other was refused: the last superadmin, or its caller was no longer one by the
      // time its call was checked (demoted: 403; disabled or deleted: 401).
      const won = [byA, byB].filter((r) => r.status < 300);
      expect([round, won.length]).toEqual([round, 1]);
      const lost = won[0] === byA ? byB : byA;
      expect([round, lost.status, lost.body.code]).toEqual([round, expect.any(Number), expect.stringMatching(/^Forbidden\.(LastSuperadmin|User)$|^AccessTokenInvalid$/)]);
      if (refused(lost)) refusals++;
      // The survivor makes the next pair: itself and a new superadmin (the loser, if it is still there, is
      // not one any more, or is disabled).
      const survivor = won[0] === byA ? a : b;
      [a, b] = [survivor, await newSuperadmin(survivor.token)];
    }
    // The calls met in the database (the lock decided), not one after the other at the door.
    if (dbKind === 'pg') expect(refusals).toBeGreaterThan(0);
  }, 120_000); // argon2: each round logs a new superadmin in
});
