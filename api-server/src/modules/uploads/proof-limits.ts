/**
 * Bounds on proof v2 (proof.ts). A challenge says the domain holds content with the hash asked about,
 * whole file included (a file that differs from a known one only in a secret, say a PIN, can be confirmed
 * guess by guess), and every answer, right or wrong, costs the server one read of the stored copy. So each
 * user gets a few challenges per window, counted in the database so that every API replica counts against
 * one limit (shared/attempt-limits.ts; beyond them, file/create just opens the normal upload, the answer a
 * client must handle anyway), and only a few answers are checked at once per process (a process's own
 * disk and network: the others wait their turn).
 */
import type { Queryable } from '../../db/db';
import { createAttemptLimit } from '../../shared/attempt-limits';

export interface ProofLimits {
  /** True, and counted, when `userId` may have one more challenge now. */
  takeChallenge(db: Queryable, userId: string): Promise<boolean>;
  /** Runs a proof check when one of the slots is free. */
  check<T>(fn: () => Promise<T>): Promise<T>;
}

export function createProofLimits(opts: { challengesPerWindow: number; windowMs: number; concurrentChecks: number; now?: () => Date }): ProofLimits {
  const challenges = createAttemptLimit({ limit: opts.challengesPerWindow, windowMs: opts.windowMs, now: opts.now ?? (() => new Date()) });
  let running = 0;
  const waiting: (() => void)[] = [];

  return {
    async takeChallenge(db, userId) {
      return (await challenges.take(db, `proof-challenge:${userId}`)) === 0;
    },
    async check(fn) {
      if (running >= opts.concurrentChecks) await new Promise<void>((resolve) => waiting.push(resolve));
      else running++;
      try {
        return await fn();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else running--;
      }
    },
  };
}
