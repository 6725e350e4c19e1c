/**
 * A Domain reconciled again right after its own writes, from an informer cache that has not seen them all
 * yet (the watch event of its finalizer write, a Deployment's status update, queued while it ran): it must
 * start from what it wrote, not write that status again with a new lastTransitionTime, apply its chart
 * again, or say its Event twice. Against a fake API server that keeps every version of the Domain.
 */
import type { AdminClient } from '../admin-client/admin-client';
import type { Domain } from '../domain-types';
import { KubeApiError, type KubeClient, type KubeObject } from '../kube/kube-client';
import { createDomainReconciler, DOMAIN_FINALIZER } from './domain';

type DomainObject = Domain & KubeObject;

function apiServer() {
  let clock = Date.parse('2026-12-07T07:00:00Z');
  let rv = 1;
  let domain: DomainObject = {
    apiVersion: 'openpds.io/v1alpha1',
    kind: 'Domain',
    metadata: { name: 'acme', namespace: 'prod', uid: 'uid-acme', generation: 1, resourceVersion: '1' },
    spec: { storage: { mode: 'standard', volume: { size: '1Gi' } } },
  } as DomainObject;
  const versions = new Map<string, DomainObject>([['1', domain]]); // resourceVersion → the Domain then
  const objects = new Map<string, KubeObject>(); // kind/name: the children
  const log: string[] = []; // the requests, as the API server saw them
  const events: string[] = [];
  const write = (next: DomainObject) => {
    domain = { ...next, metadata: { ...next.metadata, resourceVersion: String(++rv) } };
    versions.set(domain.metadata.resourceVersion!, domain);
    return structuredClone(domain);
  };
  const client = {
    async find(ref: { kind: string; name: string }) {
      log.push(`GET ${ref.kind}/${ref.name}`);
      return structuredClone(ref.kind === 'Domain' ? domain : objects.get(`${ref.kind}/${ref.name}`));
    },
    async list() {
      return { items: [] };
    },
    async patch(ref: { kind: string; name: string }, type: string, body: KubeObject & { status?: Domain['status'] }, options: { subresource?: string; discardResponse?: boolean } = {}) {
      if (ref.kind === 'Domain') {
        let written: DomainObject;
        if (options.subresource === 'status') {
          log.push('PATCH Domain status');
          written = write({ ...domain, status: { ...domain.status, ...body.status } });
        } else {
          log.push(`PATCH Domain finalizers=${body.metadata?.finalizers?.join(',')}`);
          if (body.metadata?.resourceVersion !== domain.metadata.resourceVersion) throw new KubeApiError(409, 'Conflict', 'the object has been modified');
          written = write({ ...domain, metadata: { ...domain.metadata, finalizers: body.metadata!.finalizers! } });
        }
        return options.discardResponse ? undefined : written;
      }
      if (type !== 'apply') throw new Error(`unexpected ${type} patch of ${ref.kind}`);
      log.push(`apply ${ref.kind}/${ref.name}`);
      const before = objects.get(`${ref.kind}/${ref.name}`) as (KubeObject & { status?: unknown }) | undefined;
      const live = ref.kind === 'Deployment' ? { ...body, metadata: { ...body.metadata, generation: 1 }, status: before?.status ?? {} } : body;
      objects.set(`${ref.kind}/${ref.name}`, live);
      return options.discardResponse ? undefined : structuredClone(live);
    },
  } as unknown as KubeClient;
  const reconcile = createDomainReconciler({
    client,
    events: { record: async (_o: KubeObject, _type: string, reason: string) => void events.push(reason) },
    monitoring: false,
    fetch: async () => ({ ok: true, status: 200 }),
    now: () => new Date(clock),
    monotonicNow: () => clock,
    // The Deployment watch's cache, up to date here: only the Domain's lags.
    cachedDeployment: (_ns, name) => objects.get(`Deployment/${name}`),
    adminClients: { get: () => ({ getDomain: async () => ({ domain_id: 'd', trash_retention_days: 30, user_count: 1, drive_count: 1, used_size: 0, total_size: 1, unlimited_drive_count: 0 }) }) as unknown as AdminClient, forget: () => undefined },
  });
  return {
    log,
    events,
    get domain() {
      return domain;
    },
    /** The Domain as an informer that has seen it up to `resourceVersion` holds it. */
    cachedAt: (resourceVersion: string) => structuredClone(versions.get(resourceVersion)!),
    /** `kubectl delete` of a Domain that also holds `finalizers` of others; its children are gone already. */
    deleteHeldBy(...finalizers: string[]) {
      for (const key of [...objects.keys()]) if (key !== 'Secret/acme-admin') objects.delete(key);
      write({ ...domain, metadata: { ...domain.metadata, deletionTimestamp: new Date(clock).toISOString(), finalizers: [...domain.metadata.finalizers!, ...finalizers] } } as DomainObject);
    },
    /** The Deployment controller reports every Deployment rolled out. */
    rollOut() {
      for (const [key, d] of objects) if (key.startsWith('Deployment/')) objects.set(key, { ...d, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 } } as KubeObject);
    },
    /** A reconcile, two seconds after the last one (a rewritten condition would get a new lastTransitionTime). */
    async reconcileFrom(cached: DomainObject) {
      clock += 2000;
      log.length = 0;
      await reconcile({ object: cached, namespace: 'prod', name: 'acme', signal: new AbortController().signal, retries: 0 });
      return [...log];
    },
  };
}

describe('Domain reconcile from a cache older than its own writes', () => {
  it('the wake-up of its own finalizer write, the cache without the status: no second apply, no second status write', async () => {
    const api = apiServer();
    const first = await api.reconcileFrom(api.cachedAt('1'));
    expect(first[0]).toBe(`PATCH Domain finalizers=${DOMAIN_FINALIZER}`);
    expect(first.at(-1)).toBe('PATCH Domain status');
    const afterFirst = api.domain;
    expect(afterFirst.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForReplicas' });
    // The watch event of the finalizer write woke it again; the cache has that write (2), not the status (3).
    expect(await api.reconcileFrom(api.cachedAt('2'))).toEqual(['GET Domain/acme']);
    expect(api.domain).toBe(afterFirst); // unchanged: `kubectl get -w` shows one change, not two
    // Once the cache has caught up, a reconcile reads it, not the API server: nothing at all.
    expect(await api.reconcileFrom(api.cachedAt(afterFirst.metadata.resourceVersion!))).toEqual([]);
  });

  it('Ready, then a wake-up whose cache still shows WaitingForReplicas: one Ready write, one Ready Event', async () => {
    const api = apiServer();
    await api.reconcileFrom(api.cachedAt('1'));
    const waiting = api.domain;
    api.rollOut();
    expect(await api.reconcileFrom(api.cachedAt(waiting.metadata.resourceVersion!))).toEqual(['PATCH Domain status']);
    const ready = api.domain;
    expect(ready.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Ready' });
    expect(api.events).toEqual(['Ready']);
    // The Deployment's next status update woke it while the cache still held the Domain before Ready.
    expect(await api.reconcileFrom(api.cachedAt(waiting.metadata.resourceVersion!))).toEqual(['GET Domain/acme']);
    expect(api.domain).toBe(ready);
    expect(api.events).toEqual(['Ready']); // not "Ready x2" in `kubectl describe`
    expect(await api.reconcileFrom(api.cachedAt(ready.metadata.resourceVersion!))).toEqual([]);
  });

  it('deleted while another finalizer holds it: released once, one Deleted Event, not again from a cache still showing the finalizer', async () => {
    const api = apiServer();
    await api.reconcileFrom(api.cachedAt('1'));
    api.deleteHeldBy('example.com/backup');
    const deleting = api.domain;
    await api.reconcileFrom(deleting);
    expect(api.domain.metadata.finalizers).toEqual(['example.com/backup']);
    expect(api.events).toEqual(['Deleted']);
    // Woken again (a resync, the watch event of the Domain's deletion) before the cache saw the release.
    expect(await api.reconcileFrom(deleting)).toEqual(['GET Domain/acme']);
    expect(api.events).toEqual(['Deleted']); // not "Deleted x2"
  });
});
