/**
 * Bounds on proof v2 (proof.ts), per process. A challenge says the domain holds content with the hash
 * asked about, whole file included (a file that differs from a known one only in a secret, say a PIN, can be
 * confirmed guess by guess), and every answer, right or wrong, costs the server one read of the stored
 * copy. So each user gets a few challenges per window (beyond them, file/create just opens the normal
 * upload, the answer a client must handle anyway), and only a few answers are checked at once (the
 * others wait their turn). API replicas count separately.
 */
export interface ProofLimits {
  /** True, and counted, when `userId` may have one more challenge now. */
  takeChallenge(userId: string): boolean;
  /** Runs a proof check when one of the slots is free. */
  check<T>(fn: () => Promise<T>): Promise<T>;
}

export function createProofLimits(opts: { challengesPerWindow: number; windowMs: number; concurrentChecks: number; now?: () => number }): ProofLimits {
  const now = opts.now ?? Date.now;
  const issued = new Map<string, number[]>();
  let running = 0;
  const waiting: (() => void)[] = [];

  function prune(at: number) {
    // Forget users with nothing inside the window, so the map stays as small as the active users.
    for (const [user, times] of issued) if (times[times.length - 1]! <= at - opts.windowMs) issued.delete(user);
  }

  return {
    takeChallenge(userId) {
      const at = now();
      if (issued.size > 10_000) prune(at);
      const times = (issued.get(userId) ?? []).filter((t) => t > at - opts.windowMs);
      if (times.length >= opts.challengesPerWindow) {
        issued.set(userId, times);
        return false;
      }
      times.push(at);
      issued.set(userId, times);
      return true;
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
