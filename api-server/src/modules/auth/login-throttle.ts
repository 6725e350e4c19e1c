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
 * A second limit counts failed logins per client address whatever the name (MAX_ADDRESS_FAILURES): names
 * nobody has are free to make up, each its own per-user key, so one address could try any number of them
 * (red team, resources: each costs a password check). It is counted before the check too, and a login
 * that succeeds gives its count back (`refund`), so only failures add up: a NAT or a proxy many users log
 * in through is not refused for their successes. Behind OPENPDS_TRUST_PROXY the address is the forwarded
 * one (req.ip).
 *
 * A trip is logged, once: a warning when a key starts being refused (who, from where, for how long), not
 * one per refused attempt, which a guessing client would turn into a log flood. Never the password (it is
 * not given here). "Once" is per process, remembered until the key's window ends: each API replica that
 * refuses the key says so once.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Queryable } from '../../db/db';
import { createAttemptLimit, type AttemptLimit } from '../../shared/attempt-limits';

export const MAX_FAILURES = 10;
export const WINDOW_MS = 15 * 60_000;
/**
 * Failed logins from one address within WINDOW_MS, any names: far above what people mistyping behind one
 * NAT reach (10 a user), and at the default hash cost ~20 s of one replica's password checks.
 */
export const MAX_ADDRESS_FAILURES = 100;
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
  /** Counts a login from `address` against MAX_ADDRESS_FAILURES: 0 to go ahead, or ms until its window ends. */
  takeAddress(db: Queryable, address: string): Promise<number>;
  /** Gives back an attempt `take` or `takeAddress` counted whose password was never found wrong. */
  refund(db: Queryable, key: string): Promise<void>;
  refundAddress(db: Queryable, address: string): Promise<void>;
}

const addressKey = (address: string) => `login-address:${address}`;
/** As shared/attempt-limits.ts stores a key (it keeps the hashing to itself). */
const storedKey = (key: string): string => createHash('sha256').update(key).digest('base64url');

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
  const addressLimit = createAttemptLimit({ limit: MAX_ADDRESS_FAILURES, windowMs: WINDOW_MS, now });
  const refund = async (db: Queryable, key: string) => {
    // Within the window only: after it the counter belongs to the next one, or is the GC's.
    await db.query(`UPDATE attempt_counters SET count = count - 1 WHERE key = $1 AND count > 0 AND expires_at > $2`, [storedKey(key), now()]);
  };
  /** Keys refused now, with when their window ends: each is logged when it first is. */
  const tripped = new Map<string, number>();

  /** Whether `key` starts being refused now (and is remembered as such), not already. */
  function firstTrip(key: string, waitMs: number): boolean {
    const at = now().getTime();
    if ((tripped.get(key) ?? 0) > at) return false;
    if (tripped.size >= MAX_REMEMBERED_TRIPS) {
      for (const [k, until] of tripped) if (until <= at) tripped.delete(k);
      // Still full (a flood of distinct keys): forget the oldest, at worst one more warning for it.
      if (tripped.size >= MAX_REMEMBERED_TRIPS) tripped.delete(tripped.keys().next().value!);
    }
    tripped.set(key, at + waitMs);
    return true;
  }

  function noteTrip(key: string, waitMs: number, who: ThrottledLogin | undefined): void {
    if (!firstTrip(key, waitMs)) return;
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
    async takeAddress(db, address) {
      const wait = await addressLimit.take(db, addressKey(address));
      if (wait > 0 && firstTrip(addressKey(address), wait)) {
        logger?.warn(
          { address, retry_in_seconds: Math.ceil(wait / 1000), max_failures: MAX_ADDRESS_FAILURES, window_seconds: WINDOW_MS / 1000 },
          'too many failed logins from this address, whatever the user names: refusing every login from it until the window ends',
        );
      }
      return wait;
    },
    refund,
    refundAddress: (db, address) => refund(db, addressKey(address)),
  };
}
