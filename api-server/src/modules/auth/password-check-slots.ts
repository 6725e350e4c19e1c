/**
 * Bounds the password checks (argon2id, password-hash.ts) one process runs at once. Each holds one of
 * libuv's pool threads for its ~160–250 ms and 64 MiB, and those threads also serve the local blob store's
 * file calls and /readyz's storage check: 8 logins with made-up names in flight slowed a 200 MiB download
 * to ~80 KiB/s, 32 made /readyz fail with a storage timeout, taking every replica out of service (red
 * team, resources). No account is needed for that, and the failure throttle keys on the user name, so
 * only a bound on the work itself holds.
 *
 * CHECKS_AT_ONCE run; up to CHECKS_WAITING more wait their turn (a short queue: at the default cost the
 * last one waits ~2 s); past that a check is refused at once with 503 ServiceUnavailable.Busy and
 * Retry-After, never queued without end. 503, not 429: it is this server's capacity, not the caller's
 * rate (that is the failure throttle's 429), and a client retries a 503. An unknown name's dummy check
 * takes a slot like a real one, so a busy server answers both alike and the timing tells no names apart.
 */
import { AppError } from '../../shared/errors';

export const CHECKS_AT_ONCE = 2;
export const CHECKS_WAITING = 16;

export const busy = () =>
  new AppError('ServiceUnavailable.Busy', 503, 'the server is checking too many passwords at once; retry shortly', { headers: { 'Retry-After': '1' }, reason: 'password_checks' });

export interface PasswordCheckSlots {
  /** Runs `check` when a slot is free; rejects with ServiceUnavailable.Busy at once when too many wait. */
  run<T>(check: () => Promise<T>): Promise<T>;
}

export function createPasswordCheckSlots({ atOnce = CHECKS_AT_ONCE, waiting = CHECKS_WAITING } = {}): PasswordCheckSlots {
  let running = 0;
  const queue: Array<() => void> = [];
  return {
    async run(check) {
      if (running < atOnce) running++;
      else if (queue.length >= waiting) throw busy();
      // A freed slot is handed to the first in line (`running` unchanged), so none is taken twice.
      else await new Promise<void>((resolve) => queue.push(resolve));
      try {
        return await check();
      } finally {
        const next = queue.shift();
        if (next) next();
        else running--;
      }
    },
  };
}
