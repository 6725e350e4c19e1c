/**
 * A per-key work queue in the manner of client-go's workqueue: a key is never handled by two workers at
 * once; a key added while it runs is run once more afterwards (adds coalesce); failures are retried with
 * per-key exponential backoff, forgotten after a success; at most `concurrency` keys run at a time.
 *
 * Retries are also limited overall, as controller-runtime's default rate limiter does: the delay of a
 * retry is the larger of the key's exponential backoff and a wait for a token from one bucket shared by
 * all keys (10 per second, burst 100), so 1,000 objects failing at once (an apiserver outage, a webhook
 * down) come back at 10 per second, not all together. Only failures (a thrown error, RequeueError
 * included: controller-runtime's Requeue) take a token; adds from watch events and the resync, and a
 * handler's own `requeueAfterMs` (controller-runtime's RequeueAfter), are not limited.
 */

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const REAL_TIMERS: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    // A pending retry must not keep the process alive on its own.
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** What a handler may return: ask to run the key again later (e.g. a periodic drift check). */
export type HandlerResult = void | { requeueAfterMs?: number };

export interface WorkContext {
  /** Aborted when `shutdown()` starts, so long waits inside a handler can end early. */
  signal: AbortSignal;
  /** Failures of this key in a row before this run. */
  retries: number;
}

export interface WorkQueueOptions {
  handler: (key: string, context: WorkContext) => Promise<HandlerResult>;
  concurrency?: number;
  /** First retry delay after a failure; doubles per consecutive failure up to `maxBackoffMs`. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Overall retry rate, shared by all keys (default 10 per second). */
  retryRatePerSecond?: number;
  /** Retries the bucket allows at once before the rate applies (default 100). */
  retryBurst?: number;
  timers?: Timers;
  onError?: (key: string, error: unknown, retryInMs: number) => void;
  /**
   * Take keys but run none until `resume()`: a controller holds its workers until every cache it reads
   * has synced (client-go's WaitForCacheSync), so no reconcile decides from a cache still empty.
   */
  paused?: boolean;
}

export interface WorkQueue {
  add(key: string): void;
  /** Starts running keys (those added while paused first, in their order). */
  resume(): void;
  /** Adds `key` after `ms`; an earlier pending delay for the same key wins. */
  addAfter(key: string, ms: number): void;
  /** Keys waiting to run (not counting running ones or delayed ones). */
  depth(): number;
  running(): number;
  retries(key: string): number;
  /** Stops taking keys, drops pending and delayed ones, and resolves once running handlers have finished. */
  shutdown(): Promise<void>;
}

export const DEFAULT_BASE_BACKOFF_MS = 5;
export const DEFAULT_MAX_BACKOFF_MS = 5 * 60_000;
export const DEFAULT_RETRY_RATE_PER_SECOND = 10;
export const DEFAULT_RETRY_BURST = 100;

/**
 * A token bucket as golang.org/x/time/rate's Reserve: each call takes a token, possibly one not yet there
 * (the balance goes negative), and returns how long to wait until it is. Calls are thereby spaced
 * 1/rate apart once the burst is spent, in the order they were made.
 */
export function createTokenBucket(ratePerSecond: number, burst: number, now: () => number): () => number {
  let tokens = burst;
  let last = now();
  return () => {
    const t = now();
    tokens = Math.min(burst, tokens + ((t - last) * ratePerSecond) / 1000);
    last = t;
    tokens -= 1;
    return tokens >= 0 ? 0 : (-tokens * 1000) / ratePerSecond;
  };
}

export function backoffDelay(failures: number, baseMs: number, maxMs: number): number {
  // 2 ** 40 already exceeds any sane max; clamping the exponent avoids Infinity.
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 40));
}

export function createWorkQueue(options: WorkQueueOptions): WorkQueue {
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const baseMs = options.baseBackoffMs ?? DEFAULT_BASE_BACKOFF_MS;
  const maxMs = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
  const timers = options.timers ?? REAL_TIMERS;
  const reserveRetry = createTokenBucket(options.retryRatePerSecond ?? DEFAULT_RETRY_RATE_PER_SECOND, options.retryBurst ?? DEFAULT_RETRY_BURST, () => timers.now());

  const queue: string[] = [];
  const dirty = new Set<string>(); // waiting to run (in `queue`, or re-added while running)
  const processing = new Set<string>();
  const failures = new Map<string, number>();
  const delayed = new Map<string, { at: number; handle: unknown }>();
  const inFlight = new Set<Promise<void>>();
  const abort = new AbortController();
  let stopped = false;
  let paused = options.paused ?? false;

  function add(key: string): void {
    if (stopped || dirty.has(key)) return;
    dirty.add(key);
    if (!processing.has(key)) queue.push(key);
    pump();
  }

  function addAfter(key: string, ms: number): void {
    if (stopped) return;
    if (ms <= 0) return add(key);
    const at = timers.now() + ms;
    const pending = delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) timers.clearTimeout(pending.handle);
    const handle = timers.setTimeout(() => {
      delayed.delete(key);
      add(key);
    }, ms);
    delayed.set(key, { at, handle });
  }

  /**
   * A run that succeeded and asked for nothing more supersedes the retry or poll an earlier run of the key
   * scheduled (a Domain that waited for replicas, then turned Ready through a watch event): left in place it
   * would fire later as a reconcile with nothing to do, which at 1,000 keys is a steady trickle of them.
   */
  function cancelDelayed(key: string): void {
    const pending = delayed.get(key);
    if (!pending) return;
    timers.clearTimeout(pending.handle);
    delayed.delete(key);
  }

  function pump(): void {
    while (!stopped && !paused && processing.size < concurrency && queue.length > 0) {
      const key = queue.shift()!;
      dirty.delete(key);
      processing.add(key);
      const run = process(key);
      inFlight.add(run);
      void run.finally(() => inFlight.delete(run));
    }
  }

  async function process(key: string): Promise<void> {
    const retries = failures.get(key) ?? 0;
    let requeueAfterMs: number | undefined;
    try {
      // A handler that throws synchronously is treated like one that rejects.
      const result = await Promise.resolve().then(() => options.handler(key, { signal: abort.signal, retries }));
      failures.delete(key);
      requeueAfterMs = result?.requeueAfterMs;
    } catch (error) {
      const count = retries + 1;
      failures.set(key, count);
      // controller-runtime's MaxOfRateLimiter: both limiters are asked, so the retry takes a token even
      // when its own backoff is the longer wait.
      requeueAfterMs = Math.max(backoffDelay(count, baseMs, maxMs), reserveRetry());
      options.onError?.(key, error, requeueAfterMs);
    } finally {
      processing.delete(key);
    }
    if (stopped) return;
    if (dirty.has(key)) queue.push(key);
    if (requeueAfterMs !== undefined) addAfter(key, requeueAfterMs);
    else cancelDelayed(key);
    pump();
  }

  return {
    add,
    resume() {
      paused = false;
      pump();
    },
    addAfter,
    depth: () => queue.length,
    running: () => processing.size,
    retries: (key) => failures.get(key) ?? 0,
    async shutdown() {
      stopped = true;
      abort.abort();
      for (const { handle } of delayed.values()) timers.clearTimeout(handle);
      delayed.clear();
      queue.length = 0;
      dirty.clear();
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
