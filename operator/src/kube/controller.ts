/**
 * One controller per kind: a resilient informer feeds keys into a per-key work queue, which runs
 * `reconcile(key)` (never twice at once for one key) with exponential backoff on failure; a periodic
 * resync with jitter enqueues every cached key again. Secondary watches (a Domain's Deployments) map
 * their objects to owner keys, so a child's status change wakes its owner without polling.
 *
 * Updates that change only `status` (or nothing but the resourceVersion) are not enqueued: the
 * reconciler's own status writes must not wake it again, or a fleet at steady state would never rest.
 */
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { createResilientInformer, objectKey, type InformerEvent, type ResilientInformer, type ResilientInformerOptions } from './informer';
import { startResync, type Resync } from './resync';
import { createWorkQueue, REAL_TIMERS, type HandlerResult, type Timers, type WorkQueue } from './work-queue';

/** Thrown by a reconciler that is waiting for something (a Secret, replicas): retried with backoff, not counted as an error. */
export class RequeueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequeueError';
  }
}

export interface ReconcileContext<T> {
  /** The object as the informer cache holds it; undefined once it is gone. */
  object: T | undefined;
  namespace: string;
  name: string;
  signal: AbortSignal;
  /** Failed runs of this key in a row before this one. */
  retries: number;
}

export type Reconcile<T> = (context: ReconcileContext<T>) => Promise<HandlerResult>;
export type ReconcileResult = 'success' | 'requeue' | 'error';

export interface ControllerMetrics {
  observeReconcile(kind: string, result: ReconcileResult, seconds: number): void;
}

type MakeInformer = ResilientInformerOptions<KubernetesObject>['makeInformer'];

/**
 * A watch whose changes wake other keys: on another kind (`path`, `list`), or with `primary: true` on the
 * controller's own kind, which is then fed every event of the controller's informer (a second watch of
 * the same objects would double their memory and the apiserver's watch traffic for the same events).
 */
export type SecondaryWatch = (
  | { path: string; list: () => Promise<KubernetesListObject<KubernetesObject>>; labelSelector?: string; primary?: undefined }
  | { primary: true }
) & {
  /** Owner keys (`ns/name`) to enqueue for this change (previous: the state before, when known). */
  ownerKeys: (object: KubernetesObject, event: InformerEvent, previous: KubernetesObject | undefined) => string[];
};

export interface ControllerOptions<T extends KubernetesObject> {
  kind: string;
  kubeConfig: KubeConfig;
  makeInformer: MakeInformer;
  /** Collection path of the primary kind (all namespaces, or one). */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  reconcile: Reconcile<T>;
  secondary?: SecondaryWatch[];
  concurrency?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Overall retry limit of the work queue (token bucket; watch events and resyncs are not limited). */
  retryRatePerSecond?: number;
  retryBurst?: number;
  resyncIntervalMs?: number;
  resyncJitter?: number;
  relistIntervalMs?: number;
  metrics?: ControllerMetrics;
  timers?: Timers;
  random?: () => number;
  onError?: (key: string, error: unknown, retryInMs: number) => void;
}

export interface Controller<T extends KubernetesObject> {
  kind: string;
  /**
   * Starts the informers and resolves once every cache is synced. Keys are enqueued as the lists arrive,
   * but no reconcile runs before all of them have: a reconciler reading a secondary cache (the rollout
   * budget counts Domains rolling from the Deployment cache) would otherwise decide from an empty one.
   */
  start(): Promise<void>;
  /** Stops watching, drops pending keys and waits for running reconciles to finish. */
  stop(): Promise<void>;
  enqueue(key: string): void;
  informer: ResilientInformer<T>;
  /** The caches of `secondary`, in its order (a reconciler reads its children from them). */
  secondaries: ResilientInformer<KubernetesObject>[];
  queue: WorkQueue;
  /** Reconciles run so far (for tests and the benchmark's steady-state check). */
  reconciles(): number;
  resyncs(): number;
}

/** True when an update means work: spec (generation), deletion, finalizers, labels or annotations changed. */
export function needsReconcile(previous: KubernetesObject | undefined, next: KubernetesObject): boolean {
  if (!previous) return true;
  const a = previous.metadata ?? {};
  const b = next.metadata ?? {};
  return (
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    JSON.stringify(a.finalizers ?? []) !== JSON.stringify(b.finalizers ?? []) ||
    JSON.stringify(a.labels ?? {}) !== JSON.stringify(b.labels ?? {}) ||
    JSON.stringify(a.annotations ?? {}) !== JSON.stringify(b.annotations ?? {})
  );
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export function createController<T extends KubernetesObject>(options: ControllerOptions<T>): Controller<T> {
  const timers = options.timers ?? REAL_TIMERS;
  let count = 0;
  let resync: Resync | undefined;
  // The informer reports the new state only; the previous one is kept here for the predicate.
  const seen = new Map<string, KubernetesObject>();

  const queue = createWorkQueue({
    paused: true,
    concurrency: options.concurrency ?? 4,
    baseBackoffMs: options.baseBackoffMs ?? 250,
    maxBackoffMs: options.maxBackoffMs ?? 60_000,
    ...(options.retryRatePerSecond !== undefined ? { retryRatePerSecond: options.retryRatePerSecond } : {}),
    ...(options.retryBurst !== undefined ? { retryBurst: options.retryBurst } : {}),
    timers,
    ...(options.onError ? { onError: options.onError } : {}),
    async handler(key, work) {
      count++;
      const { namespace, name } = splitKey(key);
      const started = timers.now();
      let result: ReconcileResult = 'success';
      try {
        const outcome = await options.reconcile({ object: informer.get(name, namespace || undefined), namespace, name, signal: work.signal, retries: work.retries });
        if (outcome?.requeueAfterMs !== undefined) result = 'requeue';
        return outcome;
      } catch (error) {
        result = error instanceof RequeueError ? 'requeue' : 'error';
        throw error;
      } finally {
        options.metrics?.observeReconcile(options.kind, result, (timers.now() - started) / 1000);
      }
    },
  });

  const informer = createResilientInformer<T>({
    makeInformer: options.makeInformer as unknown as ResilientInformerOptions<T>['makeInformer'],
    kubeConfig: options.kubeConfig,
    path: options.path,
    list: options.list,
    timers,
    ...(options.relistIntervalMs !== undefined ? { relistIntervalMs: options.relistIntervalMs } : {}),
    onEvent(event, object) {
      const key = objectKey(object);
      const previous = seen.get(key);
      if (event === 'delete') seen.delete(key);
      else seen.set(key, object);
      for (const watch of onPrimary) for (const owner of watch.ownerKeys(object, event, previous)) queue.add(owner);
      if (event !== 'update' || needsReconcile(previous, object)) queue.add(key);
    },
  });

  const onPrimary = (options.secondary ?? []).filter((watch) => watch.primary);
  const secondaries = (options.secondary ?? []).map((watch) => {
    if (watch.primary) return informer as unknown as ResilientInformer<KubernetesObject>;
    const previous = new Map<string, KubernetesObject>();
    return createResilientInformer<KubernetesObject>({
      makeInformer: options.makeInformer,
      kubeConfig: options.kubeConfig,
      path: watch.path,
      list: watch.list,
      timers,
      ...(watch.labelSelector ? { labelSelector: watch.labelSelector } : {}),
      ...(options.relistIntervalMs !== undefined ? { relistIntervalMs: options.relistIntervalMs } : {}),
      onEvent(event, object) {
        const key = objectKey(object);
        const before = previous.get(key);
        if (event === 'delete') previous.delete(key);
        else previous.set(key, object);
        for (const owner of watch.ownerKeys(object, event, before)) queue.add(owner);
      },
    });
  });

  return {
    kind: options.kind,
    informer,
    secondaries,
    queue,
    async start() {
      await Promise.all([informer.start(), ...secondaries.filter((s) => s !== informer).map((s) => s.start())]);
      queue.resume();
      resync = startResync({
        intervalMs: options.resyncIntervalMs ?? 10 * 60_000,
        jitter: options.resyncJitter ?? 0.1,
        keys: () => informer.list().map(objectKey),
        enqueue: (key) => queue.add(key),
        timers,
        ...(options.random ? { random: options.random } : {}),
      });
    },
    async stop() {
      resync?.stop();
      await Promise.all([informer.stop(), ...secondaries.filter((s) => s !== informer).map((s) => s.stop())]);
      await queue.shutdown();
    },
    enqueue: (key) => queue.add(key),
    reconciles: () => count,
    resyncs: () => resync?.count() ?? 0,
  };
}
