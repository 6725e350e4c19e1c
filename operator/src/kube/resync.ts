/**
 * Periodic resync: every interval (± jitter) every known key is enqueued again, so drift that no watch
 * event reports (a data plane that stopped answering /readyz, a child edited in a way the apiserver does
 * not surface to us) is corrected. The jitter spreads operators (and restarts) apart so a fleet does not
 * resync in lockstep. Randomness and timers are passed in for deterministic tests.
 */
import { REAL_TIMERS, type Timers } from './work-queue';

export interface ResyncOptions {
  intervalMs: number;
  /** Fraction of the interval added or removed at random, 0..1 (default 0.1). */
  jitter?: number;
  keys: () => Iterable<string>;
  enqueue: (key: string) => void;
  timers?: Timers;
  random?: () => number;
}

export interface Resync {
  stop(): void;
  /** Resyncs fired so far. */
  count(): number;
}

export function jittered(intervalMs: number, jitter: number, random: () => number): number {
  return Math.max(1, Math.round(intervalMs * (1 + jitter * (2 * random() - 1))));
}

export function startResync(options: ResyncOptions): Resync {
  const timers = options.timers ?? REAL_TIMERS;
  const random = options.random ?? Math.random;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.1));
  let handle: unknown;
  let stopped = false;
  let fired = 0;
  const schedule = () => {
    if (stopped || options.intervalMs <= 0) return;
    handle = timers.setTimeout(() => {
      if (stopped) return;
      fired++;
      for (const key of options.keys()) options.enqueue(key);
      schedule();
    }, jittered(options.intervalMs, jitter, random));
  };
  schedule();
  return {
    stop() {
      stopped = true;
      timers.clearTimeout(handle);
    },
    count: () => fired,
  };
}
