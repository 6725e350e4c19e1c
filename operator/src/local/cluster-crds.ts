/**
 * A folder may hold a CustomResourceDefinition and objects of its kind together. Discovery does not know
 * the kind until the CRD is applied and established, so the kinds are read from the CRDs of the folder:
 * plan shows such objects as creates (the dry run cannot check them), apply waits for the kind to be
 * served before applying them, as `kubectl apply` users otherwise do by hand with `kubectl wait`.
 */
import type { KubeObject } from '../kube/kube-client';
import type { Resource, ResourceResolver } from './cluster-resources';

export interface CrdKind {
  resource: Resource;
  /** The CRD's own name (`widgets.example.com`). */
  crdName: string;
}

/** Every served version's kind of every CRD among the objects, keyed by `apiVersion kind`. */
export function crdKindsOf(objects: KubeObject[]): Map<string, CrdKind> {
  const kinds = new Map<string, CrdKind>();
  for (const object of objects) {
    if (object.kind !== 'CustomResourceDefinition' || !String(object.apiVersion).startsWith('apiextensions.k8s.io/')) continue;
    const spec = (object.spec ?? {}) as { group?: unknown; scope?: unknown; names?: { kind?: unknown; plural?: unknown }; versions?: { name?: unknown; served?: unknown }[] };
    const { group, names } = spec;
    if (typeof group !== 'string' || typeof names?.kind !== 'string' || typeof names.plural !== 'string' || !Array.isArray(spec.versions)) continue;
    for (const version of spec.versions) {
      if (typeof version?.name !== 'string' || version.served === false) continue;
      const apiVersion = `${group}/${version.name}`;
      kinds.set(kindKey(apiVersion, names.kind), { crdName: String(object.metadata?.name ?? ''), resource: { apiVersion, kind: names.kind, plural: names.plural, namespaced: spec.scope !== 'Cluster' } });
    }
  }
  return kinds;
}

export function kindKey(apiVersion: string, kind: string): string {
  return `${apiVersion} ${kind}`;
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Until discovery serves the kind, asking afresh each time; undefined when it never did within the bound. */
export async function waitUntilServed(resolver: ResourceResolver, apiVersion: string, kind: string, options: WaitOptions): Promise<Resource | undefined> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  for (;;) {
    resolver.forget(apiVersion);
    const resolved = await resolver.resolve(apiVersion, kind);
    if ('resource' in resolved) return resolved.resource;
    if (now() >= deadline) return undefined;
    await sleep(options.intervalMs);
  }
}
