import type { Domain } from '../domain-types';
import { buildDomainChart, type Manifest } from './domain.chart';
import { createDomainContext } from './domain-context';
import { HPA_HANDOVER_FIELD_MANAGER, replicaHandovers, type LiveDeployment } from './replica-handover';
import { BOOTSTRAP, fullDomain, quickstartDomain } from './testing/domain-fixtures';

const OPERATOR = 'openpds-operator';
const deployment = (ms: Manifest[], name: string) => ms.find((m) => m.kind === 'Deployment' && m.metadata.name === name) as Manifest & { spec: Record<string, unknown> };

/** acme with its API server on 5 replicas, or scaled 3-10 by an HPA; workers on 4, or scaled 2-20. */
function acme(autoscaling: boolean): Domain {
  const d = fullDomain();
  d.spec.apiServer = { ...d.spec.apiServer, replicas: 5, autoscaling: { enabled: autoscaling, minReplicas: 3, maxReplicas: 10 } };
  d.spec.workers = { ...d.spec.workers, replicas: 4, autoscaling: { ...d.spec.workers!.autoscaling, enabled: autoscaling } };
  return d;
}

/** A live Deployment whose spec.replicas `managers` own (as managedFields record it). */
const live = (replicas: number, ...managers: string[]): LiveDeployment => ({
  spec: { replicas },
  metadata: {
    managedFields: [
      { manager: 'kube-controller-manager', fieldsV1: { 'f:status': {} } } as never,
      ...managers.map((manager) => ({ manager, fieldsV1: { 'f:spec': { 'f:replicas': {}, 'f:template': {} } } })),
    ],
  },
});

test('the chart owns replicas without autoscaling and leaves them to the HPA with it', () => {
  const fixed = buildDomainChart(acme(false), { bootstrap: BOOTSTRAP });
  expect(deployment(fixed, 'acme-api').spec.replicas).toBe(5);
  expect(deployment(fixed, 'acme-worker').spec.replicas).toBe(4);
  const scaled = buildDomainChart(acme(true), { bootstrap: BOOTSTRAP });
  expect(deployment(scaled, 'acme-api').spec).not.toHaveProperty('replicas');
  expect(deployment(scaled, 'acme-worker').spec).not.toHaveProperty('replicas');
  expect(scaled.filter((m) => m.kind === 'HorizontalPodAutoscaler').map((m) => m.metadata.name)).toEqual(['acme-api', 'acme-worker']);
});

test('switching to autoscaling: the operator-owned live count is handed over, within the HPA bounds', () => {
  const ctx = createDomainContext(acme(true));
  const handovers = replicaHandovers(ctx, (name) => (name === 'acme-api' ? live(5, OPERATOR) : live(4, OPERATOR)), OPERATOR);
  // Only the field and what names the object: the handover manager must own nothing else.
  expect(handovers).toEqual([
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'acme-api', namespace: 'tenants' }, spec: { replicas: 5 } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'acme-worker', namespace: 'tenants' }, spec: { replicas: 4 } },
  ]);
  // Below minReplicas: the minimum at once (the HPA would scale up to it); above maxReplicas: the maximum.
  const bounded = (api: number) => replicaHandovers(ctx, (name) => (name === 'acme-api' ? live(api, OPERATOR) : undefined), OPERATOR);
  expect(bounded(1).map((m) => (m.spec as { replicas: number }).replicas)).toEqual([3]);
  expect(bounded(30).map((m) => (m.spec as { replicas: number }).replicas)).toEqual([10]);
});

test('nothing to hand over once another manager owns replicas, so re-applying never fights the HPA', () => {
  const ctx = createDomainContext(acme(true));
  for (const other of [HPA_HANDOVER_FIELD_MANAGER, 'kube-controller-manager', 'kubectl']) {
    expect(replicaHandovers(ctx, () => live(7, other), OPERATOR)).toEqual([]);
    // Shared with the operator (both applied the same value): still someone else's once the operator lets go.
    expect(replicaHandovers(ctx, () => live(7, OPERATOR, other), OPERATOR)).toEqual([]);
  }
});

test('a Deployment whose replicas nobody owns (created under autoscaling: defaulted to 1) gets minReplicas', () => {
  const ctx = createDomainContext(acme(true));
  expect(replicaHandovers(ctx, (name) => (name === 'acme-worker' ? { spec: { replicas: 1 }, metadata: {} } : undefined), OPERATOR)).toEqual([
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'acme-worker', namespace: 'tenants' }, spec: { replicas: 2 } },
  ]);
});

test('no handover without an HPA, nor for a Deployment that does not exist yet', () => {
  const owned = () => live(5, OPERATOR);
  expect(replicaHandovers(createDomainContext(acme(false)), owned, OPERATOR)).toEqual([]);
  expect(replicaHandovers(createDomainContext(acme(true)), () => undefined, OPERATOR)).toEqual([]);
  // Stopped (apiServer.replicas 0, no autoscaling): the workers' HPA is not rendered, so the chart owns their 0.
  const stopped = acme(true);
  stopped.spec.apiServer = { ...stopped.spec.apiServer, replicas: 0, autoscaling: { enabled: false } };
  expect(replicaHandovers(createDomainContext(stopped), owned, OPERATOR)).toEqual([]);
  expect(deployment(buildDomainChart(stopped, { bootstrap: BOOTSTRAP }), 'acme-worker').spec.replicas).toBe(0);
  // A volume: one API server pod, no HPA, no workers.
  expect(replicaHandovers(createDomainContext(quickstartDomain()), owned, OPERATOR)).toEqual([]);
});
