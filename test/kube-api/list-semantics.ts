import { isObject, type JsonObject } from './json';
import type { ResourceType } from './types';

// How a list merges, for server-side apply (x-kubernetes-list-type / list-map-keys) and strategic merge
// (patchStrategy / patchMergeKey). Custom resources read it from their schema (atomic unless declared);
// built-in kinds use the small table below, the lists the operator's manifests actually contain.
export type ListType = { kind: 'atomic' } | { kind: 'map'; keys: string[] } | { kind: 'set' };

/** Field names from the object root, list positions left out: ['spec','template','spec','containers']. */
export type NamePath = readonly string[];
export type ListTypeOf = (path: NamePath) => ListType;

const ATOMIC: ListType = { kind: 'atomic' };
const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);
const KEYED_BY_FIELD: Record<string, string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  imagePullSecrets: ['name'],
  conditions: ['type'],
  ownerReferences: ['uid'],
  hostAliases: ['ip'],
  topologySpreadConstraints: ['topologyKey', 'whenUnsatisfiable'],
};

export function builtinListType(path: NamePath): ListType {
  const field = path[path.length - 1];
  const parent = path[path.length - 2];
  if (field === undefined) return ATOMIC;
  if (field === 'finalizers' && parent === 'metadata') return { kind: 'set' };
  // Container ports and Service ports are both called `ports` but are keyed differently.
  if (field === 'ports') return { kind: 'map', keys: parent !== undefined && CONTAINER_LISTS.has(parent) ? ['containerPort', 'protocol'] : ['port', 'protocol'] };
  const keys = KEYED_BY_FIELD[field];
  return keys ? { kind: 'map', keys } : ATOMIC;
}

function schemaListType(schema: JsonObject | undefined, path: NamePath): ListType {
  let node: JsonObject | undefined = schema;
  for (const name of path) {
    if (!node) return ATOMIC;
    if (node.type === 'array') node = isObject(node.items) ? node.items : undefined;
    const props: JsonObject | undefined = node && isObject(node.properties) ? node.properties : undefined;
    const next: unknown = props?.[name] ?? (node && isObject(node.additionalProperties) ? node.additionalProperties : undefined);
    node = isObject(next) ? next : undefined;
  }
  if (!node) return ATOMIC;
  const declared = node['x-kubernetes-list-type'];
  if (declared === 'set') return { kind: 'set' };
  if (declared === 'map' && Array.isArray(node['x-kubernetes-list-map-keys'])) {
    return { kind: 'map', keys: node['x-kubernetes-list-map-keys'].filter((k): k is string => typeof k === 'string') };
  }
  return ATOMIC;
}

export function listTypesFor(type: ResourceType): ListTypeOf {
  if (!type.custom) return builtinListType;
  return (path) => (path[0] === 'metadata' ? builtinListType(path) : schemaListType(type.schema, path));
}

/** The key object of a map-list item ({"name":"a"}), with only the key fields the item sets. */
export function itemKey(item: unknown, keys: string[]): JsonObject | undefined {
  if (!isObject(item)) return undefined;
  const key: JsonObject = {};
  for (const k of [...keys].sort()) if (item[k] !== undefined) key[k] = item[k]!;
  return Object.keys(key).length > 0 ? key : undefined;
}

export function sameItem(a: unknown, b: unknown, keys: string[]): boolean {
  const ka = itemKey(a, keys);
  return ka !== undefined && JSON.stringify(ka) === JSON.stringify(itemKey(b, keys));
}
