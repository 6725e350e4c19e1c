import { installWidgetCrd, startContractTarget, statusOf, type ContractTarget } from './target';

// Server-side apply through client-node: per-manager ownership, conflicts and force, removal of fields a
// manager stops applying, shared ownership of equal values, and merge semantics of list types.
let target: ContractTarget;
let ns: string;

beforeAll(async () => {
  target = await startContractTarget();
  await installWidgetCrd(target);
  ns = await target.namespace();
});
afterAll(() => target.close());

const apply = (manager: string, name: string, spec: Record<string, unknown>, force = false, extra: Record<string, unknown> = {}) =>
  target.objects.patch(
    { apiVersion: 'contract.openpds.io/v1', kind: 'Widget', metadata: { name, namespace: ns, ...extra }, spec } as any,
    undefined,
    undefined,
    manager,
    force,
    target.k8s.PatchStrategy.ServerSideApply,
  ) as Promise<any>;

const managers = (obj: any) => Object.fromEntries((obj.metadata.managedFields ?? []).map((m: any) => [m.manager, m]));

test('apply creates the object and records the manager as an Apply owner', async () => {
  const created = await apply('team-a', 'ssa-create', { image: 'a:1', settings: { x: '1' } });
  expect(created.spec).toMatchObject({ image: 'a:1', settings: { x: '1' }, size: 'medium' });
  const owner = managers(created)['team-a'];
  expect(owner.operation).toBe('Apply');
  expect(owner.fieldsV1).toEqual({ 'f:spec': { 'f:image': {}, 'f:settings': { 'f:x': {} } } });
});

test('a different value owned by another manager conflicts (409) unless forced', async () => {
  await apply('team-a', 'ssa-conflict', { image: 'a:1' });
  const conflict = await statusOf(apply('team-b', 'ssa-conflict', { image: 'b:1' }));
  expect(conflict.code).toBe(409);
  expect(conflict.body.reason).toBe('Conflict');
  expect(conflict.body.details.causes).toEqual([expect.objectContaining({ reason: 'FieldManagerConflict', field: '.spec.image' })]);
  const forced = await apply('team-b', 'ssa-conflict', { image: 'b:1' }, true);
  expect(forced.spec.image).toBe('b:1');
  const owners = managers(forced);
  expect(owners['team-b'].fieldsV1).toEqual({ 'f:spec': { 'f:image': {} } });
  expect(owners['team-a']).toBeUndefined(); // its only field moved to team-b
});

test('equal values are co-owned without conflict; a field is removed only when its last owner drops it', async () => {
  await apply('team-a', 'ssa-shared', { image: 'same', replicas: 2, settings: { a: '1', b: '2' } });
  await apply('team-b', 'ssa-shared', { image: 'same' });
  // team-a stops applying image, replicas and settings.b: image stays (team-b owns it), the rest goes.
  const after = await apply('team-a', 'ssa-shared', { settings: { a: '1' } });
  expect(after.spec.image).toBe('same');
  expect(after.spec.settings).toEqual({ a: '1' });
  expect(after.spec.replicas).toBe(1); // removed, then defaulted again by the schema
});

test('map lists merge by key and set lists by value across managers', async () => {
  await apply('team-a', 'ssa-lists', { image: 'i', ports: [{ name: 'http', port: 80 }], tags: ['a'] });
  const both = await apply('team-b', 'ssa-lists', { image: 'i', ports: [{ name: 'metrics', port: 9090 }], tags: ['b'] });
  expect(both.spec.ports).toEqual([{ name: 'http', port: 80 }, { name: 'metrics', port: 9090 }]);
  expect([...both.spec.tags].sort()).toEqual(['a', 'b']);
  const dropped = await apply('team-b', 'ssa-lists', { image: 'i' });
  expect(dropped.spec.ports).toEqual([{ name: 'http', port: 80 }]);
  expect(dropped.spec.tags).toEqual(['a']);
});

test('re-applying the same configuration is a no-op (resourceVersion unchanged)', async () => {
  const first = await apply('team-a', 'ssa-noop', { image: 'x' });
  const second = await apply('team-a', 'ssa-noop', { image: 'x' });
  expect(second.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
});

test('an update (merge patch) takes ownership from the applier without conflict', async () => {
  await apply('team-a', 'ssa-update', { image: 'x', replicas: 2 });
  const patched: any = await target.objects.patch(
    { apiVersion: 'contract.openpds.io/v1', kind: 'Widget', metadata: { name: 'ssa-update', namespace: ns }, spec: { replicas: 5 } } as any,
    undefined, undefined, 'scaler', undefined, target.k8s.PatchStrategy.MergePatch,
  );
  const owners = managers(patched);
  expect(owners.scaler).toMatchObject({ operation: 'Update', fieldsV1: { 'f:spec': { 'f:replicas': {} } } });
  expect(owners['team-a'].fieldsV1).toEqual({ 'f:spec': { 'f:image': {} } });
  const conflict = await statusOf(apply('team-a', 'ssa-update', { image: 'x', replicas: 2 }));
  expect(conflict.body.details.causes[0].message).toContain('conflict with "scaler"');
});

test('apply with dryRun=All changes nothing', async () => {
  const live = await apply('team-a', 'ssa-dry', { image: 'x' });
  const dry: any = await target.objects.patch(
    { apiVersion: 'contract.openpds.io/v1', kind: 'Widget', metadata: { name: 'ssa-dry', namespace: ns }, spec: { image: 'y' } } as any,
    undefined, 'All', 'team-a', undefined, target.k8s.PatchStrategy.ServerSideApply,
  );
  expect(dry.spec.image).toBe('y');
  const after: any = await target.objects.read(live);
  expect(after.spec.image).toBe('x');
  expect(after.metadata.resourceVersion).toBe(live.metadata.resourceVersion);
});
