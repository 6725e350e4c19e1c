/**
 * Slows password guessing: MAX_FAILURES attempts under one key within WINDOW_MS, then further attempts are
 * refused (429) until the window has passed; a right password clears the count. Counted in the database
 * before the password is checked (shared/attempt-limits.ts), so parallel guesses and API replicas all count
 * against one limit. Keys are opaque: the caller builds them from what it resolved (login: the user's id
 * and the client address, so that every spelling of a name counts against one user and nobody can lock
 * the admin, whose password the operator logs in with, out from somewhere else). No case folding here:
 * JavaScript's toLowerCase and the database's lower() disagree (İ), so a folded name could still differ
 * from the user it logs in as.
 *
 * A trip is logged, once: a warning when a key starts being refused (who, from where, for how long), not
 * one per refused attempt, which a guessing client would turn into a log flood. Never the password (it is
 * not given here). "Once" is per process, remembered until the key's window ends: each API replica that
 * refuses the key says so once.
 */
import type { Logger } from 'pino';
import type { Queryable } from '../../db/db';
import { createAttemptLimit, type AttemptLimit } from '../../shared/attempt-limits';

export const MAX_FAILURES = 10;
export const WINDOW_MS = 15 * 60_000;
/** Trips remembered at most (each costs MAX_FAILURES password checks to make); expired ones go first. */
const MAX_REMEMBERED_TRIPS = 10_000;
/** Names are up to 255 characters; a typed one is the caller's text, logged no longer than that. */
const MAX_LOGGED_NAME = 255;

/** Who is being refused, for the log: the user name as typed or resolved, and the client address. */
export interface ThrottledLogin {
  user_name?: string;
  user_id?: string;
  address?: string;
}

export interface LoginThrottle extends AttemptLimit {
  /** As AttemptLimit.take; `who` names the user and address in the warning logged when the key trips. */
  take(db: Queryable, key: string, who?: ThrottledLogin): Promise<number>;
}

/**
 * Without `who`, the login keys auth.service.ts builds (`login:id:<user id>\n<address>`,
 * `login:name:<name>\n<address>`, `old-password:<user id>`) are read for it.
 */
function describeKey(key: string): ThrottledLogin {
  const m = /^login:(id|name):([^\n]*)\n(.*)$/s.exec(key);
  if (m) return { [m[1] === 'id' ? 'user_id' : 'user_name']: m[2], address: m[3] };
  const old = /^old-password:(.*)$/s.exec(key);
  return old ? { user_id: old[1] } : {};
}

export function createLoginThrottle(now: () => Date, logger?: Pick<Logger, 'warn'>): LoginThrottle {
  const limit = createAttemptLimit({ limit: MAX_FAILURES, windowMs: WINDOW_MS, now });
  /** Keys refused now, with when their window ends: each is logged when it first is. */
  const tripped = new Map<string, number>();

  function noteTrip(key: string, waitMs: number, who: ThrottledLogin | undefined): void {
    const at = now().getTime();
    if ((tripped.get(key) ?? 0) > at) return;
    if (tripped.size >= MAX_REMEMBERED_TRIPS) {
      for (const [k, until] of tripped) if (until <= at) tripped.delete(k);
      // Still full (a flood of distinct keys): forget the oldest, at worst one more warning for it.
      if (tripped.size >= MAX_REMEMBERED_TRIPS) tripped.delete(tripped.keys().next().value!);
    }
    tripped.set(key, at + waitMs);
    const { user_name, user_id, address } = { ...describeKey(key), ...who };
    logger?.warn(
      { user_name: user_name?.slice(0, MAX_LOGGED_NAME), user_id, address, retry_in_seconds: Math.ceil(waitMs / 1000), max_failures: MAX_FAILURES, window_seconds: WINDOW_MS / 1000 },
      'too many failed password attempts: refusing this user from this address until the window ends',
    );
  }

  return {
    async take(db, key, who) {
      const wait = await limit.take(db, key);
      if (wait > 0) noteTrip(key, wait, who);
      return wait;
    },
    clear: (db, key) => limit.clear(db, key),
  };
}
