/**
 * Login timing tells no names apart: an unknown name pays today's check (verifyNobody), and so does a
 * wrong password against a hash made with an older, cheaper cost, which otherwise answered in a fraction
 * of that time (users who had not logged in since a cost change could be listed). The dummy hash is made
 * when the service is, not by the first unknown name. A failed rehash leaves a right login standing.
 */
import argon2 from 'argon2';
import { startTestServer } from '../../../../test/support/test-server';
import { createAuthService } from './auth.service';
import { createPasswordHasher, type PasswordHasher } from './password-hash';

describe('login timing and rehash', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  // The test server hashes at m=1024, t=1: carol's hash is one of an older, cheaper cost than today's.
  const today = { passwordHashMemoryKib: 65536, passwordHashIterations: 3 };
  const deps = () => ({ ...server.deps, config: { ...server.deps.config, ...today } });
  let client = 0;
  // A fresh address per attempt: the failure throttle must not answer instead of the check.
  const login = (auth: ReturnType<typeof createAuthService>, name: string, password: string) => auth.login(name, password, `10.0.0.${++client}`);

  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
    const root = (await server.api.login('admin', 'admin-password-for-tests')).access_token;
    await server.api.ok('/v2/user/create', { user_name: 'carol', password: 'carol-password-1' }, root);
  });
  afterAll(() => server?.stop());

  /** The real hasher at today's cost, recording which checks a login ran. */
  function recording(fail: { hash?: boolean } = {}) {
    const real = createPasswordHasher(today);
    const calls: string[] = [];
    const hasher: PasswordHasher = {
      hash: async (p) => (calls.push('hash'), fail.hash ? Promise.reject(new Error('out of memory')) : real.hash(p)),
      verify: async (h, p) => (calls.push('verify'), real.verify(h, p)),
      verifyNobody: async (p) => (calls.push('verifyNobody'), real.verifyNobody(p)),
      prepareNobody: () => (calls.push('prepareNobody'), real.prepareNobody()),
      needsRehash: (h) => real.needsRehash(h),
    };
    return { hasher, calls };
  }

  it('makes the dummy hash when the service is made, not at the first unknown name', () => {
    const hash = jest.spyOn(argon2, 'hash');
    try {
      createAuthService(deps());
      expect(hash).toHaveBeenCalledTimes(1);
    } finally {
      hash.mockRestore();
    }
  });

  it('spends today\'s check on a wrong password against a hash of an older cost, and only then', async () => {
    const { hasher, calls } = recording();
    const auth = createAuthService(deps(), hasher);
    expect(calls.splice(0)).toEqual(['prepareNobody']);
    await expect(login(auth, 'carol', 'wrong')).rejects.toMatchObject({ code: 'InvalidParameter.Credentials' });
    expect(calls.splice(0)).toEqual(['verify', 'verifyNobody']);
    await expect(login(auth, 'nobody-here', 'wrong')).rejects.toMatchObject({ code: 'InvalidParameter.Credentials' });
    expect(calls.splice(0)).toEqual(['verifyNobody']);
  });

  it('a wrong password against an older cheaper hash takes at least about today\'s check', async () => {
    const auth = createAuthService(deps());
    const time = async (name: string) => {
      const started = performance.now();
      await login(auth, name, 'wrong').catch(() => undefined);
      return performance.now() - started;
    };
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    await time('nobody-here'); // the dummy is ready
    const unknown: number[] = [];
    const stale: number[] = [];
    for (let i = 0; i < 3; i++) {
      unknown.push(await time('nobody-here'));
      stale.push(await time('carol'));
    }
    // Without today's check the stale one took ~1/30 of the unknown one (m=1024, t=1 against m=65536, t=3).
    expect(median(stale)).toBeGreaterThan(0.5 * median(unknown));
  });

  it('a hash that fails during the rehash leaves a right login standing, the old hash kept', async () => {
    const { hasher, calls } = recording({ hash: true });
    const auth = createAuthService(deps(), hasher);
    calls.splice(0);
    const before = (await server.deps.db.query<{ password_hash: string }>(`SELECT password_hash FROM users WHERE user_name = 'carol'`))[0]!.password_hash;
    await expect(login(auth, 'carol', 'carol-password-1')).resolves.toMatchObject({ user_name: 'carol' });
    expect(calls).toEqual(['verify', 'hash']);
    expect((await server.deps.db.query(`SELECT password_hash FROM users WHERE user_name = 'carol'`))[0]).toEqual({ password_hash: before });
  });
});
