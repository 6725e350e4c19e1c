import { createDomainContext } from '../charts/domain-context';
import type { Domain } from '../domain-types';
import type { KubeClient, KubeObject } from '../kube/kube-client';
import { configMapsOf, createConfigMapPruner } from './domain-config-maps';

const ctx = createDomainContext({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', metadata: { name: 'acme', namespace: 'prod', uid: 'uid-acme', generation: 2 }, spec: { storage: { volume: {} } } } as Domain);
const deployment = (configMap: string, init?: string): KubeObject =>
  ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'acme-api' }, spec: { template: { spec: { ...(init ? { initContainers: [{ envFrom: [{ configMapRef: { name: init } }] }] } : {}), containers: [{ envFrom: [{ configMapRef: { name: configMap } }] }] } } } }) as KubeObject;
const configMap = (name: string, owner = 'uid-acme', domain = 'acme'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'prod', labels: { 'openpds.io/domain': domain }, ownerReferences: [{ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', name: domain, uid: owner, controller: true }] },
});
const SEED = 'list app.kubernetes.io/component=config,app.kubernetes.io/managed-by=openpds-operator';
const OWN = 'list openpds.io/domain=acme,app.kubernetes.io/component=config';

/** A client over `live` ConfigMaps (its label selectors are not applied) that records every request. */
function fakeClient(live: KubeObject[], fail: (request: string) => boolean = () => false) {
  const requests: string[] = [];
  const client = {
    async list(_ref: unknown, query: { labelSelector?: string }) {
      const request = `list ${query.labelSelector}`;
      requests.push(request);
      if (fail(request)) throw new Error('503 Service Unavailable');
      return { items: structuredClone(live) };
    },
    async delete(ref: { kind: string; name: string }) {
      requests.push(`delete ${ref.kind}/${ref.name}`);
      const index = live.findIndex((o) => o.metadata?.name === ref.name);
      if (index >= 0) live.splice(index, 1);
    },
  } as unknown as KubeClient;
  return { client, requests };
}

test('configMapsOf: every envFrom ConfigMap of the pod template, init containers too, once each', () => {
  expect(configMapsOf(deployment('acme-config-b', 'acme-config-a'))).toEqual(['acme-config-a', 'acme-config-b']);
  expect(configMapsOf(deployment('acme-config-a', 'acme-config-a'))).toEqual(['acme-config-a']);
  expect(configMapsOf(undefined)).toEqual([]);
});

test('a new Domain, or one whose settings did not change, costs no request but the namespace\'s one list per process', async () => {
  const { client, requests } = fakeClient([configMap('acme-config-new')]);
  const pruner = createConfigMapPruner({ client });
  pruner.beforeApply('prod/acme', [undefined, undefined], 'acme-config-new'); // nothing ran before
  await pruner.pruneWhenRolledOut('prod/acme', ctx, 'acme-config-new', [deployment('acme-config-new')]);
  pruner.beforeApply('prod/acme', [deployment('acme-config-new')], 'acme-config-new'); // a re-apply
  await pruner.pruneWhenRolledOut('prod/acme', ctx, 'acme-config-new', [deployment('acme-config-new')]);
  expect(requests).toEqual([SEED]);
});

test('held back (a Deployment still names the old one): the old one stays, with no request, until it is free; only the Domain\'s own go', async () => {
  const live = [configMap('acme-config-old'), configMap('acme-config-new'), configMap('acme-config-orphan'), configMap('acme-config-foreign', 'uid-other')];
  const { client, requests } = fakeClient(live);
  const log: unknown[] = [];
  const pruner = createConfigMapPruner({ client, log: (level, message, fields) => void log.push([level, message, fields]) });
  pruner.beforeApply('prod/acme', [deployment('acme-config-old')], 'acme-config-new');
  // The rollout budget held the Deployment: it still names the old ConfigMap. The orphan (a crash's) goes.
  await pruner.pruneWhenRolledOut('prod/acme', ctx, 'acme-config-new', [deployment('acme-config-old')]);
  expect(requests).toEqual([SEED, OWN, 'delete ConfigMap/acme-config-orphan']);
  await pruner.pruneWhenRolledOut('prod/acme', ctx, 'acme-config-new', [deployment('acme-config-old')]);
  expect(requests).toHaveLength(3);
  // Its turn came and it rolled out: one list, and the delete (another owner's stays).
  await pruner.pruneWhenRolledOut('prod/acme', ctx, 'acme-config-new', [deployment('acme-config-new')]);
  expect(requests.slice(3)).toEqual([OWN, 'delete ConfigMap/acme-config-old']);
  expect(log).toEqual([
    ['info', expect.any(String), { domain: 'prod/acme', deleted: ['ConfigMap/acme-config-orphan'] }],
    ['info', expect.any(String), { domain: 'prod/acme', deleted: ['ConfigMap/acme-config-old'] }],
  ]);
  // Done: the next reconciles cost nothing.
  await pruner.pruneWhenRolledOut('prod/acme', ctx, 'acme-config-new', [deployment('acme-config-new')]);
  expect(requests).toHaveLength(5);
});

test('a new operator process (restarted, upgraded, a new leader) finds what an earlier one left behind, with one list per namespace', async () => {
  const live = [configMap('acme-config-a'), configMap('acme-config-b'), configMap('beta-config-x', 'uid-beta', 'beta')];
  const { client, requests } = fakeClient(live);
  const pruner = createConfigMapPruner({ client });
  await pruner.pruneWhenRolledOut('prod/acme', ctx, 'acme-config-b', [deployment('acme-config-b')]);
  const beta = createDomainContext({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', metadata: { name: 'beta', namespace: 'prod', uid: 'uid-beta' }, spec: { storage: { volume: {} } } } as Domain);
  await pruner.pruneWhenRolledOut('prod/beta', beta, 'beta-config-x', [deployment('beta-config-x')]);
  expect(requests).toEqual([SEED, OWN, 'delete ConfigMap/acme-config-a']);
});

test('settings changed and changed back (a takeover and its roll back): the one named again is kept, the other goes', async () => {
  const { client, requests } = fakeClient([configMap('acme-config-a'), configMap('acme-config-takeover')]);
  const pruner = createConfigMapPruner({ client });
  pruner.beforeApply('prod/acme', [deployment('acme-config-a')], 'acme-config-takeover');
  pruner.beforeApply('prod/acme', [deployment('acme-config-takeover')], 'acme-config-a');
  await pruner.pruneWhenRolledOut('prod/acme', ctx, 'acme-config-a', [deployment('acme-config-a')]);
  expect(requests.filter((r) => r.startsWith('delete'))).toEqual(['delete ConfigMap/acme-config-takeover']);
});

test('a failed list is logged, not thrown, and asked again at the next reconcile; forget drops what was learnt', async () => {
  let seedFails = true;
  const failing = fakeClient([configMap('acme-config-old')], (request) => request === OWN || (request === SEED && seedFails));
  const log: string[] = [];
  const pruner = createConfigMapPruner({ client: failing.client, log: (level) => void log.push(level) });
  pruner.beforeApply('prod/acme', [deployment('acme-config-old')], 'acme-config-new');
  await expect(pruner.pruneWhenRolledOut('prod/acme', ctx, 'acme-config-new', [deployment('acme-config-new')])).resolves.toBeUndefined();
  seedFails = false;
  await pruner.pruneWhenRolledOut('prod/acme', ctx, 'acme-config-new', [deployment('acme-config-new')]);
  expect([failing.requests, log]).toEqual([[SEED, SEED, OWN], ['error', 'error']]);
  pruner.forget('prod/acme');
  await pruner.pruneWhenRolledOut('prod/acme', ctx, 'acme-config-new', [deployment('acme-config-new')]);
  expect(failing.requests).toHaveLength(3);
});
