import type { ResourceType } from './types';

// The set of served resources. Built-ins are registered at start; CRDs add and remove theirs as they are
// created and deleted, and discovery/OpenAPI/routing all read from here, so a new CRD is served at once.
export interface Registry {
  register(types: ResourceType[], owner?: string): void;
  unregister(owner: string): void;
  find(group: string, version: string, plural: string): ResourceType | undefined;
  findByKind(group: string, version: string, kind: string): ResourceType | undefined;
  byStorageKey(storageKey: string): ResourceType | undefined;
  all(): ResourceType[];
  /** Groups with their served versions, most preferred first. */
  groups(): { name: string; versions: string[] }[];
}

export function createRegistry(): Registry {
  const byOwner = new Map<string, ResourceType[]>();
  // Lookups by key, rebuilt after a (rare) register or unregister: every request routes through find(),
  // and flattening and scanning every type for each one was a visible part of the server's time.
  let index: { all: ResourceType[]; byPlural: Map<string, ResourceType>; byKind: Map<string, ResourceType>; byStorageKey: Map<string, ResourceType> } | undefined;
  const indexed = () => {
    if (index) return index;
    const all = [...byOwner.values()].flat();
    const byPlural = new Map<string, ResourceType>();
    const byKind = new Map<string, ResourceType>();
    const byStorageKey = new Map<string, ResourceType>();
    for (const t of all) {
      // The first registered wins, as a scan in registration order found it; for a storage key, the
      // preferred version (the first of equals).
      const plural = `${t.group}/${t.version}/${t.plural}`;
      if (!byPlural.has(plural)) byPlural.set(plural, t);
      const kind = `${t.group}/${t.version}/${t.kind}`;
      if (!byKind.has(kind)) byKind.set(kind, t);
      const stored = byStorageKey.get(t.storageKey);
      if (!stored || compareVersions(t.version, stored.version) < 0) byStorageKey.set(t.storageKey, t);
    }
    return (index = { all, byPlural, byKind, byStorageKey });
  };
  return {
    register(types, owner = 'builtin') {
      byOwner.set(owner, owner === 'builtin' ? [...(byOwner.get(owner) ?? []), ...types] : types);
      index = undefined;
    },
    unregister(owner) {
      byOwner.delete(owner);
      index = undefined;
    },
    find: (group, version, plural) => indexed().byPlural.get(`${group}/${version}/${plural}`),
    findByKind: (group, version, kind) => indexed().byKind.get(`${group}/${version}/${kind}`),
    byStorageKey: (storageKey) => indexed().byStorageKey.get(storageKey),
    all: () => [...indexed().all],
    groups() {
      const versions = new Map<string, Set<string>>();
      for (const t of indexed().all) versions.set(t.group, (versions.get(t.group) ?? new Set()).add(t.version));
      return [...versions].map(([name, vs]) => ({ name, versions: [...vs].sort(compareVersions) }));
    },
  };
}

/**
 * Kubernetes version priority (v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > anything else), the order clients use
 * to pick a group's preferred version. Negative when `a` is preferred.
 */
export function compareVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [0, 0, 0];
    const stability = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
    return [stability, Number(m[1]), Number(m[3] ?? 0)];
  };
  const [ra, rb] = [rank(a), rank(b)];
  for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return (rb[i] ?? 0) - (ra[i] ?? 0);
  return a.localeCompare(b);
}
