import { crdKindsOf, waitUntilServed } from './cluster-crds';
import type { Resolved, ResourceResolver } from './cluster-resources';

const WIDGET = { apiVersion: 'example.com/v1', kind: 'Widget', plural: 'widgets', namespaced: true };

/** Discovery that serves the kind from the `servedAfter`-th question on (never when undefined). */
function resolverServing(servedAfter: number | undefined) {
  let asked = 0;
  const forgotten: string[] = [];
  const resolver: ResourceResolver = {
    resolve: async (): Promise<Resolved> => (++asked >= (servedAfter ?? Infinity) ? { resource: WIDGET } : { error: 'the server does not serve example.com/v1' }),
    resolveGroupKind: async () => ({ gone: true }),
    forget: (apiVersion) => void forgotten.push(apiVersion),
  };
  return { resolver, forgotten };
}

/** A clock that moves only when the wait sleeps. */
function fakeTime() {
  let now = 0;
  return { now: () => now, sleep: async (ms: number) => void (now += ms) };
}

describe('CRDs of the folder', () => {
  it('reads the kind of each served version, its plural and scope', () => {
    const kinds = crdKindsOf([
      { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' }, spec: { group: 'example.com', scope: 'Cluster', names: { kind: 'Widget', plural: 'widgets' }, versions: [{ name: 'v1' }, { name: 'v0', served: false }] } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
    ]);
    expect([...kinds.entries()]).toEqual([['example.com/v1 Widget', { crdName: 'widgets.example.com', resource: { ...WIDGET, namespaced: false } }]]);
  });

  it('waits, asking discovery afresh, until the kind is served', async () => {
    const { resolver, forgotten } = resolverServing(3);
    expect(await waitUntilServed(resolver, 'example.com/v1', 'Widget', { timeoutMs: 10_000, intervalMs: 200, ...fakeTime() })).toEqual(WIDGET);
    expect(forgotten).toEqual(['example.com/v1', 'example.com/v1', 'example.com/v1']);
  });

  it('gives up after the bound when the kind never appears', async () => {
    const time = fakeTime();
    expect(await waitUntilServed(resolverServing(undefined).resolver, 'example.com/v1', 'Widget', { timeoutMs: 10_000, intervalMs: 200, ...time })).toBeUndefined();
    expect(time.now()).toBe(10_000);
  });
});
