/**
 * Pure helpers for `status.conditions` (the Kubernetes metav1.Condition convention): one entry per type,
 * `lastTransitionTime` moves only when `status` flips, so a resync that rewrites the same state leaves
 * the timestamp (and the object) unchanged.
 */
import type { Condition, ConditionStatus, ConditionType } from '../domain-types';

export interface ConditionInput {
  type: ConditionType | string;
  status: ConditionStatus;
  reason: string;
  message?: string;
  observedGeneration?: number;
}

/** Returns a new list with `input` set; `now` is passed in so callers (and tests) own the clock. */
export function setCondition(conditions: readonly Condition[] | undefined, input: ConditionInput, now: Date): Condition[] {
  const list = conditions ?? [];
  const existing = list.find((c) => c.type === input.type);
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    ...(input.message !== undefined ? { message: input.message } : {}),
    lastTransitionTime: existing && existing.status === input.status ? existing.lastTransitionTime : formatTime(now),
    ...(input.observedGeneration !== undefined ? { observedGeneration: input.observedGeneration } : {}),
  };
  if (!existing) return [...list, next];
  return list.map((c) => (c === existing ? next : c));
}

/** Sets several conditions at once, in order. */
export function setConditions(conditions: readonly Condition[] | undefined, inputs: readonly ConditionInput[], now: Date): Condition[] {
  return inputs.reduce<Condition[]>((acc, input) => setCondition(acc, input, now), [...(conditions ?? [])]);
}

export function findCondition(conditions: readonly Condition[] | undefined, type: ConditionType | string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: ConditionType | string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: ConditionType | string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** True when both lists hold the same conditions (order ignored): lets a reconciler skip a no-op status write. */
export function conditionsEqual(a: readonly Condition[] | undefined, b: readonly Condition[] | undefined): boolean {
  const left = a ?? [];
  const right = b ?? [];
  if (left.length !== right.length) return false;
  return left.every((c) => {
    const other = findCondition(right, c.type);
    return (
      other !== undefined &&
      other.status === c.status &&
      other.reason === c.reason &&
      other.message === c.message &&
      other.lastTransitionTime === c.lastTransitionTime &&
      other.observedGeneration === c.observedGeneration
    );
  });
}

// Kubernetes serialises metav1.Time with second precision (RFC 3339, no fraction).
function formatTime(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
