import { deepEqual, isObject, type Json, type JsonObject } from '../json';
import { itemKey, type ListTypeOf, type NamePath } from '../list-semantics';

// Field sets in the managedFields "FieldsV1" vocabulary: `f:<field>` for a map field, `k:<json key>` for an
// item of a map-list, `v:<json value>` for an item of a set-list, and `.` for "the item itself". A path is
// an array of those elements; a set stores paths serialized with JSON.stringify for cheap lookup.
export type FieldPath = string[];
export type FieldSet = Set<string>;

/** Fields no manager owns: identity and bookkeeping the server sets itself. */
const IGNORED_METADATA = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink']);

// The FieldsV1 trees fieldSetOf built along with their sets: toFieldsV1 answers from here instead of
// parsing every path of the set back (the set of each server-side apply becomes a managedFields entry).
const builtTrees = new WeakMap<FieldSet, JsonObject>();

/**
 * The paths `object` sets. With `tree`, its FieldsV1 tree is built in the same walk and remembered for
 * toFieldsV1 (read-only, like every tree: it may end up in a stored object's managedFields).
 */
export function fieldSetOf(object: JsonObject, listTypeOf: ListTypeOf, options: { tree?: boolean } = {}): FieldSet {
  const out: FieldSet = new Set();
  const root: JsonObject | undefined = options.tree ? {} : undefined;
  for (const [key, value] of Object.entries(object)) {
    if (key === 'apiVersion' || key === 'kind') continue;
    if (key === 'metadata' && isObject(value)) {
      for (const [mk, mv] of Object.entries(value)) {
        if (!IGNORED_METADATA.has(mk)) collect(mv, `["f:metadata",${JSON.stringify(`f:${mk}`)}`, ['metadata', mk], listTypeOf, out, root && child(child(root, 'f:metadata'), `f:${mk}`));
      }
      continue;
    }
    collect(value, `[${JSON.stringify(`f:${key}`)}`, [key], listTypeOf, out, root && child(root, `f:${key}`));
  }
  if (root) builtTrees.set(out, sortTree(root));
  return out;
}

function child(node: JsonObject, element: string): JsonObject {
  const existing = node[element];
  if (isObject(existing)) return existing;
  const created: JsonObject = {};
  node[element] = created;
  return created;
}

// `open` is a path serialized as JSON.stringify would, without its closing bracket: extending it by one
// element is a string concatenation, not an array copy and a whole-path stringify per field (this walk
// runs over every object of every write). `node`, when a tree is built, is the tree node of `open`.
function collect(value: Json, open: string, names: NamePath, listTypeOf: ListTypeOf, out: FieldSet, node: JsonObject | undefined): void {
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length > 0) {
      for (const key of keys) collect(value[key]!, `${open},${JSON.stringify(`f:${key}`)}`, [...names, key], listTypeOf, out, node && child(node, `f:${key}`));
      return;
    }
  }
  if (Array.isArray(value) && value.length > 0) {
    const listType = listTypeOf(names);
    if (listType.kind === 'set') {
      for (const item of value) {
        const element = `v:${JSON.stringify(item)}`;
        out.add(`${open},${JSON.stringify(element)}]`);
        if (node) child(node, element);
      }
      return;
    }
    if (listType.kind === 'map' && value.every((item) => itemKey(item, listType.keys) !== undefined)) {
      for (const item of value) {
        const element = `k:${JSON.stringify(itemKey(item, listType.keys))}`;
        const itemOpen = `${open},${JSON.stringify(element)}`;
        const itemNode = node && child(node, element);
        out.add(`${itemOpen},"."]`);
        if (itemNode) child(itemNode, '.');
        if (isObject(item)) for (const [key, field] of Object.entries(item)) collect(field, `${itemOpen},${JSON.stringify(`f:${key}`)}`, [...names, key], listTypeOf, out, itemNode && child(itemNode, `f:${key}`));
      }
      return;
    }
  }
  out.add(`${open}]`); // scalars, atomic lists, empty maps and lists are owned whole (node stays a leaf)
}

/** The elements of a serialized path. */
export function pathOf(serialized: string): FieldPath {
  return JSON.parse(serialized) as FieldPath;
}

/** The FieldsV1 tree of a set, keys sorted at every level (deterministic, whatever order the set was built in). */
export function toFieldsV1(set: FieldSet): JsonObject {
  const built = builtTrees.get(set);
  if (built) return built;
  const root: JsonObject = {};
  for (const serialized of set) {
    let node = root;
    for (const element of pathOf(serialized)) {
      if (!isObject(node[element])) node[element] = {};
      node = node[element] as JsonObject;
    }
  }
  // Sorting each level's few keys is far cheaper than sorting the whole set's serialized paths.
  return sortTree(root);
}

function sortTree(node: JsonObject): JsonObject {
  const keys = Object.keys(node);
  if (keys.length === 0) return node;
  const sorted: JsonObject = {};
  for (const key of keys.sort()) sorted[key] = sortTree(node[key] as JsonObject);
  return sorted;
}

export function fromFieldsV1(tree: JsonObject): FieldSet {
  const out: FieldSet = new Set();
  const visit = (node: JsonObject, path: FieldPath) => {
    const children = Object.entries(node);
    if (children.length === 0 && path.length > 0) out.add(JSON.stringify(path));
    for (const [element, child] of children) visit(isObject(child) ? child : {}, [...path, element]);
  };
  visit(tree, []);
  return out;
}

/** Steps one path element into a value: a map field, a keyed item, a set member, or `.` (itself). */
function step(node: Json | undefined, element: string): { container: Json | undefined; index: string | number; value: Json | undefined } | undefined {
  if (element.startsWith('f:')) {
    const key = element.slice(2);
    return isObject(node) ? { container: node, index: key, value: node[key] } : undefined;
  }
  if (!Array.isArray(node)) return undefined;
  const wanted = JSON.parse(element.slice(2)) as Json;
  const index = element.startsWith('k:')
    ? node.findIndex((item) => isObject(item) && isObject(wanted) && Object.entries(wanted).every(([k, v]) => deepEqual(item[k], v)))
    : node.findIndex((item) => deepEqual(item, wanted));
  return index >= 0 ? { container: node, index, value: node[index] } : undefined;
}

export function valueAt(object: JsonObject, path: FieldPath): { found: boolean; value?: Json } {
  let node: Json | undefined = object;
  for (const element of path) {
    if (element === '.') break;
    const next = step(node, element);
    if (!next) return { found: false };
    node = next.value;
  }
  return { found: true, value: node ?? null };
}

/** Removes the field (or list item, for a `.` or `v:` path) and any maps the removal leaves empty. */
export function removeAt(object: JsonObject, path: FieldPath): void {
  const target = path[path.length - 1] === '.' ? path.slice(0, -1) : path;
  const trail: { container: Json | undefined; index: string | number }[] = [];
  let node: Json | undefined = object;
  for (const element of target) {
    const next = step(node, element);
    if (!next) return;
    trail.push(next);
    node = next.value;
  }
  for (let i = trail.length - 1; i >= 0; i--) {
    const { container, index } = trail[i]!;
    if (Array.isArray(container)) container.splice(index as number, 1);
    else if (isObject(container)) delete container[index as string];
    const emptied = isObject(container) ? Object.keys(container).length === 0 : Array.isArray(container) && container.length === 0;
    if (!emptied || i === 0) return;
  }
}

export function isPrefix(prefix: FieldPath, path: FieldPath): boolean {
  return prefix.length <= path.length && prefix.every((e, i) => e === path[i]);
}
