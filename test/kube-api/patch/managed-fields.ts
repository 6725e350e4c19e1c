import { deepEqual, type JsonObject } from '../json';
import type { ListTypeOf } from '../list-semantics';
import type { ManagedFieldsEntry } from '../types';
import { fieldSetOf, fromFieldsV1, toFieldsV1, valueAt, type FieldSet } from './field-set';

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

export function readOwnership(entries: ManagedFieldsEntry[] | undefined): Ownership[] {
  return (entries ?? []).map((e) => ({
    manager: e.manager,
    operation: e.operation,
    apiVersion: e.apiVersion,
    ...(e.subresource ? { subresource: e.subresource } : {}),
    time: e.time,
    fields: fromFieldsV1(e.fieldsV1 ?? {}),
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
      fieldsV1: toFieldsV1(o.fields),
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
  const oldSet = before ? fieldSetOf(before, ctx.listTypeOf) : new Set<string>();
  const newSet = fieldSetOf(after, ctx.listTypeOf);
  const changed = new Set<string>();
  for (const path of newSet) {
    if (!oldSet.has(path)) changed.add(path);
    else if (before && !deepEqual(valueAt(before, JSON.parse(path)).value, valueAt(after, JSON.parse(path)).value)) changed.add(path);
  }
  const removed = [...oldSet].filter((p) => !newSet.has(p));
  if (changed.size === 0 && removed.length === 0) return owners;
  const next = owners.map((o) => {
    const fields = new Set([...o.fields].filter((p) => !changed.has(p) && !removed.includes(p)));
    return { ...o, fields };
  });
  let mine = next.find((o) => sameOwner(o, ctx.manager, 'Update', ctx.subresource));
  if (!mine) {
    mine = { manager: ctx.manager, operation: 'Update', apiVersion: ctx.apiVersion, time: ctx.time, fields: new Set(), ...(ctx.subresource ? { subresource: ctx.subresource } : {}) };
    next.push(mine);
  }
  for (const p of changed) mine.fields.add(p);
  mine.time = ctx.time;
  mine.apiVersion = ctx.apiVersion;
  return next.filter((o) => o.fields.size > 0);
}
