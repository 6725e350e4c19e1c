/**
 * Leader election on a coordination.k8s.io/v1 Lease, the client-go algorithm: the holder renews the Lease
 * every `renewIntervalMs`; a candidate takes it over only after seeing the same record unchanged for a
 * whole lease duration *by its own clock* (never by comparing renewTime with its clock: nodes' clocks
 * differ). Writes carry the resourceVersion read, so two candidates cannot both win (one gets 409). A
 * leader that cannot renew within `renewDeadlineMs` stops leading before the lease can expire under it:
 * the deadline runs on its own timer, armed at each renew, and aborts the renew still in flight, so a
 * request stuck on a frozen connection (no answer, no socket error, a 30 s idle timeout far away) cannot
 * keep a leader that others already see as gone (client-go bounds each renew by the same deadline).
 * On shutdown the leader releases the Lease (empty holder) so a successor starts at once.
 */
import { isConflict, isNotFound, KubeApiError, resourcePath, type KubeClient, type KubeObject } from './kube-client';
import { REAL_TIMERS, type Timers } from './work-queue';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
type Lease = KubeObject & { spec?: LeaseSpec };

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  /** How often the leader renews and a candidate retries. */
  retryIntervalMs?: number;
  timers?: Timers;
  /** Wall clock for the Lease's timestamps (informational; expiry uses `timers.now`). */
  wallClock?: () => Date;
  onStoppedLeading?: () => void;
  /** Each attempt that could not read or write the Lease (e.g. 403 from RBAC): the candidate stays standby. */
  onError?: (error: unknown) => void;
  /** Each attempt that found the Lease held, and not yet expired, by another identity. */
  onStandby?: (holder: string) => void;
}

export interface LeaderElector {
  /** Resolves once this instance leads (or when stopped before, with false). */
  acquire(): Promise<boolean>;
  isLeader(): boolean;
  /** Stops renewing and, if leading, hands the Lease back. */
  release(): Promise<void>;
  /** Stops renewing and retrying without touching the Lease (a crash, for tests). */
  abandon(): void;
}

const LEASE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } as const;
// metav1.MicroTime: RFC 3339 with microseconds.
const microTime = (d: Date) => d.toISOString().replace(/Z$/, '000Z');

export function createLeaderElector(options: LeaderElectorOptions): LeaderElector {
  const timers = options.timers ?? REAL_TIMERS;
  const wall = options.wallClock ?? (() => new Date());
  const durationMs = options.leaseDurationMs ?? 15_000;
  // client-go requires renewDeadline < leaseDuration: the leader must give up before a candidate, who
  // counts a whole lease duration from when it saw the last renew, may take over.
  const deadlineMs = Math.min(options.renewDeadlineMs ?? Math.floor((durationMs * 2) / 3), durationMs - 1);
  const retryMs = options.retryIntervalMs ?? Math.max(50, Math.floor(durationMs / 7.5));
  const ref = { ...LEASE, namespace: options.namespace, name: options.name };
  let leader = false;
  let stopped = false;
  let timer: unknown;
  let observed: { record: string; at: number } | undefined;
  let wake: (() => void) | undefined;
  let deadlineTimer: unknown;
  /** Aborts the Lease request in flight (the leader's renew when its deadline passes). */
  let inflight: AbortController | undefined;

  const sleep = (ms: number) => new Promise<void>((resolve) => ((wake = resolve), (timer = timers.setTimeout(resolve, ms))));

  function spec(previous: LeaseSpec | undefined, now: Date): LeaseSpec {
    const same = previous?.holderIdentity === options.identity;
    return {
      holderIdentity: options.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(durationMs / 1000)),
      acquireTime: same && previous?.acquireTime ? previous.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (same || !previous?.holderIdentity ? 0 : 1),
    };
  }

  const leasePath = resourcePath(ref);
  /** One attempt; true when this instance holds the Lease afterwards. */
  async function tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    let lease: Lease | undefined;
    try {
      lease = await options.client.request<Lease>('GET', leasePath, { signal });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (!lease) {
      try {
        const body = { ...LEASE, metadata: { name: options.name, namespace: options.namespace }, spec: spec(undefined, wall()) };
        await options.client.request('POST', resourcePath({ ...ref, name: '' }), { body, signal, discardResponse: true });
        return true;
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 409) return false; // another candidate created it first
        throw error;
      }
    }
    const holder = lease.spec?.holderIdentity;
    if (holder && holder !== options.identity && leader) {
      // Someone took the Lease while this instance thought it led (it saw it expire): step down now
      // rather than at the renew deadline, the two must not reconcile side by side a moment longer.
      stepDown();
      return false;
    }
    if (holder && holder !== options.identity) {
      const record = JSON.stringify([holder, lease.spec?.renewTime, lease.metadata?.resourceVersion]);
      if (observed?.record !== record) observed = { record, at: timers.now() };
      const seenMs = (lease.spec?.leaseDurationSeconds ?? durationMs / 1000) * 1000;
      if (timers.now() < observed.at + seenMs) {
        options.onStandby?.(holder);
        return false;
      }
    }
    try {
      await options.client.request('PUT', leasePath, { body: { ...lease, spec: spec(lease.spec, wall()) }, signal, discardResponse: true });
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }

  async function attempt(): Promise<boolean> {
    const controller = (inflight = new AbortController());
    try {
      return await tryAcquireOrRenew(controller.signal);
    } catch (error) {
      if (!controller.signal.aborted) options.onError?.(error);
      return false;
    } finally {
      if (inflight === controller) inflight = undefined;
    }
  }

  /** Stops leading at once: reconciles must stop before a candidate can see the Lease as expired. */
  function stepDown() {
    if (!leader) return;
    leader = false;
    timers.clearTimeout(deadlineTimer);
    inflight?.abort(new Error(`leader election: no renew of Lease ${options.namespace}/${options.name} within ${deadlineMs} ms`));
    timers.clearTimeout(timer);
    wake?.();
    options.onStoppedLeading?.();
  }

  /** `startedAt`: when the renew that succeeded was sent (the server wrote it no earlier). */
  function renewed(startedAt: number) {
    timers.clearTimeout(deadlineTimer);
    deadlineTimer = timers.setTimeout(stepDown, Math.max(0, startedAt + deadlineMs - timers.now()));
  }

  async function renewLoop(): Promise<void> {
    while (!stopped && leader) {
      await sleep(retryMs);
      if (stopped || !leader) return;
      const startedAt = timers.now();
      const ok = await attempt();
      // The deadline timer may have fired while the renew was in flight: leadership is not won back by it.
      if (ok && leader && !stopped) renewed(startedAt);
    }
  }

  return {
    async acquire() {
      while (!stopped) {
        const startedAt = timers.now();
        if (await attempt()) {
          if (stopped) return false;
          leader = true;
          renewed(startedAt);
          void renewLoop();
          return true;
        }
        await sleep(retryMs);
      }
      return false;
    },
    isLeader: () => leader,
    async release() {
      stopped = true;
      timers.clearTimeout(timer);
      timers.clearTimeout(deadlineTimer);
      wake?.();
      if (!leader) return;
      leader = false;
      try {
        const lease = await options.client.get<Lease>(ref);
        if (lease.spec?.holderIdentity !== options.identity) return;
        // An empty holder and a 1 s duration: what client-go writes with ReleaseOnCancel.
        await options.client.replace({ ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(wall()) } });
      } catch (error) {
        if (!isNotFound(error)) options.onError?.(error);
      }
    },
    abandon() {
      stopped = true;
      leader = false;
      timers.clearTimeout(timer);
      timers.clearTimeout(deadlineTimer);
      inflight?.abort(new Error('leader election abandoned'));
      wake?.();
    },
  };
}
