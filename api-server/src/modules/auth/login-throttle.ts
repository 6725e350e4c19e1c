/**
 * Slows password guessing: after MAX_FAILURES failed attempts under one key within WINDOW_MS, further
 * attempts are refused (429) until the window has passed; a success clears the count. Keys are opaque:
 * the caller builds them from what it resolved (login: the user's id and the client address, so that every
 * spelling of a name counts against one user and nobody can lock the admin, whose password the operator
 * logs in with, out from somewhere else). No case folding here: JavaScript's toLowerCase and the database's
 * lower() disagree (İ), so a folded name could still differ from the user it logs in as. Per process:
 * several replicas each count on their own.
 */
export const MAX_FAILURES = 10;
export const WINDOW_MS = 15 * 60_000;

export interface LoginThrottle {
  /** Milliseconds until the key may try again, or 0. */
  blockedFor(key: string): number;
  failed(key: string): void;
  succeeded(key: string): void;
}

export function createLoginThrottle(now: () => number = Date.now): LoginThrottle {
  const failures = new Map<string, { count: number; since: number }>();
  const prune = () => {
    // Bounded memory: forget windows that are over whenever the map grows.
    if (failures.size < 10_000) return;
    for (const [k, v] of failures) if (now() - v.since > WINDOW_MS) failures.delete(k);
  };
  return {
    blockedFor(k) {
      const entry = failures.get(k);
      if (!entry || entry.count < MAX_FAILURES) return 0;
      const left = entry.since + WINDOW_MS - now();
      if (left <= 0) failures.delete(k);
      return Math.max(left, 0);
    },
    failed(k) {
      prune();
      const entry = failures.get(k);
      if (!entry || now() - entry.since > WINDOW_MS) failures.set(k, { count: 1, since: now() });
      else entry.count++;
    },
    succeeded(k) {
      failures.delete(k);
    },
  };
}
