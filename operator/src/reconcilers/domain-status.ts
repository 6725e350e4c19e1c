/**
 * A Domain's status as the reconciler writes it: the outcome of a reconcile (Ready, Progressing and Degraded
 * conditions that agree with each other, and the Event type) and the write itself, which sends nothing
 * when the status would not change (a resync of a Ready Domain writes nothing) and records an Event only for
 * the transitions worth a line in `kubectl describe`. "Would not change" is measured against the Domain the
 * reconcile started from, which is never older than this reconciler's last write (kube/own-writes.ts): each
 * write tells `ownWrites` the resourceVersion it left.
 */
import { API_VERSION, type Domain, type DomainStatus } from '../domain-types';
import { conditionsEqual, findCondition, removeCondition, setConditions, type ConditionInput } from '../kube/conditions';
import type { EventRecorder, EventType } from '../kube/events';
import type { KubeClient, KubeObject } from '../kube/kube-client';
import type { OwnWrites } from '../kube/own-writes';
import { UPGRADE_PENDING } from './domain-image';

/** upgrade: the UpgradePending condition to set, null to remove it (policy Automatic), undefined to leave it. */
export type Outcome = { ready: ConditionInput; progressing: ConditionInput; degraded: ConditionInput; eventType: EventType; fields?: Partial<DomainStatus>; upgrade?: ConditionInput | null };

/**
 * ready: serving. waiting: on its way (Progressing). stopped: at rest, not serving, as the spec asks.
 * blocked / failed: needs someone (Degraded, a Warning Event).
 */
export function outcome(generation: number, reason: string, message: string, kind: 'ready' | 'waiting' | 'stopped' | 'blocked' | 'failed'): Outcome {
  const g = { observedGeneration: generation };
  return {
    ready: { type: 'Ready', status: kind === 'ready' ? 'True' : 'False', reason, message, ...g },
    progressing: kind === 'waiting' ? { type: 'Progressing', status: 'True', reason, message, ...g } : { type: 'Progressing', status: 'False', reason: kind === 'ready' ? 'Reconciled' : reason, message, ...g },
    degraded: kind === 'blocked' || kind === 'failed' ? { type: 'Degraded', status: 'True', reason, message, ...g } : { type: 'Degraded', status: 'False', reason: 'AsExpected', ...g },
    eventType: kind === 'ready' || kind === 'waiting' || kind === 'stopped' ? 'Normal' : 'Warning',
  };
}

/** JSON with sorted keys: the apiserver may hand fields back in another order than we wrote them. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
}

export type WriteDomainStatus = (domain: Domain, result: Outcome) => Promise<void>;

export function createDomainStatusWriter({ client, events, now, ownWrites }: { client: KubeClient; events: EventRecorder; now: () => Date; ownWrites: OwnWrites }): WriteDomainStatus {
  return async function writeStatus(domain: Domain, result: Outcome): Promise<void> {
    const previous = domain.status ?? {};
    const base = result.upgrade === null ? removeCondition(previous.conditions, UPGRADE_PENDING) : previous.conditions;
    const conditions = setConditions(base, [result.ready, result.progressing, result.degraded, ...(result.upgrade ? [result.upgrade] : [])], now());
    const next: DomainStatus = { ...previous, ...result.fields, conditions };
    const changed = !conditionsEqual(previous.conditions, conditions) || canonicalJson({ ...previous, conditions: [] }) !== canonicalJson({ ...next, conditions: [] });
    if (changed) {
      const namespace = domain.metadata.namespace!;
      // The answer is read for its resourceVersion: the next reconcile must not start from a copy without this status.
      const written = await client.patch<KubeObject | undefined>({ apiVersion: API_VERSION, kind: 'Domain', namespace, name: domain.metadata.name }, 'merge', { status: next }, { subresource: 'status' });
      ownWrites.wrote(`${namespace}/${domain.metadata.name}`, written?.metadata?.resourceVersion);
    }
    // Events mark the transitions worth a line in `kubectl describe`: Ready turning True or False, and
    // each new failure. The steps of waiting (replicas, /readyz) show in the conditions only: an Event
    // per step was one write in seven of a new Domain's, for nothing the conditions do not already say.
    const before = findCondition(previous.conditions, 'Ready');
    const readyChanged = (result.ready.status === 'True') !== (before?.status === 'True') && (before !== undefined || result.ready.status === 'True');
    const newFailure = result.eventType === 'Warning' && (before?.reason !== result.ready.reason || before?.status !== result.ready.status);
    if (readyChanged || newFailure) {
      await events.record(domain as unknown as KubeObject, result.eventType, result.ready.reason, result.ready.message ?? '');
    }
    // One Normal Event when an upgrade starts waiting for approval (or waits for another image): the
    // condition's message is the same at every resync, so a resync records nothing. A failure's Warning
    // (ImageNotApproved) already says it.
    const pending = findCondition(previous.conditions, UPGRADE_PENDING);
    if (result.upgrade?.status === 'True' && result.eventType === 'Normal' && (pending?.status !== 'True' || pending.message !== result.upgrade.message)) {
      await events.record(domain as unknown as KubeObject, 'Normal', UPGRADE_PENDING, result.upgrade.message ?? '');
    }
  };
}
