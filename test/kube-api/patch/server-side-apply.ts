import { clone, deepEqual, isObject, type Json, type JsonObject } from '../json';
import { sameItem, type ListTypeOf, type NamePath } from '../list-semantics';
import { KubeApiError, type StatusCause } from '../status';
import { fieldSetOf, isPrefix, pathOf, removeAt, valueAt, type FieldPath } from './field-set';
import { sameOwner, type Ownership } from './managed-fields';

// Server-side apply: the applied configuration is merged into the live object, the applier owns exactly
// the fields it sent, a field another manager owns with a different value is a conflict (409) unless
// force=true (then ownership moves), and a field the applier owned before but no longer sends is removed
// unless someone else still owns it.
export interface ApplyContext {
  manager: string;
  force: boolean;
  apiVersion: string;
  subresource?: string;
  time: string;
  listTypeOf: ListTypeOf;
  /** e.g. `widgets.example.com "w1"`, for the conflict message. */
  describe: string;
}

export function serverSideApply(live: JsonObject, applied: JsonObject, owners: Ownership[], ctx: ApplyContext): { object: JsonObject; owners: Ownership[] } {
  // With its tree: the set becomes the applier's managedFields entry as it is.
  const appliedSet = fieldSetOf(applied, ctx.listTypeOf, { tree: true });
  const others = owners.filter((o) => !sameOwner(o, ctx.manager, 'Apply', ctx.subresource));
  const causes: StatusCause[] = [];
  const taken = new Set<string>();
  for (const owner of others) {
    for (const serialized of owner.fields) {
      if (!appliedSet.has(serialized)) continue;
      const path = pathOf(serialized);
      if (path[path.length - 1] === '.') continue; // owning an item is not a value that can differ
      if (deepEqual(valueAt(live, path).value, valueAt(applied, path).value)) continue; // same value: shared
      if (ctx.force) taken.add(serialized);
      else causes.push({ reason: 'FieldManagerConflict', message: `conflict with "${owner.manager}"${owner.operation === 'Update' ? ` using ${owner.apiVersion}` : ''}`, field: toDotted(path) });
    }
  }
  if (causes.length > 0) {
    const n = causes.length;
    const list = causes.map((c) => `${c.message}: ${c.field}`).join(', ');
    throw new KubeApiError(409, 'Conflict', `Apply failed with ${n} conflict${n > 1 ? 's' : ''}: ${list}`, { causes });
  }
  const previous = owners.find((o) => sameOwner(o, ctx.manager, 'Apply', ctx.subresource));
  // A manager that lost nothing keeps its set, so its managedFields entry is reused as it was.
  const nextOthers = taken.size === 0 ? others : others.map((o) => ({ ...o, fields: new Set([...o.fields].filter((p) => !taken.has(p))) }));
  const object = mergeApplied(live, applied, [], ctx.listTypeOf) as JsonObject;
  // Fields the applier dropped from its configuration: removed when no other manager still owns them
  // (or anything beneath them).
  for (const serialized of previous?.fields ?? []) {
    if (appliedSet.has(serialized)) continue;
    const path = pathOf(serialized);
    const owned = nextOthers.some((o) => [...o.fields].some((p) => isPrefix(trimDot(path), pathOf(p))));
    if (!owned) removeAt(object, path);
  }
  const mine: Ownership = { manager: ctx.manager, operation: 'Apply', apiVersion: ctx.apiVersion, time: ctx.time, fields: appliedSet, ...(ctx.subresource ? { subresource: ctx.subresource } : {}) };
  // The applier keeps its place in the list, as the apiserver does.
  const index = previous ? owners.indexOf(previous) : -1;
  const ordered = owners.map((o) => (o === previous ? mine : nextOthers.find((n) => n.manager === o.manager && n.operation === o.operation && n.subresource === o.subresource)!));
  if (index < 0) ordered.push(mine);
  return { object, owners: ordered.filter((o) => o.fields.size > 0) };
}

function trimDot(path: FieldPath): FieldPath {
  return path[path.length - 1] === '.' ? path.slice(0, -1) : path;
}

/** `.spec.containers[name="app"].image`, the form the apiserver uses in conflict messages. */
function toDotted(path: FieldPath): string {
  return path
    .map((e) => {
      if (e.startsWith('f:')) return `.${e.slice(2)}`;
      const inner = JSON.parse(e.slice(2)) as Json;
      if (e.startsWith('k:') && isObject(inner)) return `[${Object.entries(inner).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
      return `[=${JSON.stringify(inner)}]`;
    })
    .join('');
}

function mergeApplied(live: Json | undefined, applied: Json, names: NamePath, listTypeOf: ListTypeOf): Json {
  if (isObject(applied) && isObject(live)) {
    const out: JsonObject = { ...live };
    for (const [key, value] of Object.entries(applied)) out[key] = mergeApplied(live[key], value, [...names, key], listTypeOf);
    return out;
  }
  if (Array.isArray(applied) && Array.isArray(live)) {
    const listType = listTypeOf(names);
    if (listType.kind === 'set') return [...live, ...applied.filter((v) => !live.some((l) => deepEqual(l, v)))];
    if (listType.kind === 'map') {
      const out = [...live];
      for (const item of applied) {
        const index = out.findIndex((l) => sameItem(l, item, listType.keys));
        if (index >= 0) out[index] = mergeApplied(out[index], item, names, listTypeOf);
        else out.push(clone(item));
      }
      return out;
    }
  }
  return clone(applied);
}
