import { deepEqual, isObject, type JsonObject } from '../json';
import type { ListTypeOf } from '../list-semantics';
import type { ManagedFieldsEntry } from '../types';
import { fieldSetOf, fromFieldsV1, pathOf, toFieldsV1, valueAt, type FieldSet } from './field-set';

// Ownership bookkeeping shared by every write. Non-apply writes ("Update" operations) take ownership of
// the fields they change, away from everyone else, without conflicts; server-side apply lives in
// server-side-apply.ts and uses the same entries.
export interface Ownership {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource?: string;
  time: string;
  fields: FieldSet;
}

// Converting between the FieldsV1 tree and a FieldSet on every write was a third of the server's time under
// load (bench/operator-domains.ts), while most writes leave most managers' fields as they were. Neither a
// stored FieldsV1 tree nor a FieldSet is ever mutated (every change builds a new set), so each conversion
// is remembered by object identity, both ways: a manager whose set a write did not touch gets its tree back.
const setsByTree = new WeakMap<JsonObject, FieldSet>();
const treesBySet = new WeakMap<FieldSet, JsonObject>();

function setOfTree(tree: JsonObject): FieldSet {
  let set = setsByTree.get(tree);
  if (!set) {
    set = fromFieldsV1(tree);
    setsByTree.set(tree, set);
    treesBySet.set(set, tree);
  }
  return set;
}

function treeOfSet(set: FieldSet): JsonObject {
  let tree = treesBySet.get(set);
  if (!tree) {
    tree = toFieldsV1(set);
    treesBySet.set(set, tree);
    setsByTree.set(tree, set);
  }
  return tree;
}

/** The entries' field sets; read-only (shared with the entries they came from). */
export function readOwnership(entries: ManagedFieldsEntry[] | undefined): Ownership[] {
  return (entries ?? []).map((e) => ({
    manager: e.manager,
    operation: e.operation,
    apiVersion: e.apiVersion,
    ...(e.subresource ? { subresource: e.subresource } : {}),
    time: e.time,
    fields: setOfTree((e.fieldsV1 ?? {}) as JsonObject),
  }));
}

export function writeOwnership(owners: Ownership[]): ManagedFieldsEntry[] {
  return owners
    .filter((o) => o.fields.size > 0)
    .map((o) => ({
      manager: o.manager,
      operation: o.operation,
      apiVersion: o.apiVersion,
      time: o.time,
      fieldsType: 'FieldsV1' as const,
      fieldsV1: treeOfSet(o.fields),
      ...(o.subresource ? { subresource: o.subresource } : {}),
    }));
}

export function sameOwner(o: Ownership, manager: string, operation: string, subresource: string | undefined): boolean {
  return o.manager === manager && o.operation === operation && (o.subresource ?? '') === (subresource ?? '');
}

export interface UpdateContext {
  manager: string;
  apiVersion: string;
  subresource?: string;
  time: string;
  listTypeOf: ListTypeOf;
}

/** Ownership after a non-apply write from `before` (undefined on create) to `after`. */
export function trackUpdate(before: JsonObject | undefined, after: JsonObject, owners: Ownership[], ctx: UpdateContext): Ownership[] {
  // Fields equal on both sides contribute nothing: only the differing top-level and metadata fields are
  // walked (a status write then looks at status alone, not at the whole object twice).
  const [b, a] = before ? differingFields(before, after) : [undefined, after];
  const oldSet = b ? fieldSetOf(b, ctx.listTypeOf) : new Set<string>();
  const newSet = fieldSetOf(a, ctx.listTypeOf);
  const changed = new Set<string>();
  for (const path of newSet) {
    if (!oldSet.has(path)) changed.add(path);
    else if (b && !deepEqual(valueAt(b, pathOf(path)).value, valueAt(a, pathOf(path)).value)) changed.add(path);
  }
  const removed = new Set([...oldSet].filter((p) => !newSet.has(p)));
  if (changed.size === 0 && removed.size === 0) return owners;
  const next = owners.map((o) => {
    if (![...o.fields].some((p) => changed.has(p) || removed.has(p))) return o; // untouched: keeps its set (and tree)
    const fields = new Set([...o.fields].filter((p) => !changed.has(p) && !removed.has(p)));
    return { ...o, fields };
  });
  let mine = next.find((o) => sameOwner(o, ctx.manager, 'Update', ctx.subresource));
  if (!mine) {
    mine = { manager: ctx.manager, operation: 'Update', apiVersion: ctx.apiVersion, time: ctx.time, fields: new Set(), ...(ctx.subresource ? { subresource: ctx.subresource } : {}) };
    next.push(mine);
  }
  const index = next.indexOf(mine);
  // A new set and entry: the ones read may be shared with the stored object.
  next[index] = { ...mine, fields: new Set([...mine.fields, ...changed]), time: ctx.time, apiVersion: ctx.apiVersion };
  return next.filter((o) => o.fields.size > 0);
}

/**
 * `before` and `after` reduced to the top-level fields, and metadata fields, whose values differ. A field
 * set is the union of its top-level (and metadata) fields' sets, each path is looked up from its own
 * top-level field, so equal fields add no changed or removed paths and can be left out.
 */
function differingFields(before: JsonObject, after: JsonObject): [JsonObject, JsonObject] {
  const b: JsonObject = {};
  const a: JsonObject = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (key === 'metadata' && isObject(before.metadata) && isObject(after.metadata)) {
      const [bm, am] = differingFields(before.metadata, after.metadata);
      b.metadata = bm;
      a.metadata = am;
    } else if (!deepEqual(before[key], after[key])) {
      if (key in before) b[key] = before[key]!;
      if (key in after) a[key] = after[key]!;
    }
  }
  return [b, a];
}
