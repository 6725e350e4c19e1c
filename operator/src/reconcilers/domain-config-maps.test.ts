import { createDomainContext } from '../charts/domain-context';
import type { Domain } from '../domain-types';
import type { KubeClient, KubeObject } from '../kube/kube-client';
import { configMapsOf, createConfigMapPruner } from './domain-config-maps';

const ctx = createDomainContext({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', metadata: { name: 'acme', namespace: 'prod', uid: 'uid-acme', generation: 2 }, spec: { storage: { volume: {} } } } as Domain);
const deployment = (configMap: string, init?: string): KubeObject =>
  ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'acme-api' }, spec: { template: { spec: { ...(init ? { initContainers: [{ envFrom: [{ configMapRef: { name: init } }] }] } : {}), containers: [{ envFrom: [{ configMapRef: { name: configMap } }] }] } } } }) as KubeObject;
const configMap = (name: string, owner = 'uid-acme'): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'prod', ownerReferences: [{ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', name: 'acme', uid: owner, controller: true }] } });

/** A client over `live` ConfigMaps that records every request. */
function fakeClient(live: KubeObject[], failList = false) {
  const requests: string[] = [];
  const client = {
    async list(_ref: unknown, query: { labelSelector?: string }) {
      requests.push(`list ${query.labelSelector}`);
      if (failList) throw new Error('503 Service Unavailable');
      return { items: structuredClone(live) };
    },
    async delete(ref: { kind: string; name: string }) {
      requests.push(`delete ${ref.kind}/${ref.name}`);
    },
  } as unknown as KubeClient;
  return { client, requests };
}

test('configMapsOf: every envFrom ConfigMap of the pod template, init containers too, once each', () => {
  expect(configMapsOf(deployment('acme-config-b', 'acme-config-a'))).toEqual(['acme-config-a', 'acme-config-b']);
  expect(configMapsOf(deployment('acme-config-a', 'acme-config-a'))).toEqual(['acme-config-a']);
  expect(configMapsOf(undefined)).toEqual([]);
});

test('a new Domain, or one whose settings did not change, costs no request', async () => {
  const { client, requests } = fakeClient([configMap('acme-config-new')]);
  const pruner = createConfigMapPruner({ client });
  pruner.beforeApply('prod/acme', [undefined, undefined], 'acme-config-new'); // nothing ran before
  await pruner.pruneWhenReady('prod/acme', ctx, 'acme-config-new', [deployment('acme-config-new')]);
  pruner.beforeApply('prod/acme', [deployment('acme-config-new')], 'acme-config-new'); // a re-apply
  await pruner.pruneWhenReady('prod/acme', ctx, 'acme-config-new', [deployment('acme-config-new')]);
  expect(requests).toEqual([]);
});

test('held back (a Deployment still names the old one): no request until it is free; then only the Domain\'s own unused ones go', async () => {
  const live = [configMap('acme-config-old'), configMap('acme-config-new'), configMap('acme-config-orphan'), configMap('acme-config-foreign', 'uid-other')];
  const { client, requests } = fakeClient(live);
  const log: unknown[] = [];
  const pruner = createConfigMapPruner({ client, log: (level, message, fields) => void log.push([level, message, fields]) });
  pruner.beforeApply('prod/acme', [deployment('acme-config-old')], 'acme-config-new');
  // The rollout budget held the Deployment: it still names the old ConfigMap.
  await pruner.pruneWhenReady('prod/acme', ctx, 'acme-config-new', [deployment('acme-config-old')]);
  await pruner.pruneWhenReady('prod/acme', ctx, 'acme-config-new', [deployment('acme-config-old')]);
  expect(requests).toEqual([]);
  // Its turn came and it rolled out: one list, and the deletes (an orphan of a crash goes too; another owner's stays).
  await pruner.pruneWhenReady('prod/acme', ctx, 'acme-config-new', [deployment('acme-config-new')]);
  expect(requests).toEqual(['list openpds.io/domain=acme,app.kubernetes.io/component=config', 'delete ConfigMap/acme-config-old', 'delete ConfigMap/acme-config-orphan']);
  expect(log).toEqual([['info', expect.any(String), { domain: 'prod/acme', deleted: ['ConfigMap/acme-config-old', 'ConfigMap/acme-config-orphan'] }]]);
  // Done: the next Ready reconciles cost nothing.
  await pruner.pruneWhenReady('prod/acme', ctx, 'acme-config-new', [deployment('acme-config-new')]);
  expect(requests).toHaveLength(3);
});

test('settings changed and changed back (a takeover and its roll back): the one named again is kept, the other goes', async () => {
  const { client, requests } = fakeClient([configMap('acme-config-a'), configMap('acme-config-takeover')]);
  const pruner = createConfigMapPruner({ client });
  pruner.beforeApply('prod/acme', [deployment('acme-config-a')], 'acme-config-takeover');
  pruner.beforeApply('prod/acme', [deployment('acme-config-takeover')], 'acme-config-a');
  await pruner.pruneWhenReady('prod/acme', ctx, 'acme-config-a', [deployment('acme-config-a')]);
  expect(requests.filter((r) => r.startsWith('delete'))).toEqual(['delete ConfigMap/acme-config-takeover']);
});

test('a failed list is logged, not thrown, and asked again at the next Ready reconcile; forget drops what was learnt', async () => {
  const failing = fakeClient([configMap('acme-config-old')], true);
  const log: string[] = [];
  const pruner = createConfigMapPruner({ client: failing.client, log: (level) => void log.push(level) });
  pruner.beforeApply('prod/acme', [deployment('acme-config-old')], 'acme-config-new');
  await expect(pruner.pruneWhenReady('prod/acme', ctx, 'acme-config-new', [deployment('acme-config-new')])).resolves.toBeUndefined();
  await pruner.pruneWhenReady('prod/acme', ctx, 'acme-config-new', [deployment('acme-config-new')]);
  expect([failing.requests.length, log]).toEqual([2, ['error', 'error']]);
  pruner.forget('prod/acme');
  await pruner.pruneWhenReady('prod/acme', ctx, 'acme-config-new', [deployment('acme-config-new')]);
  expect(failing.requests).toHaveLength(2);
});
