/**
 * Slows password guessing: MAX_FAILURES attempts under one key within WINDOW_MS, then further attempts are
 * refused (429) until the window has passed; a right password clears the count. Counted in the database
 * before the password is checked (shared/attempt-limits.ts), so parallel guesses and API replicas all count
 * against one limit. Keys are opaque: the caller builds them from what it resolved (login: the user's id
 * and the client address, so that every spelling of a name counts against one user and nobody can lock
 * the admin, whose password the operator logs in with, out from somewhere else). No case folding here:
 * JavaScript's toLowerCase and the database's lower() disagree (İ), so a folded name could still differ
 * from the user it logs in as.
 */
import { createAttemptLimit, type AttemptLimit } from '../../shared/attempt-limits';

export const MAX_FAILURES = 10;
export const WINDOW_MS = 15 * 60_000;

export function createLoginThrottle(now: () => Date): AttemptLimit {
  return createAttemptLimit({ limit: MAX_FAILURES, windowMs: WINDOW_MS, now });
}
