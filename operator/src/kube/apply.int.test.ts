import { startTestKube, type TestKube } from '../../../test/operator/support/kube';
import { applyManifests, FIELD_MANAGER, listOwned, pruneStale } from './apply';
import { addFinalizer, hasFinalizer, removeFinalizer } from './finalizers';
import { refOf, type KubeObject } from './kube-client';

// Against the Kubernetes API test server, which implements server-side apply with per-manager ownership.
const NS = 'apply-test';
let kube: TestKube;
// Real owners: the test server collects garbage, so an ownerReference to no object would be deleted.
let OWNER_UID = '';
let OTHER_UID = '';
beforeAll(async () => {
  kube = await startTestKube();
  await kube.createNamespace(NS);
  const owner = (name: string) => kube.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS } });
  OWNER_UID = (await owner('owner-d1')).metadata!.uid!;
  OTHER_UID = (await owner('owner-d2')).metadata!.uid!;
});
afterAll(() => kube?.close());

const ownedBy = (uid: string) => [{ apiVersion: 'v1', kind: 'ConfigMap', name: uid === OWNER_UID ? 'owner-d1' : 'owner-d2', uid, controller: true, blockOwnerDeletion: true }];
const cm = (name: string, generation: number, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: NS, labels: { 'openpds.io/domain': 'd1', 'openpds.io/generation': String(generation) }, ownerReferences: ownedBy(OWNER_UID) },
  data,
});
const get = (name: string) => kube.client.find<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name });

test('server-side apply creates, updates, drops fields no longer set, and overrides hand edits (force)', async () => {
  await applyManifests(kube.client, [cm('a', 1, { x: '1', y: '2' })]);
  expect((await get('a'))?.data).toEqual({ x: '1', y: '2' });
  expect((await get('a'))?.metadata?.managedFields).toEqual([expect.objectContaining({ manager: FIELD_MANAGER, operation: 'Apply' })]);

  // Someone else takes ownership of x; a forced apply takes it back instead of failing with a conflict.
  await kube.client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'a' }, 'apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: NS }, data: { x: 'hand' } }, { fieldManager: 'kubectl', force: true });
  expect((await get('a'))?.data?.x).toBe('hand');
  await applyManifests(kube.client, [cm('a', 1, { x: '1' })]);
  expect((await get('a'))?.data).toEqual({ x: '1' });

  const requests = kube.server.hooks.requests().filter((r) => r.method === 'PATCH' && r.path.endsWith('/configmaps/a'));
  expect(requests.at(-1)).toMatchObject({ contentType: 'application/apply-patch+yaml' });
  expect(requests.at(-1)!.query).toContain('force=true');
});

test('prune deletes only the owner’s objects with a stale generation and keeps what `keep` protects', async () => {
  await applyManifests(kube.client, [cm('old', 1, {}), cm('kept', 1, { retain: 'yes' }), cm('current', 2, {})]);
  await kube.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other-owner', namespace: NS, labels: { 'openpds.io/domain': 'd2', 'openpds.io/generation': '1' } } });
  await kube.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unlabelled', namespace: NS, labels: { 'openpds.io/domain': 'd1' }, ownerReferences: ownedBy(OWNER_UID) } });
  // The owner's labels on objects it does not control (kustomize commonLabels, a copy-paste): never its to delete.
  await kube.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'labelled-only', namespace: NS, labels: { 'openpds.io/domain': 'd1', 'openpds.io/generation': '1' } } });
  await kube.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other-uid', namespace: NS, labels: { 'openpds.io/domain': 'd1', 'openpds.io/generation': '1' }, ownerReferences: ownedBy(OTHER_UID) } });
  const pruned = await pruneStale(kube.client, {
    namespace: NS,
    ownerSelector: 'openpds.io/domain=d1',
    ownerUid: OWNER_UID,
    generationLabel: 'openpds.io/generation',
    generation: '2',
    kinds: [{ apiVersion: 'v1', kind: 'ConfigMap' }],
    keep: (o) => (o as { data?: Record<string, string> }).data?.retain === 'yes',
  });
  expect(pruned.sort()).toEqual(['ConfigMap/a', 'ConfigMap/old']);
  expect(await get('old')).toBeUndefined();
  for (const name of ['kept', 'current', 'other-owner', 'unlabelled', 'labelled-only', 'other-uid']) expect(await get(name)).toBeDefined();
  const owned = await listOwned(kube.client, { namespace: NS, ownerSelector: 'openpds.io/domain=d1', ownerUid: OWNER_UID, kinds: [{ apiVersion: 'v1', kind: 'ConfigMap' }] });
  expect(owned.map((o) => o.metadata?.name).sort()).toEqual(['current', 'kept', 'unlabelled']);
});

// A kind the cluster does not serve (the Prometheus Operator's CRDs removed, or some never installed)
// holds no objects: a prune or a Domain's deletion that lists it must go on, not fail for good.
test('prune and listOwned pass over a kind the cluster does not serve', async () => {
  const kinds = [{ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule' }, { apiVersion: 'v1', kind: 'ConfigMap' }];
  const pruned = await pruneStale(kube.client, { namespace: NS, ownerSelector: 'openpds.io/domain=d1', ownerUid: OWNER_UID, generationLabel: 'openpds.io/generation', generation: '3', kinds });
  expect(pruned.sort()).toEqual(['ConfigMap/current', 'ConfigMap/kept']);
  const owned = await listOwned(kube.client, { namespace: NS, ownerSelector: 'openpds.io/domain=d1', ownerUid: OWNER_UID, kinds });
  expect(owned.map((o) => o.metadata?.name).sort()).toEqual(['unlabelled']);
});

test('finalizers: added once, kept beside others, a stale write conflicts, removal lets deletion finish', async () => {
  const created = await kube.client.create({ ...cm('fin', 1, {}), metadata: { ...cm('fin', 1, {}).metadata, finalizers: ['example.com/other'] } });
  const withOurs = await addFinalizer(kube.client, created, 'openpds.io/test');
  expect(withOurs.metadata?.finalizers).toEqual(['example.com/other', 'openpds.io/test']);
  expect(await addFinalizer(kube.client, withOurs, 'openpds.io/test')).toBe(withOurs); // no write when present
  // A write based on a stale object must not drop what changed since: its 409 brings a fresh read, and
  // the write is made again from that (another controller's finalizer added meanwhile is kept).
  const stale = { ...created, metadata: { ...created.metadata, finalizers: ['openpds.io/test'] } };
  await kube.client.patch(refOf(created), 'merge', { metadata: { finalizers: ['example.com/other', 'openpds.io/test', 'example.com/late'] } });
  expect((await removeFinalizer(kube.client, stale, 'openpds.io/test')).metadata?.finalizers).toEqual(['example.com/other', 'example.com/late']);
  await kube.client.patch(refOf(created), 'merge', { metadata: { finalizers: ['example.com/other', 'openpds.io/test'] } });

  await kube.client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'fin' });
  let live = (await get('fin'))!;
  expect(live.metadata?.deletionTimestamp).toBeDefined();
  live = await removeFinalizer(kube.client, live, 'openpds.io/test');
  expect(hasFinalizer(live, 'openpds.io/test')).toBe(false);
  expect(await get('fin')).toBeDefined(); // the other controller's finalizer still holds it
  await removeFinalizer(kube.client, live, 'example.com/other');
  expect(await get('fin')).toBeUndefined();
});
