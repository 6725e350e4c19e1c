/**
 * A User object carries created_at and updated_at as integer milliseconds since the epoch, as PDS's
 * components.schemas.User (int64) has them: its Go SDK (CreatedAt *int64) could not decode the ISO strings
 * OpenPDS answered (red team, repro-user-timestamps). Every call that answers a user. On PGlite and on
 * PostgreSQL.
 */
import { ADMIN_PASSWORD, startTestServer, type ApiClient } from '../support/test-server';

describe.each(['pglite', 'pg'] as const)('user timestamps on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let token: string;
  let startedAt: number;

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    api = server.api;
    token = (await api.login('admin', ADMIN_PASSWORD)).access_token;
    startedAt = Date.now();
  });
  afterAll(() => server?.stop());

  /** An int64 a strict decoder takes, and a plausible instant (not seconds, not an ISO string). */
  const expectEpochMs = (value: unknown, notBefore: number) => {
    expect(Number.isSafeInteger(value)).toBe(true);
    expect(value as number).toBeGreaterThanOrEqual(notBefore - 1000); // the database's clock, ms-rounded
    expect(value as number).toBeLessThanOrEqual(Date.now() + 1000);
  };

  it('answers integer epoch milliseconds from user/create, get, list, search and update', async () => {
    const created = await api.ok('/v2/user/create', { user_name: 'stamped', email: 'stamped@example.com' }, token);
    expectEpochMs(created.created_at, startedAt);
    expectEpochMs(created.updated_at, startedAt);

    const got = await api.ok('/v2/user/get', { user_id: created.user_id }, token);
    expect([got.created_at, got.updated_at]).toEqual([created.created_at, created.updated_at]);
    const self = await api.ok('/v2/user/get', {}, token);
    expectEpochMs(self.created_at, 0);

    const listed = await api.ok('/v2/user/list', {}, token);
    for (const u of listed.items) [u.created_at, u.updated_at].forEach((v) => expect(Number.isSafeInteger(v)).toBe(true));
    const found = await api.ok('/v2/user/search', { email: 'stamped@example.com' }, token);
    expect(found.items.map((u: { created_at: unknown }) => u.created_at)).toEqual([created.created_at]);

    await new Promise((r) => setTimeout(r, 5));
    const updated = await api.ok('/v2/user/update', { user_id: created.user_id, nick_name: 'Stamped' }, token);
    expect(updated.created_at).toBe(created.created_at);
    expectEpochMs(updated.updated_at, startedAt);
    expect(updated.updated_at).toBeGreaterThan(created.updated_at);
  });
});
