import { eventually, installWidgetCrd, startContractTarget, statusOf, type ContractTarget } from './target';

// Deletion semantics through client-node: finalizers hold an object with a deletionTimestamp, and the
// garbage collector follows ownerReferences with background, foreground and orphan propagation.
let target: ContractTarget;
let ns: string;

beforeAll(async () => {
  target = await startContractTarget();
  await installWidgetCrd(target);
  ns = await target.namespace();
});
afterAll(() => target.close());

const widget = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'contract.openpds.io/v1', kind: 'Widget', metadata: { name, namespace: ns, ...extra }, spec: { image: 'i' } });
const configMap = (name: string, owner: any, block = false) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: block }] },
  data: { k: 'v' },
});
const exists = async (obj: any) => (await statusOf(target.objects.read(obj)).catch(() => ({ code: 200 }))).code !== 404;
const gone = (obj: any) => eventually(async () => expect(await exists(obj)).toBe(false));

test('a finalizer keeps a deleted object, with deletionTimestamp, until it is removed', async () => {
  const created: any = await target.objects.create(widget('finalized', { finalizers: ['contract.openpds.io/cleanup'] }));
  await target.objects.delete(created);
  const deleting: any = await target.objects.read(created);
  expect(deleting.metadata.deletionTimestamp).toBeTruthy();
  expect(deleting.metadata.generation).toBe(2);
  const added = await statusOf(target.objects.replace({ ...deleting, metadata: { ...deleting.metadata, finalizers: ['contract.openpds.io/cleanup', 'other/new'] } }));
  expect(added.code).toBe(422);
  await target.objects.replace({ ...deleting, metadata: { ...deleting.metadata, finalizers: [] } });
  await gone(created);
});

test('background propagation deletes dependents after the owner', async () => {
  const owner: any = await target.objects.create(widget('bg-owner'));
  const dep = await target.objects.create(configMap('bg-dep', owner));
  await target.objects.delete(owner, undefined, undefined, undefined, undefined, 'Background');
  await gone(owner);
  await gone(dep);
});

test('foreground propagation deletes blocking dependents before the owner', async () => {
  const owner: any = await target.objects.create(widget('fg-owner'));
  const dep: any = await target.objects.create(configMap('fg-dep', owner, true));
  // A finalizer on the dependent lets the test observe the owner waiting for it.
  await target.objects.patch({ ...dep, metadata: { name: 'fg-dep', namespace: ns, finalizers: ['contract.openpds.io/hold'] } }, undefined, undefined, undefined, undefined, target.k8s.PatchStrategy.MergePatch);
  await target.objects.delete(owner, undefined, undefined, undefined, undefined, 'Foreground');
  const waiting: any = await target.objects.read(owner);
  expect(waiting.metadata.deletionTimestamp).toBeTruthy();
  expect(waiting.metadata.finalizers).toContain('foregroundDeletion');
  await eventually(async () => expect(((await target.objects.read(dep)) as any).metadata.deletionTimestamp).toBeTruthy());
  expect(await exists(owner)).toBe(true);
  await target.objects.patch({ ...dep, metadata: { name: 'fg-dep', namespace: ns, finalizers: null } } as any, undefined, undefined, undefined, undefined, target.k8s.PatchStrategy.MergePatch);
  await gone(dep);
  await gone(owner);
});

test('orphan propagation keeps dependents and removes their ownerReferences', async () => {
  const owner: any = await target.objects.create(widget('orphan-owner'));
  const dep = await target.objects.create(configMap('orphan-dep', owner));
  await target.objects.delete(owner, undefined, undefined, undefined, undefined, 'Orphan');
  await gone(owner);
  await eventually(async () => expect(((await target.objects.read(dep)) as any).metadata.ownerReferences ?? []).toEqual([]));
});

test('deleting a namespace deletes what it contains', async () => {
  const scratch = await target.namespace();
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'inside', namespace: scratch }, data: {} };
  await target.objects.create(cm);
  await target.objects.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: scratch } });
  await gone(cm);
  await eventually(async () => expect(await exists({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: scratch } })).toBe(false), 60_000, 200);
});
