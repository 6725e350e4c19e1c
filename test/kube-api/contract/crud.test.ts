import { installWidgetCrd, startContractTarget, statusOf, type ContractTarget } from './target';

// CRUD through @kubernetes/client-node: identity and versioning metadata, errors as Status, selectors and
// paging, generation, the status subresource, schema defaults/validation and dryRun.
let target: ContractTarget;
let ns: string;
const widget = (name: string, spec: Record<string, unknown> = { image: 'img:1' }, labels: Record<string, string> = {}) => ({
  apiVersion: 'contract.openpds.io/v1',
  kind: 'Widget',
  metadata: { name, namespace: ns, labels },
  spec,
});

beforeAll(async () => {
  target = await startContractTarget();
  await installWidgetCrd(target);
  ns = await target.namespace();
});
afterAll(() => target.close());

test('create sets uid, creationTimestamp, generation, resourceVersion and schema defaults', async () => {
  const created: any = await target.objects.create(widget('defaults'));
  expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
  expect(Date.parse(created.metadata.creationTimestamp)).not.toBeNaN();
  expect(created.metadata.generation).toBe(1);
  expect(Number(created.metadata.resourceVersion)).toBeGreaterThan(0);
  expect(created.spec).toEqual({ image: 'img:1', size: 'medium', replicas: 1 });
  expect(created.metadata.managedFields?.[0]).toMatchObject({ operation: 'Update', fieldsType: 'FieldsV1' });
});

test('resourceVersion increases across kinds and generation follows only spec changes', async () => {
  const core = target.kc.makeApiClient(target.k8s.CoreV1Api);
  const a: any = await target.objects.create(widget('gen'));
  const cm = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'between' }, data: { k: 'v' } } });
  expect(BigInt(cm.metadata!.resourceVersion!)).toBeGreaterThan(BigInt(a.metadata.resourceVersion));
  const labelled: any = await target.objects.patch({ ...widget('gen'), metadata: { name: 'gen', namespace: ns, labels: { x: 'y' } } } as any, undefined, undefined, undefined, undefined, target.k8s.PatchStrategy.MergePatch);
  expect(labelled.metadata.generation).toBe(1);
  expect(BigInt(labelled.metadata.resourceVersion)).toBeGreaterThan(BigInt(cm.metadata!.resourceVersion!));
  const changed: any = await target.objects.patch({ ...widget('gen'), spec: { replicas: 3 } } as any, undefined, undefined, undefined, undefined, target.k8s.PatchStrategy.MergePatch);
  expect(changed.metadata.generation).toBe(2);
});

test('errors are Status objects: 404, 409 AlreadyExists, 409 Conflict, 422 Invalid with causes', async () => {
  const missing = await statusOf(target.objects.read({ apiVersion: 'contract.openpds.io/v1', kind: 'Widget', metadata: { name: 'nope', namespace: ns } }));
  expect(missing).toMatchObject({ code: 404, body: { kind: 'Status', reason: 'NotFound', details: { name: 'nope', group: 'contract.openpds.io', kind: 'widgets' } } });

  const first: any = await target.objects.create(widget('dup'));
  expect(await statusOf(target.objects.create(widget('dup')))).toMatchObject({ code: 409, body: { reason: 'AlreadyExists' } });

  await target.objects.replace({ ...first, spec: { ...first.spec, replicas: 2 } });
  const stale = await statusOf(target.objects.replace({ ...first, spec: { ...first.spec, replicas: 5 } }));
  expect(stale).toMatchObject({ code: 409, body: { reason: 'Conflict' } });
  expect(stale.body.message).toContain('the object has been modified');

  const bad = await statusOf(target.objects.create(widget('bad', { size: 'huge', replicas: -1 })));
  expect(bad.code).toBe(422);
  expect(bad.body.reason).toBe('Invalid');
  const fields = bad.body.details.causes.map((c: { field: string }) => c.field).sort();
  expect(fields).toEqual(['spec.image', 'spec.replicas', 'spec.size']);
});

test('unknown fields are pruned, or rejected with fieldValidation=Strict', async () => {
  const created: any = await target.objects.create(widget('pruned', { image: 'i', bogus: true }));
  expect(created.spec.bogus).toBeUndefined();
  const url = `${target.kc.getCurrentCluster()!.server}/apis/contract.openpds.io/v1/namespaces/${ns}/widgets?fieldValidation=Strict`;
  const opts = await target.kc.applyToFetchOptions({});
  const res = await fetch(url, { ...(opts as object), method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(widget('strict', { image: 'i', bogus: true })) } as RequestInit);
  expect(res.status).toBe(400);
  expect(((await res.json()) as { message: string }).message).toContain('unknown field "spec.bogus"');
});

test('label and field selectors, limit and continue', async () => {
  for (const [name, tier] of [['sel-a', 'web'], ['sel-b', 'web'], ['sel-c', 'db']] as const) {
    await target.objects.create(widget(name, { image: 'i' }, { tier, suite: 'selectors' }));
  }
  const list = (labelSelector?: string, fieldSelector?: string, limit?: number, cont?: string) =>
    target.objects.list('contract.openpds.io/v1', 'Widget', ns, undefined, undefined, undefined, fieldSelector, labelSelector, limit, cont);
  const names = (l: any) => l.items.map((i: any) => i.metadata.name);
  expect(names(await list('tier=web'))).toEqual(['sel-a', 'sel-b']);
  expect(names(await list('suite=selectors,tier!=web'))).toEqual(['sel-c']);
  expect(names(await list('tier in (db,cache)'))).toEqual(['sel-c']);
  expect(names(await list(undefined, 'metadata.name=sel-b'))).toEqual(['sel-b']);
  // KubernetesObjectApi.list drops list metadata for custom kinds; CustomObjectsApi returns it as sent.
  const custom = target.kc.makeApiClient(target.k8s.CustomObjectsApi);
  const page = (cont?: string) =>
    custom.listNamespacedCustomObject({ group: 'contract.openpds.io', version: 'v1', namespace: ns, plural: 'widgets', labelSelector: 'suite=selectors', limit: 2, ...(cont ? { _continue: cont } : {}) });
  const page1: any = await page();
  expect(names(page1)).toEqual(['sel-a', 'sel-b']);
  expect(page1.metadata.continue).toBeTruthy();
  expect(page1.metadata.remainingItemCount).toBe(1);
  const page2: any = await page(page1.metadata.continue);
  expect(names(page2)).toEqual(['sel-c']);
  expect(page2.metadata.continue ?? '').toBe('');
});

test('status subresource: object writes ignore status, /status writes ignore the rest', async () => {
  const custom = target.kc.makeApiClient(target.k8s.CustomObjectsApi);
  const base = { group: 'contract.openpds.io', version: 'v1', namespace: ns, plural: 'widgets' };
  const created: any = await target.objects.create({ ...widget('status'), status: { observedGeneration: 9 } } as any);
  expect(created.status).toBeUndefined();
  const withStatus: any = await custom.replaceNamespacedCustomObjectStatus({ ...base, name: 'status', body: { ...created, spec: { image: 'changed' }, status: { observedGeneration: 1 } } });
  expect(withStatus.status).toEqual({ observedGeneration: 1 });
  expect(withStatus.spec.image).toBe('img:1');
  expect(withStatus.metadata.generation).toBe(1);
  const specOnly: any = await target.objects.replace({ ...withStatus, spec: { ...withStatus.spec, image: 'img:2' }, status: { observedGeneration: 7 } });
  expect(specOnly.status).toEqual({ observedGeneration: 1 });
  expect(specOnly.metadata.generation).toBe(2);
});

test('dryRun=All validates and answers without persisting', async () => {
  const dry: any = await target.objects.create(widget('dry'), undefined, 'All');
  expect(dry.metadata.name).toBe('dry');
  expect((await statusOf(target.objects.read({ apiVersion: 'contract.openpds.io/v1', kind: 'Widget', metadata: { name: 'dry', namespace: ns } }))).code).toBe(404);
  const real: any = await target.objects.create(widget('dry'));
  await target.objects.delete(real, undefined, 'All');
  const still: any = await target.objects.read(real);
  expect(still.metadata.resourceVersion).toBe(real.metadata.resourceVersion);
});

test('built-in kinds: Secret stringData is folded into data; namespaces must exist', async () => {
  const core = target.kc.makeApiClient(target.k8s.CoreV1Api);
  const secret = await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 's' }, stringData: { password: 'hunter2' } } });
  expect(secret.data).toEqual({ password: Buffer.from('hunter2').toString('base64') });
  expect(secret.type).toBe('Opaque');
  const missing = await statusOf(core.createNamespacedConfigMap({ namespace: 'does-not-exist-ns', body: { metadata: { name: 'x' } } }));
  expect(missing.code).toBe(404);
});
