/**
 * Slows password guessing: after MAX_FAILURES failed logins for one user name from one client address
 * within WINDOW_MS, further attempts from there are refused (429) until the window has passed; a success
 * clears the count. Keyed by name *and* address so that nobody can lock the admin (whose password the
 * operator logs in with) out from somewhere else. Per process: several replicas each count on their own.
 */
export const MAX_FAILURES = 10;
export const WINDOW_MS = 15 * 60_000;

export interface LoginThrottle {
  /** Milliseconds until the name may try again, or 0. */
  blockedFor(key: string): number;
  failed(key: string): void;
  succeeded(key: string): void;
}

export function createLoginThrottle(now: () => number = Date.now): LoginThrottle {
  const failures = new Map<string, { count: number; since: number }>();
  const key = (k: string) => k.toLowerCase();
  const prune = () => {
    // Bounded memory: forget windows that are over whenever the map grows.
    if (failures.size < 10_000) return;
    for (const [k, v] of failures) if (now() - v.since > WINDOW_MS) failures.delete(k);
  };
  return {
    blockedFor(k) {
      const entry = failures.get(key(k));
      if (!entry || entry.count < MAX_FAILURES) return 0;
      const left = entry.since + WINDOW_MS - now();
      if (left <= 0) failures.delete(key(k));
      return Math.max(left, 0);
    },
    failed(k) {
      prune();
      const entry = failures.get(key(k));
      if (!entry || now() - entry.since > WINDOW_MS) failures.set(key(k), { count: 1, since: now() });
      else entry.count++;
    },
    succeeded(k) {
      failures.delete(key(k));
    },
  };
}
