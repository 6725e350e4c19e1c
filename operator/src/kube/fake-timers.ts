/** A manual clock for tests of timer-driven code (work queue retries, resync, watchdogs). */
import type { Timers } from './work-queue';

export interface FakeTimers extends Timers {
  /** Moves the clock forward, firing due timers in order and letting promise chains settle after each. */
  advance(ms: number): Promise<void>;
  pending(): number;
}

export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function createFakeTimers(): FakeTimers {
  let now = 0;
  let nextId = 1;
  const scheduled = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = nextId++;
      scheduled.set(id, { at: now + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(handle) {
      scheduled.delete(handle as number);
    },
    pending: () => scheduled.size,
    async advance(ms) {
      const target = now + ms;
      for (;;) {
        let due: [number, { at: number; fn: () => void }] | undefined;
        for (const entry of scheduled) if (entry[1].at <= target && (!due || entry[1].at < due[1].at)) due = entry;
        if (!due) break;
        scheduled.delete(due[0]);
        now = due[1].at;
        due[1].fn();
        await settle();
      }
      now = target;
      await settle();
    },
  };
}
