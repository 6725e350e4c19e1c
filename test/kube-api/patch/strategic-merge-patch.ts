import { deepEqual, isObject, type Json, type JsonObject } from '../json';
import { sameItem, type ListTypeOf, type NamePath } from '../list-semantics';

// Strategic merge patch for built-in kinds, the subset kubectl's client-side apply and `kubectl patch`
// produce: keyed lists merge by their merge key, `$patch: replace|delete|merge`, `$retainKeys`,
// `$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>`; null deletes a field.
const ORDER = '$setElementOrder/';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';

export function applyStrategicMergePatch(original: JsonObject, patch: JsonObject, listTypeOf: ListTypeOf): JsonObject {
  return mergeObject(original, patch, [], listTypeOf) ?? {};
}

function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.filter((v) => !(isObject(v) && v.$patch === 'delete')).map(stripDirectives);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) if (!k.startsWith('$')) out[k] = stripDirectives(v);
  return out;
}

function mergeObject(original: JsonObject, patch: JsonObject, path: NamePath, listTypeOf: ListTypeOf): JsonObject | undefined {
  if (patch.$patch === 'delete') return undefined;
  if (patch.$patch === 'replace') return stripDirectives(patch) as JsonObject;
  const out: JsonObject = { ...original };
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith(ORDER)) continue;
    if (key.startsWith(DELETE_PRIMITIVE)) {
      const field = key.slice(DELETE_PRIMITIVE.length);
      const current = out[field];
      if (Array.isArray(current) && Array.isArray(value)) out[field] = current.filter((v) => !value.some((d) => deepEqual(d, v)));
      continue;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    const merged = mergeValue(out[key], value, [...path, key], listTypeOf);
    if (merged === undefined) delete out[key];
    else out[key] = merged;
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(ORDER) || !Array.isArray(order)) continue;
    const field = key.slice(ORDER.length);
    const list = out[field];
    if (Array.isArray(list)) out[field] = orderList(list, order, listTypeOf([...path, field]));
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys.filter((k): k is string => typeof k === 'string'));
    for (const key of Object.keys(out)) if (!keep.has(key)) delete out[key];
  }
  return out;
}

function mergeValue(original: Json | undefined, patch: Json, path: NamePath, listTypeOf: ListTypeOf): Json | undefined {
  if (isObject(patch)) return mergeObject(isObject(original) ? original : {}, patch, path, listTypeOf);
  if (!Array.isArray(patch)) return patch;
  const listType = listTypeOf(path);
  const current = Array.isArray(original) ? original : [];
  if (listType.kind === 'set') {
    return [...current, ...patch.filter((v) => !current.some((c) => deepEqual(c, v)))];
  }
  if (listType.kind === 'atomic') return stripDirectives(patch);
  // SMP merges on one key (patchMergeKey); the first key of the list-map keys is that key.
  const keys = listType.keys.slice(0, 1);
  if (patch.some((item) => isObject(item) && item.$patch === 'replace')) {
    return stripDirectives(patch.filter((item) => !(isObject(item) && item.$patch === 'replace')));
  }
  const out = [...current];
  for (const item of patch) {
    const index = out.findIndex((c) => sameItem(c, item, keys));
    if (isObject(item) && item.$patch === 'delete') {
      if (index >= 0) out.splice(index, 1);
    } else if (index >= 0 && isObject(item)) {
      out[index] = mergeObject(isObject(out[index]) ? (out[index] as JsonObject) : {}, item, path, listTypeOf) ?? {};
    } else {
      out.push(stripDirectives(item));
    }
  }
  return out;
}

/** Applies `$setElementOrder`: listed items first in the given order, the server's other items after. */
function orderList(list: Json[], order: Json[], listType: ReturnType<ListTypeOf>): Json[] {
  const keys = listType.kind === 'map' ? listType.keys.slice(0, 1) : undefined;
  const matches = (item: Json, wanted: Json) => (keys ? sameItem(item, wanted, keys) : deepEqual(item, wanted));
  const ordered: Json[] = [];
  for (const wanted of order) {
    const found = list.find((item) => matches(item, wanted) && !ordered.includes(item));
    if (found !== undefined) ordered.push(found);
  }
  return [...ordered, ...list.filter((item) => !ordered.includes(item))];
}

