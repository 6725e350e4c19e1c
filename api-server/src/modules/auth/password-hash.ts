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

export function createPasswordHasher(config: Pick<Config, 'passwordHashMemoryKib' | 'passwordHashIterations'>): PasswordHasher {
  const options = { type: argon2.argon2id, memoryCost: config.passwordHashMemoryKib, timeCost: config.passwordHashIterations, parallelism: 4 } as const;
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
