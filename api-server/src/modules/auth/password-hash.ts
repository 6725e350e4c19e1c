/**
 * Password hashing: argon2id with the cost the configuration sets (OPENPDS_PASSWORD_HASH_MEMORY_KIB and
 * OPENPDS_PASSWORD_HASH_ITERATIONS). A stored hash names the cost it was made with, so a hash made under an
 * earlier setting still verifies; a login that verifies one made with another cost stores it again with
 * today's (`needsRehash`), so raising the cost reaches every active user without a password reset.
 */
import argon2 from 'argon2';
import type { Config } from '../../config/config';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** True when `password` matches `hash`; a malformed stored hash is a mismatch, not an error. */
  verify(hash: string, password: string): Promise<boolean>;
  /** Spends a verification's time on no user, so an unknown name answers as slowly as a wrong password. */
  verifyNobody(password: string): Promise<void>;
  /**
   * Makes verifyNobody's hash now, in the background (argon2 runs on libuv's pool): made on first use,
   * the first unknown name of a process paid a hash and a verification, and stood out.
   */
  prepareNobody(): void;
  /** Whether a hash that just verified was made with another cost than today's. */
  needsRehash(hash: string): boolean;
}

/**
 * One lane, one thread per hash (argon2's parallelism; earlier versions used 4). With 4, each hash ran 4
 * threads: the 2 checks the login slots allow (password-check-slots.ts) kept 8 threads busy, and on a
 * 2-core machine (or a pod's CPU limit) the event loop got a fraction of a core. A 40-login storm then
 * slowed a 1 MiB download to 2–5 s and the busy answers to 1–2 s; with 1, 0.2–0.5 s (test/api/
 * login-storm.int.test.ts). The work, and so what a stolen hash costs to crack, is the same: the memory and
 * passes make it. What it costs: a single login on an idle multi-core server takes longer, the lanes no
 * longer run side by side (measured ~240 ms against ~150 ms on 2 idle cores; more where 4 cores are free). Hashes made with 4 still verify (the parameters
 * are in the hash) and are stored again with 1 at their user's next login, like any cost change: until
 * then a wrong password for such a user pays two checks (see auth.service.ts).
 */
const PARALLELISM = 1;

export function createPasswordHasher(config: Pick<Config, 'passwordHashMemoryKib' | 'passwordHashIterations'>): PasswordHasher {
  const options = { type: argon2.argon2id, memoryCost: config.passwordHashMemoryKib, timeCost: config.passwordHashIterations, parallelism: PARALLELISM } as const;
  // Made with today's cost, so the dummy check costs what a real one does: by prepareNobody, or on first use.
  let dummy: Promise<string> | undefined;
  const nobody = () => {
    // A failed hash (out of memory) is made again by the next call, not kept.
    dummy ??= argon2.hash('openpds-no-such-user', options).catch((err: unknown) => {
      dummy = undefined;
      throw err;
    });
    return dummy;
  };
  const verify = async (hash: string, password: string) => {
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false;
    }
  };
  return {
    hash: (password) => argon2.hash(password, options),
    verify,
    async verifyNobody(password) {
      await verify(await nobody(), password);
    },
    prepareNobody() {
      nobody().catch(() => undefined);
    },
    needsRehash: (hash) => {
      try {
        return argon2.needsRehash(hash, options);
      } catch {
        return false;
      }
    },
  };
}
