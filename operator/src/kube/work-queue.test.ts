import { createFakeTimers, settle } from './fake-timers';
import { backoffDelay, createTokenBucket, createWorkQueue, type HandlerResult } from './work-queue';

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('work queue', () => {
  it('never runs one key twice at once, and runs a key added while running exactly once more', async () => {
    const gates = [deferred(), deferred()];
    const runs: string[] = [];
    let active = 0;
    let maxActive = 0;
    const queue = createWorkQueue({
      concurrency: 4,
      timers: createFakeTimers(),
      handler: async (key) => {
        active++;
        maxActive = Math.max(maxActive, active);
        const gate = gates[runs.push(key) - 1];
        await gate?.promise;
        active--;
      },
    });
    queue.add('ns/a');
    await settle();
    expect(queue.running()).toBe(1);
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/a');
    await settle();
    expect(runs).toEqual(['ns/a']);
    expect(queue.depth()).toBe(0); // parked until the running one finishes
    gates[0]!.resolve();
    await settle();
    expect(runs).toEqual(['ns/a', 'ns/a']);
    gates[1]!.resolve();
    await settle();
    expect(runs).toHaveLength(2);
    expect(maxActive).toBe(1);
    await queue.shutdown();
  });

  it('coalesces adds of a waiting key and bounds concurrency', async () => {
    const gate = deferred();
    const runs: string[] = [];
    let active = 0;
    let maxActive = 0;
    const queue = createWorkQueue({
      concurrency: 2,
      timers: createFakeTimers(),
      handler: async (key) => {
        runs.push(key);
        active++;
        maxActive = Math.max(maxActive, active);
        await gate.promise;
        active--;
      },
    });
    for (const key of ['a', 'b', 'c', 'd', 'c', 'd', 'e']) queue.add(key);
    await settle();
    expect(queue.running()).toBe(2);
    expect(queue.depth()).toBe(3);
    gate.resolve();
    for (let i = 0; i < 5; i++) await settle();
    expect(runs.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(maxActive).toBe(2);
    await queue.shutdown();
  });

  it('retries a failing key with exponential backoff and forgets the failures after a success', async () => {
    const timers = createFakeTimers();
    const runs: number[] = [];
    const errors: number[] = [];
    let failuresLeft = 3;
    const queue = createWorkQueue({
      timers,
      baseBackoffMs: 10,
      maxBackoffMs: 1000,
      onError: (_key, _error, retryInMs) => errors.push(retryInMs),
      handler: async (_key, { retries }) => {
        runs.push(timers.now());
        expect(retries).toBe(3 - failuresLeft);
        if (failuresLeft-- > 0) throw new Error('not yet');
      },
    });
    queue.add('k');
    await settle();
    expect(queue.retries('k')).toBe(1);
    await timers.advance(9);
    expect(runs).toEqual([0]);
    await timers.advance(1000);
    expect(runs).toEqual([0, 10, 30, 70]);
    expect(errors).toEqual([10, 20, 40]);
    expect(queue.retries('k')).toBe(0);
    expect(timers.pending()).toBe(0);
    await queue.shutdown();
  });

  it('treats a synchronous throw like a rejection', async () => {
    const timers = createFakeTimers();
    const errors: unknown[] = [];
    const queue = createWorkQueue({
      timers,
      onError: (_key, error) => errors.push(error),
      handler: (() => {
        throw new Error('sync');
      }) as () => Promise<HandlerResult>,
    });
    queue.add('k');
    await settle();
    expect(errors).toHaveLength(1);
    expect(queue.retries('k')).toBe(1);
    await queue.shutdown();
  });

  it('requeues after requeueAfterMs, and an earlier delay for the same key wins', async () => {
    const timers = createFakeTimers();
    const runs: number[] = [];
    const queue = createWorkQueue({
      timers,
      handler: async () => {
        runs.push(timers.now());
        return runs.length === 1 ? { requeueAfterMs: 100 } : undefined;
      },
    });
    queue.add('k');
    await settle();
    queue.addAfter('k', 500); // later than the pending 100 ms: ignored
    await timers.advance(100);
    expect(runs).toEqual([0, 100]);
    queue.addAfter('k', 50);
    queue.addAfter('k', 20); // earlier: replaces the 50 ms timer
    await timers.advance(1000);
    expect(runs).toEqual([0, 100, 120]);
    await queue.shutdown();
  });

  it('drops a pending poll once a later run succeeds without asking for one', async () => {
    const timers = createFakeTimers();
    const runs: number[] = [];
    const queue = createWorkQueue({
      timers,
      handler: async () => {
        runs.push(timers.now());
        return runs.length === 1 ? { requeueAfterMs: 1000 } : undefined;
      },
    });
    queue.add('k');
    await settle();
    await timers.advance(10);
    queue.add('k'); // woken by a watch event before the poll is due: the state is reached
    await settle();
    await timers.advance(5000);
    expect(runs).toEqual([0, 10]);
    expect(timers.pending()).toBe(0);
    await queue.shutdown();
  });

  it('shuts down gracefully: waits for running work, drops pending and delayed keys, ignores new adds', async () => {
    const timers = createFakeTimers();
    const gate = deferred();
    const runs: string[] = [];
    let sawAbort = false;
    const queue = createWorkQueue({
      timers,
      handler: async (key, { signal }) => {
        runs.push(key);
        await gate.promise;
        sawAbort = signal.aborted;
      },
    });
    queue.add('running');
    queue.add('pending');
    queue.addAfter('delayed', 10);
    await settle();
    let done = false;
    const stopping = queue.shutdown().then(() => (done = true));
    await settle();
    expect(done).toBe(false);
    queue.add('late');
    gate.resolve();
    await stopping;
    await timers.advance(100);
    expect(runs).toEqual(['running']);
    expect(sawAbort).toBe(true);
    expect(timers.pending()).toBe(0);
  });

  it('paused, takes keys but runs none until resume, then runs them in the order they came', async () => {
    const runs: string[] = [];
    const queue = createWorkQueue({ paused: true, concurrency: 1, handler: async (key) => void runs.push(key) });
    queue.add('b');
    queue.add('a');
    queue.add('b');
    await settle();
    expect([runs, queue.depth()]).toEqual([[], 2]);
    queue.resume();
    await settle();
    expect(runs).toEqual(['b', 'a']);
    await queue.shutdown();
  });

  it('works with real timers', async () => {
    let calls = 0;
    const queue = createWorkQueue({
      baseBackoffMs: 5,
      handler: async () => {
        if (++calls < 3) throw new Error('flaky');
      },
    });
    queue.add('k');
    const deadline = Date.now() + 2000;
    while (calls < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(calls).toBe(3);
    await queue.shutdown();
  });
});

describe('overall retry limit (controller-runtime: max of per-key backoff and a 10/s, burst 100 bucket)', () => {
  /** 250 keys that fail once, then succeed: when does each key's retry run? */
  async function retryTimes(options: { retryRatePerSecond?: number; retryBurst?: number } = {}) {
    const timers = createFakeTimers();
    const failed = new Set<string>();
    const retriedAt = new Map<string, number>();
    const queue = createWorkQueue({
      concurrency: 1000,
      baseBackoffMs: 5,
      timers,
      ...options,
      handler: async (key) => {
        if (!failed.has(key)) {
          failed.add(key);
          throw new Error('apiserver unavailable');
        }
        retriedAt.set(key, timers.now());
      },
    });
    const keys = Array.from({ length: 250 }, (_, i) => `ns/k${i}`);
    for (const key of keys) queue.add(key);
    await settle();
    expect(failed.size).toBe(250); // the first runs: adds are not limited
    return { timers, queue, keys, retriedAt };
  }

  it('lets the first 100 retries go at their own backoff, then spaces the rest 100 ms apart', async () => {
    const { timers, queue, keys, retriedAt } = await retryTimes();
    await timers.advance(5);
    expect(retriedAt.size).toBe(100); // the burst: per-key backoff (5 ms) decides
    expect(keys.slice(0, 100).every((k) => retriedAt.get(k) === 5)).toBe(true);
    await timers.advance(1000 - 5);
    expect(retriedAt.size).toBe(110); // then 10 per second
    await timers.advance(14_000);
    expect(retriedAt.size).toBe(250);
    expect(retriedAt.get('ns/k249')).toBe(15_000); // the 150th over the burst: 150 × 100 ms
    await queue.shutdown();
  });

  it('a key whose own backoff is longer waits for that, not less', async () => {
    const timers = createFakeTimers();
    const runs: number[] = [];
    const queue = createWorkQueue({
      baseBackoffMs: 1000,
      timers,
      handler: async () => {
        runs.push(timers.now());
        throw new Error('down');
      },
    });
    queue.add('ns/a');
    await settle();
    await timers.advance(1000 + 2000 + 4000);
    expect(runs).toEqual([0, 1000, 3000, 7000]);
    await queue.shutdown();
  });

  it('does not limit adds (watch events, resync) or requeueAfterMs, only failures', async () => {
    const timers = createFakeTimers();
    const runs = new Map<string, number>();
    const queue = createWorkQueue({
      concurrency: 1000,
      timers,
      retryBurst: 1,
      handler: async (key) => {
        runs.set(key, (runs.get(key) ?? 0) + 1);
        return { requeueAfterMs: 50 };
      },
    });
    for (let i = 0; i < 500; i++) queue.add(`ns/k${i}`);
    await settle();
    expect(runs.size).toBe(500);
    await timers.advance(50);
    expect([...runs.values()].every((n) => n === 2)).toBe(true); // all 500 polls at once, no bucket
    await queue.shutdown();
  });

  it('is configurable: 1 per second with a burst of 2', async () => {
    const { timers, queue, retriedAt } = await retryTimes({ retryRatePerSecond: 1, retryBurst: 2 });
    await timers.advance(5);
    expect(retriedAt.size).toBe(2);
    await timers.advance(3000);
    expect(retriedAt.size).toBe(5);
    await queue.shutdown();
  });

  it('the bucket refills at the rate, up to the burst', () => {
    let now = 0;
    const reserve = createTokenBucket(10, 3, () => now);
    expect([reserve(), reserve(), reserve(), reserve(), reserve()]).toEqual([0, 0, 0, 100, 200]);
    now = 10_000; // long idle: refilled to the burst, not beyond
    expect([reserve(), reserve(), reserve(), reserve()]).toEqual([0, 0, 0, 100]);
  });
});

describe('backoffDelay', () => {
  it('doubles per failure and caps', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, 5, 30))).toEqual([5, 10, 20, 30]);
    expect(backoffDelay(10_000, 5, 300_000)).toBe(300_000);
  });
});
