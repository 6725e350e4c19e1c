/**
 * Attempt limits kept in the database (migration 014), so every API replica on it counts against one limit
 * and a restart forgets nothing. An attempt is counted before the work it guards (a password check, a
 * proof challenge), in one statement, and refused once the key is over its limit within its window: a
 * burst of parallel attempts cannot all pass a check made before any of them was counted, which a
 * check-then-count in memory let through (30 parallel guesses were 30 checked passwords, session 13).
 *
 * Fixed windows: a key's window opens at its first attempt and lasts `windowMs`; the first attempt after
 * it starts a new one. The time is the caller's clock (deps.clock), so tests can move it. Keys are opaque
 * strings the caller builds; each limit prefixes its own (`login:`, `old-password:`, `proof-challenge:`).
 * They are stored as their SHA-256: a login key holds whatever user name was typed (up to 255 characters)
 * and an address, and a row per unknown name tried must stay small (rows live until the GC after their
 * window; their number is paced by the password hashing, ~7 checks a second here).
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '../db/db';

const stored = (key: string): string => createHash('sha256').update(key).digest('base64url');

export interface AttemptLimit {
  /**
   * Counts one attempt under `key`: resolves to 0 when it may go ahead, or to the milliseconds until the
   * key's window ends when it is over the limit (the attempt is refused, and counted no further).
   */
  take(db: Queryable, key: string): Promise<number>;
  /** Forgets `key`'s attempts (a password that was right: logging in often is not guessing). */
  clear(db: Queryable, key: string): Promise<void>;
}

export function createAttemptLimit(opts: { limit: number; windowMs: number; now: () => Date }): AttemptLimit {
  return {
    async take(db, key) {
      const now = opts.now();
      // LEAST: a key hammered past its limit stays at limit + 1 (no overflow, no growing row).
      const [row] = await db.query<{ count: number; expires_at: Date }>(
        `INSERT INTO attempt_counters AS c (key, count, expires_at) VALUES ($1, 1, $2::timestamptz + $3 * interval '1 millisecond')
         ON CONFLICT (key) DO UPDATE SET
           count = CASE WHEN c.expires_at <= $2 THEN 1 ELSE LEAST(c.count + 1, $4 + 1) END,
           expires_at = CASE WHEN c.expires_at <= $2 THEN excluded.expires_at ELSE c.expires_at END
         RETURNING count, expires_at`,
        [stored(key), now, opts.windowMs, opts.limit],
      );
      if (row!.count <= opts.limit) return 0;
      return Math.max(new Date(row!.expires_at).getTime() - now.getTime(), 1);
    },
    async clear(db, key) {
      await db.query(`DELETE FROM attempt_counters WHERE key = $1`, [stored(key)]);
    },
  };
}

/** Deletes counters whose window has ended (the GC's pass); resolves to how many. */
export async function deleteExpiredAttempts(db: Queryable, now: Date): Promise<number> {
  const [row] = await db.query<{ n: number }>(`WITH gone AS (DELETE FROM attempt_counters WHERE expires_at <= $1 RETURNING 1) SELECT count(*)::int AS n FROM gone`, [now]);
  return row!.n;
}
