/**
 * The replicas handover against the Kubernetes API test server, which implements server-side apply with
 * per-manager ownership and Deployment defaulting: the chart's Deployments applied as the reconciler applies
 * them (applyManifests, the operator's field manager, force), the handover under its own manager.
 */
import { startTestKube, type TestKube } from '../../../test/operator/support/kube';
import type { Domain } from '../domain-types';
import { applyManifests, FIELD_MANAGER } from '../kube/apply';
import type { KubeObject } from '../kube/kube-client';
import { buildDomainChart } from './domain.chart';
import { createDomainContext } from './domain-context';
import { HPA_HANDOVER_FIELD_MANAGER, replicaHandovers, type LiveDeployment } from './replica-handover';
import { BOOTSTRAP, fullDomain } from './testing/domain-fixtures';

const NS = 'tenants';
let kube: TestKube;
beforeAll(async () => {
  kube = await startTestKube();
  await kube.createNamespace(NS);
});
afterAll(() => kube?.close());

/** acme (renamed per test), API server on `replicas` or scaled by an HPA; no uid, so no owner to collect it. */
function domain(name: string, replicas: number, autoscaling?: { minReplicas: number; maxReplicas: number }): Domain {
  const d = fullDomain();
  delete d.metadata.uid;
  d.metadata.name = name;
  d.spec.apiServer = { ...d.spec.apiServer, replicas, autoscaling: autoscaling ? { enabled: true, ...autoscaling } : { enabled: false } };
  d.spec.workers = { ...d.spec.workers, autoscaling: { enabled: false } };
  return d;
}
const deploymentsOf = (d: Domain) => buildDomainChart(d, { bootstrap: BOOTSTRAP }).filter((m) => m.kind === 'Deployment') as KubeObject[];
const getApi = (name: string) => kube.client.get<KubeObject & LiveDeployment & { spec: { replicas?: number } }>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: `${name}-api` });
const replicasOwners = async (name: string) =>
  ((await getApi(name)).metadata?.managedFields ?? []).filter((e) => (e.fieldsV1 as { 'f:spec'?: { 'f:replicas'?: unknown } })?.['f:spec']?.['f:replicas']).map((e) => e.manager);

/** What the reconciler does on each apply: hand over what it must (from the live objects), then apply the chart. */
async function reconcile(d: Domain): Promise<void> {
  const ctx = createDomainContext(d);
  const live = new Map<string, LiveDeployment>();
  for (const name of [ctx.names.api, ctx.names.worker]) {
    const found = await kube.client.find<KubeObject & LiveDeployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name });
    if (found) live.set(name, found);
  }
  const handovers = replicaHandovers(ctx, (name) => live.get(name), FIELD_MANAGER);
  if (handovers.length) await applyManifests(kube.client, handovers as KubeObject[], { fieldManager: HPA_HANDOVER_FIELD_MANAGER });
  await applyManifests(kube.client, deploymentsOf(d));
}

test('without the handover, dropping replicas from the apply resets them to 1 (red team M4)', async () => {
  await applyManifests(kube.client, deploymentsOf(domain('plain', 5)));
  expect((await getApi('plain')).spec.replicas).toBe(5);
  await applyManifests(kube.client, deploymentsOf(domain('plain', 5, { minReplicas: 3, maxReplicas: 10 })));
  expect((await getApi('plain')).spec.replicas).toBe(1);
});

test('enabling autoscaling keeps the 5 replicas; the HPA then owns the field and re-applies leave it alone', async () => {
  await reconcile(domain('switch', 5));
  expect(await replicasOwners('switch')).toEqual([FIELD_MANAGER]);
  const scaled = domain('switch', 5, { minReplicas: 3, maxReplicas: 10 });
  await reconcile(scaled);
  expect((await getApi('switch')).spec.replicas).toBe(5);
  expect(await replicasOwners('switch')).toEqual([HPA_HANDOVER_FIELD_MANAGER]);

  // The HPA scales (through /scale, as kube-controller-manager): the field moves to it without a conflict,
  // and the operator's next applies change nothing (no handover either: someone else owns the field).
  await kube.client.patch({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'switch-api' }, 'merge', { spec: { replicas: 7 } }, { fieldManager: 'kube-controller-manager' });
  await reconcile(scaled);
  await reconcile(scaled);
  expect((await getApi('switch')).spec.replicas).toBe(7);
  expect(await replicasOwners('switch')).toEqual(['kube-controller-manager']);

  // Autoscaling off again: the chart's count wins (force), and the operator owns the field once more.
  await reconcile(domain('switch', 2));
  expect((await getApi('switch')).spec.replicas).toBe(2);
  expect(await replicasOwners('switch')).toEqual([FIELD_MANAGER]);
});

test('enabling autoscaling above the running count starts minReplicas at once', async () => {
  await reconcile(domain('grow', 1));
  await reconcile(domain('grow', 1, { minReplicas: 3, maxReplicas: 10 }));
  expect((await getApi('grow')).spec.replicas).toBe(3);
});

test('a Deployment created under autoscaling (defaulted to 1, owned by nobody) gets minReplicas at the next reconcile', async () => {
  const d = domain('fresh', 2, { minReplicas: 3, maxReplicas: 10 });
  await reconcile(d);
  expect((await getApi('fresh')).spec.replicas).toBe(1);
  await reconcile(d);
  expect((await getApi('fresh')).spec.replicas).toBe(3);
  expect(await replicasOwners('fresh')).toEqual([HPA_HANDOVER_FIELD_MANAGER]);
});
