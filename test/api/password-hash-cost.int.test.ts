/**
 * The password hash cost is configuration (OPENPDS_PASSWORD_HASH_MEMORY_KIB / _ITERATIONS): the default is
 * argon2id at 64 MiB and 3 iterations, hashes made with an earlier cost still verify, and a login with one
 * stores it again with today's cost without ending the user's sessions. The rest of the suite runs at the
 * cheapest cost (test/support/test-server.ts), which is what makes this the one place the default is used.
 */
import { rmSync } from 'node:fs';
import { startServer, type RunningServer } from '../../api-server/src/main';
import { ADMIN_PASSWORD, createApiClient, testServerEnv } from '../support/test-server';

describe('password hash cost', () => {
  let env: Record<string, string>;
  let dataDir: string;
  let server: RunningServer | undefined;

  const start = async (cost: { OPENPDS_PASSWORD_HASH_MEMORY_KIB?: string; OPENPDS_PASSWORD_HASH_ITERATIONS?: string }) => {
    await server?.close();
    const { OPENPDS_PASSWORD_HASH_MEMORY_KIB: _m, OPENPDS_PASSWORD_HASH_ITERATIONS: _t, ...rest } = env;
    server = await startServer({ ...rest, ...cost });
    return { api: createApiClient(server.url), hashOf: async (name: string) => (await server!.deps.db.query<{ password_hash: string }>(`SELECT password_hash FROM users WHERE user_name = $1`, [name]))[0]!.password_hash };
  };

  beforeAll(async () => {
    ({ env, dataDir } = await testServerEnv('pglite', 'local'));
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('hashes with argon2id at 64 MiB and 3 iterations by default', async () => {
    const { api, hashOf } = await start({});
    const root = (await api.login('admin', ADMIN_PASSWORD)).access_token;
    await api.ok('/v2/user/create', { user_name: 'carol', password: 'carol-password-1' }, root);
    expect(await hashOf('admin')).toMatch(/^\$argon2id\$v=19\$m=65536,p=1,t=3\$/);
    expect(await hashOf('carol')).toMatch(/^\$argon2id\$v=19\$m=65536,p=1,t=3\$/);
  });

  it('verifies a hash of an earlier cost, and stores it again with today\'s at login, sessions kept', async () => {
    // Logged in (and a refresh token issued) while the hash has the default cost.
    let { api, hashOf } = await start({});
    const before = await api.login('carol', 'carol-password-1');
    const defaultHash = await hashOf('carol');

    ({ api, hashOf } = await start({ OPENPDS_PASSWORD_HASH_MEMORY_KIB: '19456', OPENPDS_PASSWORD_HASH_ITERATIONS: '2' }));
    // A wrong password changes nothing.
    expect((await api.call('/v2/account/login', { username: 'carol', password: 'wrong' })).status).toBe(401);
    expect(await hashOf('carol')).toBe(defaultHash);
    const after = await api.login('carol', 'carol-password-1');
    expect(await hashOf('carol')).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    // Nothing the user knows changed: the sessions from before the rehash go on.
    expect((await api.call('/v2/user/get', { user_id: before.user_id }, before.access_token)).status).toBe(200);
    expect((await api.call('/v2/account/token', { refresh_token: before.refresh_token, grant_type: 'refresh_token' })).status).toBe(200);
    // The new hash verifies, and is not made again at the next login.
    const rehashed = await hashOf('carol');
    await api.login('carol', 'carol-password-1');
    expect(await hashOf('carol')).toBe(rehashed);
    expect(after.user_id).toBe(before.user_id);
  });

  it('answers 401, not 500, for a stored hash it cannot read', async () => {
    const { api } = await start({});
    await server!.deps.db.query(`UPDATE users SET password_hash = 'not-an-argon2-hash' WHERE user_name = 'carol'`);
    const res = await api.call('/v2/account/login', { username: 'carol', password: 'carol-password-1' });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('InvalidParameter.Credentials');
  });
});
