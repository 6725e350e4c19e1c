/**
 * A resilient informer over client-node's makeInformer (ListWatch). client-node already re-lists after a
 * 410 Expired and resumes a watch that ends cleanly, but after any other error (a failed list, a 500 on
 * the watch) it stops for good; this wrapper restarts it with per-informer exponential backoff. A
 * watchdog re-lists from scratch on a fixed interval with a fresh ListWatch, so a watch that hangs
 * silently or missed an event cannot leave the cache stale forever. Handlers see each object state once:
 * events are deduplicated by resourceVersion against the wrapper's own cache, so re-lists produce no
 * spurious updates and deletions seen only by a re-list are still reported.
 */
import type { Informer, KubeConfig, KubernetesListObject, KubernetesObject, ObjectCache } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { backoffDelay, REAL_TIMERS, type Timers } from './work-queue';

export type InformerEvent = 'add' | 'update' | 'delete';

export interface ResilientInformerOptions<T extends KubernetesObject> {
  /** client-node's makeInformer, passed in because the package is ESM-only and loaded by the caller. */
  makeInformer: (kubeConfig: KubeConfig, path: string, list: () => Promise<KubernetesListObject<T>>, labelSelector?: string) => Informer<T> & ObjectCache<T>;
  kubeConfig: KubeConfig;
  /** Collection path to watch, e.g. `/apis/openpds.io/v1alpha1/domains` (all namespaces). */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  onEvent: (event: InformerEvent, object: T) => void;
  onError?: (error: unknown, retryInMs: number) => void;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Full re-list interval; 0 turns the watchdog off. */
  relistIntervalMs?: number;
  timers?: Timers;
}

export interface ResilientInformer<T extends KubernetesObject> {
  /** Starts watching; resolves after the first successful list has been delivered to `onEvent`. */
  start(): Promise<void>;
  stop(): Promise<void>;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): T[];
  hasSynced(): boolean;
}

export const DEFAULT_RELIST_INTERVAL_MS = 10 * 60_000;

export const objectKey = (o: KubernetesObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export function createResilientInformer<T extends KubernetesObject>(options: ResilientInformerOptions<T>): ResilientInformer<T> {
  const timers = options.timers ?? REAL_TIMERS;
  const baseMs = options.baseBackoffMs ?? 200;
  const maxMs = options.maxBackoffMs ?? 30_000;
  const relistMs = options.relistIntervalMs ?? DEFAULT_RELIST_INTERVAL_MS;
  const cache = new Map<string, T>();
  let current: (Informer<T> & ObjectCache<T>) | undefined;
  let failures = 0;
  let retryTimer: unknown;
  let relistTimer: unknown;
  let stopped = true;
  let synced = false;
  let resolveSynced: (() => void) | undefined;

  function upsert(object: T): void {
    const key = objectKey(object);
    const previous = cache.get(key);
    if (previous && previous.metadata?.resourceVersion === object.metadata?.resourceVersion) return;
    cache.set(key, object);
    options.onEvent(previous ? 'update' : 'add', object);
  }

  function remove(object: T): void {
    const key = objectKey(object);
    const previous = cache.get(key);
    if (!previous) return;
    cache.delete(key);
    options.onEvent('delete', previous);
  }

  // Every list (first, after a 410, after an error, by the watchdog) is a full picture: whatever the
  // cache holds that the list lacks was deleted while the watch was not looking.
  async function listAndPrune(isCurrent: () => boolean): Promise<KubernetesListObject<T>> {
    const result = await options.list();
    // Stopped or replaced while its list was in flight: client-node's ListWatch does not look at its own
    // stop() after the list and would open a watch nobody ever closes (a socket per such relist, and one
    // left open after stop(): the informer test caught it under load). Failing the list ends it there; the
    // error handler ignores errors of a ListWatch that is not current. Nor may a late list prune the newer
    // picture.
    if (!isCurrent()) throw new Error('informer stopped or replaced while listing');
    const listed = new Set(result.items.map(objectKey));
    for (const [key, object] of cache) if (!listed.has(key)) remove(object);
    failures = 0;
    if (!synced) {
      synced = true;
      // client-node feeds the listed items to the handlers in the continuation after this returns;
      // a macrotask runs after it.
      setImmediate(() => resolveSynced?.());
    }
    return result;
  }

  function launch(): void {
    const isCurrent = () => !stopped && current === informer;
    const informer = options.makeInformer(options.kubeConfig, options.path, () => listAndPrune(isCurrent), options.labelSelector);
    abortLateWatches(informer, isCurrent);
    informer.on('add', (o) => isCurrent() && upsert(o));
    informer.on('update', (o) => isCurrent() && upsert(o));
    informer.on('delete', (o) => isCurrent() && remove(o));
    informer.on('error', (error) => {
      // A stopped or replaced ListWatch reports its own abort as an error: not ours to retry.
      if (!isCurrent()) return;
      failures++;
      const retryInMs = backoffDelay(failures, baseMs, maxMs);
      options.onError?.(error, retryInMs);
      timers.clearTimeout(retryTimer);
      retryTimer = timers.setTimeout(() => {
        if (isCurrent()) void informer.start();
      }, retryInMs);
    });
    current = informer;
    void informer.start();
  }

  function scheduleRelist(): void {
    if (relistMs <= 0 || stopped) return;
    relistTimer = timers.setTimeout(() => {
      if (stopped) return;
      const previous = current;
      timers.clearTimeout(retryTimer);
      launch(); // replaces `current` first, so the old one's abort error is ignored
      void previous?.stop();
      scheduleRelist();
    }, relistMs);
  }

  return {
    start() {
      if (!stopped) return Promise.resolve();
      stopped = false;
      const ready = new Promise<void>((resolve) => (resolveSynced = resolve));
      launch();
      scheduleRelist();
      return ready;
    },
    async stop() {
      stopped = true;
      timers.clearTimeout(retryTimer);
      timers.clearTimeout(relistTimer);
      const informer = current;
      current = undefined;
      resolveSynced?.();
      await informer?.stop();
    },
    get: (name, namespace) => cache.get(`${namespace ?? ''}/${name}`),
    list: (namespace) => [...cache.values()].filter((o) => namespace === undefined || (o.metadata?.namespace ?? '') === namespace),
    hasSynced: () => synced,
  };
}

/**
 * The list race of listAndPrune one step later: a ListWatch stopped or replaced while its watch request is
 * being opened (the list done, the request not yet answered) keeps the request's controller only once it
 * answered, after its stop() ran with nothing to abort, and nobody ever closes that watch (the informer
 * test caught one left open after stop() in a full run). Each watch the ListWatch opens is aborted as soon
 * as it answers if the ListWatch is no longer current; its abort error is ignored as any of a stale one.
 */
function abortLateWatches(informer: unknown, isCurrent: () => boolean): void {
  const watch = (informer as { watch?: { watch?: (...args: unknown[]) => Promise<AbortController> } }).watch;
  if (typeof watch?.watch !== 'function') return; // not client-node's ListWatch (or its shape changed)
  const open = watch.watch.bind(watch);
  watch.watch = async (...args: unknown[]) => {
    const controller = await open(...args);
    if (!isCurrent()) controller.abort();
    return controller;
  };
}
