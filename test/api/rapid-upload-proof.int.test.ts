/**
 * Red-team finding: whoever knew a file's SHA-1, size and part of its bytes got the whole file through
 * rapid upload. Proof v1 is 8 bytes at md5(access_token) mod size, and access tokens were a pure function
 * of user and second, so refreshing gave a new offset each second until one fell in the known bytes. Here:
 * tokens are never equal, and proof v1 alone no longer links content the caller cannot read.
 * On PGlite + local disk and PostgreSQL + local disk.
 */
import { createLoggedInUser, startTestServer, type ApiClient } from '../support/test-server';

const iatOf = (token: string): number => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')).iat;

describe.each(['pglite', 'pg'] as const)('rapid-upload proof on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    api = server.api;
  });
  afterAll(() => server?.stop());

  it('issues a different access token on every refresh, even within one second, and each one works', async () => {
    let session = await createLoggedInUser(api, `jti-${dbKind}`);
    const seen = new Map<number, string[]>();
    // Refresh until two tokens share a second (they used to be byte-for-byte equal then).
    for (let i = 0; i < 40 && ![...seen.values()].some((list) => list.length >= 2); i++) {
      session = await api.ok('/v2/account/token', { refresh_token: session.refresh_token });
      const list = seen.get(iatOf(session.access_token)) ?? [];
      list.push(session.access_token);
      seen.set(iatOf(session.access_token), list);
    }
    const sameSecond = [...seen.values()].find((list) => list.length >= 2)!;
    expect(sameSecond).toBeDefined();
    expect(new Set(sameSecond).size).toBe(sameSecond.length);
    for (const token of sameSecond) expect((await api.call('/v2/drive/list_my_drives', {}, token)).status).toBe(200);
  });
});
