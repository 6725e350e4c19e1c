// The admin Secret deleted by hand, seen without an apply; and what a deleted Domain says its Drives keep.
// A scripted client, as in domain.test.ts.
import type { Domain, DomainStatus } from '../domain-types';
import { KubeApiError, type KubeClient, type KubeObject } from '../kube/kube-client';
import { createDomainReconciler, DOMAIN_FINALIZER } from './domain';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const base = {
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Domain',
  metadata: { name: 'acme', namespace: 'prod', uid: 'uid-acme', generation: 1, finalizers: [DOMAIN_FINALIZER] },
  spec: { storage: { mode: 'standard', volume: { size: '1Gi' } } },
} as Domain;

function harness(drives: KubeObject[] | Error = []) {
  let clock = Date.parse('2026-01-01T10:00:00Z');
  let adminSecret: KubeObject | undefined;
  const statusWrites: DomainStatus[] = [];
  const events: { reason: string; message: string }[] = [];
  let adminGets = 0;
  let writes = 0;
  const deployments = new Map<string, KubeObject>();
  const client = {
    async find(ref: { kind: string; name: string }) {
      if (ref.kind === 'Deployment') return deployments.get(ref.name);
      if (ref.name === 'acme-admin') return adminGets++, adminSecret;
      return undefined;
    },
    async list(ref: { kind: string }) {
      if (ref.kind === 'Drive' && drives instanceof Error) throw drives;
      return { items: ref.kind === 'Drive' ? drives : [] };
    },
    async patch(ref: { kind: string; name: string }, type: string, body: KubeObject & { status?: DomainStatus }, options: { subresource?: string } = {}) {
      writes++;
      if (options.subresource === 'status') return void statusWrites.push(body.status!);
      if (type === 'apply' && ref.kind === 'Secret') adminSecret ??= body; // the chart's admin Secret, created once
      if (type === 'apply' && ref.kind === 'Deployment') {
        const live = { ...body, metadata: { ...body.metadata, generation: 1 }, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 } };
        deployments.set(body.metadata!.name!, live);
        return live;
      }
      return undefined;
    },
  } as unknown as KubeClient;
  const reconcile = createDomainReconciler({
    client,
    events: { record: async (_o, _t, reason, message) => void events.push({ reason, message }) },
    monitoring: false,
    fetch: async () => ({ ok: true, status: 200 }),
    now: () => new Date(clock),
    monotonicNow: () => clock,
    usageRefreshMs: Infinity,
    generateSecret: () => 'generated',
  });
  let current = base;
  return {
    events,
    get adminGets() {
      return adminGets;
    },
    get writes() {
      return writes;
    },
    deleteAdminSecret: () => void (adminSecret = undefined),
    restoreAdminSecret: () => void (adminSecret = { data: { username: b64('admin'), password: b64('pw'), secretKey: b64('k') } }),
    async reconcileAfter(ms: number, object: Domain = current) {
      clock += ms;
      const before = statusWrites.length;
      const result = await reconcile({ object, namespace: 'prod', name: 'acme', signal: new AbortController().signal, retries: 0 }).catch((error: Error) => error);
      if (statusWrites.length > before) current = { ...current, status: statusWrites[statusWrites.length - 1] };
      return { result, ready: current.status?.conditions?.find((c) => c.type === 'Ready') };
    },
  };
}

test('an admin Secret deleted by hand turns a Ready Domain MissingAdminSecret at a reconcile within the Secret cache TTL, with no apply', async () => {
  const h = harness();
  expect((await h.reconcileAfter(0)).ready).toMatchObject({ status: 'True', reason: 'Ready' });
  // Steady state: a reconcile every second (Deployment status changes, resyncs) reads the admin Secret at
  // most once per 30 s, and writes nothing.
  const gets = h.adminGets;
  const writes = h.writes;
  for (let i = 0; i < 60; i++) expect((await h.reconcileAfter(1000)).ready).toMatchObject({ status: 'True' });
  expect(h.adminGets - gets).toBeLessThanOrEqual(2);
  expect(h.writes).toBe(writes);

  h.deleteAdminSecret();
  let seen: Awaited<ReturnType<typeof h.reconcileAfter>> | undefined;
  for (let s = 1; s <= 31 && seen?.ready?.reason !== 'MissingAdminSecret'; s++) seen = await h.reconcileAfter(1000);
  expect(seen!.ready).toMatchObject({ status: 'False', reason: 'MissingAdminSecret', message: expect.stringContaining('the admin Secret prod/acme-admin was deleted') });
  expect(seen!.result).toBeInstanceOf(Error); // retried with backoff
  expect(h.events.map((e) => e.reason)).toContain('MissingAdminSecret');
  // No new credentials were applied: the Secret is still gone. Restored, the Domain is Ready again.
  h.restoreAdminSecret();
  expect((await h.reconcileAfter(1000)).ready).toMatchObject({ status: 'True', reason: 'Ready' });
});

test("a deleted Domain's Deleted event counts as keeping data only the Retain Drives that have a drive (not a NameConflict that never made one)", async () => {
  const drive = (name: string, reclaimPolicy: string, driveId?: string): KubeObject => ({ metadata: { name }, spec: { domainRef: { name: 'acme' }, reclaimPolicy }, status: driveId ? { driveId } : { conditions: [{ type: 'Ready', status: 'False', reason: 'NameConflict' }] } });
  const h = harness([drive('team', 'Retain', 'd-1'), drive('team-again', 'Retain'), drive('other', 'Delete', 'd-2')]);
  const deleting = { ...base, metadata: { ...base.metadata, deletionTimestamp: '2026-01-01T10:00:00Z' } } as Domain;
  await h.reconcileAfter(0, deleting);
  const deleted = h.events.find((e) => e.reason === 'Deleted');
  expect(deleted?.message).toContain('1 Drive(s) with reclaimPolicy Retain keep their data');
});

// Only "the Drive CRD is not installed" (404) means no Drives: a 500, a timeout or a 403 on the list used
// to count as none too, and the Domain tore its data plane down while a reclaimPolicy Delete Drive still
// needed it to delete its data (found by the session 25 review).
test('a deleting Domain whose Drive list fails waits and retries; only a 404 (no Drive CRD) means no Drives', async () => {
  const deleting = { ...base, metadata: { ...base.metadata, deletionTimestamp: '2026-01-01T10:00:00Z' } } as Domain;
  const failing = harness(new KubeApiError(500, 'InternalError', 'etcdserver: request timed out'));
  const { result } = await failing.reconcileAfter(0, deleting);
  expect(result).toBeInstanceOf(Error);
  expect((result as Error).message).toContain('etcdserver: request timed out');
  expect(failing.events.map((e) => e.reason)).not.toContain('Deleted');

  const noCrd = harness(new KubeApiError(404, 'NotFound', 'the server could not find the requested resource'));
  await noCrd.reconcileAfter(0, deleting);
  expect(noCrd.events.map((e) => e.reason)).toContain('Deleted');
});
