/**
 * What deleting a CustomResourceDefinition or a Namespace takes with it. Either is one line of a prune,
 * yet the API server then deletes every object of the CRD's kind, or every object in the Namespace: an
 * `apply -f config/ --set install` whose folder lost the CRDs would take every Domain and Drive. So the
 * prune is refused unless asked for (--prune-cascading), and either way the plan says what goes with it,
 * counted per kind and namespace.
 */
import type { KubeClient, KubeObject } from '../kube/kube-client';
import { isStatus, serverMessage } from './cluster-resources';
import { compareCodeUnits } from '../code-unit-order';

export interface Cascade {
  /** Objects the delete takes with it; undefined when they could not be counted (lines say why). */
  count?: number;
  /** `3 Drive in team`, …; or why they could not be counted. */
  lines: string[];
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
  verbs?: string[];
}

/** Whether deleting an object of this group-kind deletes others: a CRD (its objects) or a Namespace. */
export function cascades(groupKind: string): boolean {
  return groupKind === 'CustomResourceDefinition.apiextensions.k8s.io' || groupKind === 'Namespace';
}

export async function describeCascade(client: KubeClient, groupKind: string, name: string): Promise<Cascade> {
  try {
    const counts = groupKind === 'Namespace' ? await namespaceContents(client, name) : await crdObjects(client, name);
    // By code unit, never localeCompare, whose order follows the process's locale ($LANG): in Danish
    // `Drive in aa` came after `Drive in z`, so one plan printed its lines in another order per machine
    // (as the folder's files were, manifests.ts).
    const lines = [...counts.entries()].sort(([a], [b]) => compareCodeUnits(a, b)).map(([where, n]) => `${n} ${where}`);
    const count = [...counts.values()].reduce((a, b) => a + b, 0);
    return { count, lines: lines.length > 0 ? lines : ['no other object'] };
  } catch (error) {
    return { lines: [`cannot count what it deletes: ${serverMessage(error)}`] };
  }
}

/** Every object of the CRD's kind, in any namespace: the server deletes them all with it. */
async function crdObjects(client: KubeClient, crdName: string): Promise<Map<string, number>> {
  let crd: KubeObject;
  try {
    crd = await client.request<KubeObject>('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(crdName)}`);
  } catch (error) {
    if (isStatus(error, 404)) return new Map();
    throw error;
  }
  const spec = (crd.spec ?? {}) as { group?: string; names?: { kind?: string; plural?: string }; versions?: { name?: string; served?: boolean; storage?: boolean }[] };
  const version = spec.versions?.find((v) => v.storage) ?? spec.versions?.find((v) => v.served);
  if (!spec.group || !spec.names?.plural || !version?.name) return new Map();
  const items = await listAll(client, `/apis/${spec.group}/${version.name}/${spec.names.plural}`);
  const counts = new Map<string, number>();
  for (const item of items) add(counts, `${spec.names.kind} ${item.metadata?.namespace ? `in ${item.metadata.namespace}` : '(cluster-scoped)'}`);
  return counts;
}

/** Every listable namespaced kind discovery serves, listed in the namespace. */
async function namespaceContents(client: KubeClient, namespace: string): Promise<Map<string, number>> {
  const groupVersions = ['v1'];
  const groups = await client.request<{ groups?: { preferredVersion?: { groupVersion?: string } }[] }>('GET', '/apis');
  for (const g of groups.groups ?? []) if (g.preferredVersion?.groupVersion) groupVersions.push(g.preferredVersion.groupVersion);
  const counts = new Map<string, number>();
  const seenKinds = new Set<string>();
  for (const gv of groupVersions) {
    const base = gv === 'v1' ? '/api/v1' : `/apis/${gv}`;
    const list = await client.request<{ resources?: ApiResource[] }>('GET', base);
    for (const r of list.resources ?? []) {
      if (!r.namespaced || r.name.includes('/') || (r.verbs && !r.verbs.includes('list'))) continue;
      // events.k8s.io serves core Events again: count each kind once.
      if (seenKinds.has(r.kind)) continue;
      seenKinds.add(r.kind);
      const items = await listAll(client, `${base}/namespaces/${encodeURIComponent(namespace)}/${r.name}`).catch((error: unknown) => {
        if (isStatus(error, 404) || isStatus(error, 405)) return []; // served for watching or not at all
        throw error;
      });
      for (const _ of items) add(counts, `${r.kind} in ${namespace}`);
    }
  }
  return counts;
}

async function listAll(client: KubeClient, path: string): Promise<KubeObject[]> {
  const items: KubeObject[] = [];
  let next: string | undefined;
  do {
    const page = await client.request<{ items?: KubeObject[]; metadata?: { continue?: string } }>('GET', path, { query: { limit: 500, ...(next ? { continue: next } : {}) } });
    items.push(...(page.items ?? []));
    next = page.metadata?.continue || undefined;
  } while (next);
  return items;
}

function add(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
