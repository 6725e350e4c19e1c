/**
 * Status, events and requeue for the Drive reconciler: what one reconcile reports. Conditions follow the
 * metav1.Condition convention through kube/conditions.ts (Ready, Progressing, Degraded as on a Domain, plus
 * Synced for drift), each with a reason from DRIVE_REASONS.
 */
import { AdminApiError } from '../admin-client/admin-api-error';
import type { AdminDrive } from '../admin-client/admin-client';
import type { Drive } from '../domain-types';
import { findCondition, setConditions } from '../kube/conditions';
import { bytesToQuantity } from './drive-desired';
import { DEFAULT_RESYNC_MS, DRIVE_REASONS, OwnerNotFoundError, type DriftField, type DriveAction, type DriveEvent, type DriveFailureReason, type DriveReconcileContext, type DriveReconcileResult, type DriveStatusOut } from './drive-context';
import type { DriveOrigin } from './drive-desired';

export interface DriveFailure {
  reason: DriveFailureReason;
  message: string;
  /** Expected to clear by itself (domain starting, network): retry with backoff. */
  retry: boolean;
  /**
   * The admin API answered an error or could not be reached: a failed reconcile, counted in
   * openpds_operator_reconcile_errors_total. Waiting for the Domain, or for an owner, is not.
   */
  adminApi?: boolean;
  /** Ask again after this long (not the backoff): something on its way elsewhere should have landed by then. */
  retryAfterMs?: number;
}

const MIN_BACKOFF_MS = 5_000;
const MAX_BACKOFF_MS = 5 * 60_000;

/** Collects the events and actions of one reconcile and turns them into its result. */
export class Outcome {
  readonly events: DriveEvent[] = [];
  readonly actions: DriveAction[] = [];
  readonly driftCorrected: DriftField[] = [];
  failed = false;

  constructor(
    readonly drive: Drive,
    readonly ctx: DriveReconcileContext,
  ) {}

  event(type: DriveEvent['type'], reason: string, message: string): void {
    const event = { type, reason, message };
    this.events.push(event);
    this.ctx.events?.(event);
  }

  now(): Date {
    return this.ctx.clock.now();
  }

  /** Dry run: the status is left as it was; the actions are the answer. */
  planned(): DriveReconcileResult {
    return { status: this.drive.status ?? {}, events: this.events, actions: this.actions, requeueAfterMs: 0, atResync: false, failed: false, driftCorrected: [] };
  }

  /** `requeueAfterMs` undefined: nothing to look at before the periodic drift check. */
  done(status: DriveStatusOut, requeueAfterMs?: number): DriveReconcileResult {
    return {
      status,
      events: this.events,
      actions: this.actions,
      requeueAfterMs: requeueAfterMs ?? this.ctx.resyncAfterMs ?? DEFAULT_RESYNC_MS,
      atResync: requeueAfterMs === undefined,
      failed: this.failed,
      driftCorrected: this.driftCorrected,
    };
  }
}

/**
 * The data plane has no groups yet (no group table, no membership): a Group owner is a name it takes as
 * is, so nothing can check it, and only admins reach the drive. Said where "Applied" would imply more.
 */
function groupNote(drive: Outcome['drive']): string {
  if (drive.spec.owner.kind !== 'Group') return '';
  return `; owner Group "${drive.spec.owner.name}" is not checked: the data plane has no groups yet (any name is taken as is, and only admins reach the drive)`;
}

export function successStatus(out: Outcome, observed: Pick<AdminDrive, 'drive_id' | 'used_size' | 'total_size'>, origin: DriveOrigin, drift?: { reason: string; message: string }): DriveStatusOut {
  const generation = out.drive.metadata.generation;
  const conditions = setConditions(
    out.drive.status?.conditions,
    [
      { type: 'Ready', status: 'True', reason: 'Applied', message: `drive ${observed.drive_id} matches the spec${origin === 'Adopted' ? ' (adopted: not created by the operator)' : ''}${groupNote(out.drive)}`, observedGeneration: generation },
      { type: 'Progressing', status: 'False', reason: 'Reconciled', message: `drive ${observed.drive_id} is applied`, observedGeneration: generation },
      drift
        ? { type: 'Synced', status: 'False', reason: drift.reason, message: drift.message, observedGeneration: generation }
        : { type: 'Synced', status: 'True', reason: 'InSync', message: 'the data plane matches the spec', observedGeneration: generation },
      { type: 'Degraded', status: 'False', reason: 'AsExpected', observedGeneration: generation },
    ],
    out.now(),
  );
  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions,
    origin,
    driveId: observed.drive_id,
    usedSize: bytesToQuantity(observed.used_size),
    totalSize: bytesToQuantity(observed.total_size),
    usedBytes: observed.used_size,
    totalBytes: observed.total_size ?? 0,
  };
}

/** Ready=False with the reason; the recorded driveId and sizes are kept (they are still the best knowledge). */
export function failureOutcome(out: Outcome, failure: DriveFailure): DriveReconcileResult {
  const previous = out.drive.status ?? {};
  const generation = out.drive.metadata.generation;
  // One Event per new reason, not one per retry: a domain down for an hour must not flood the Events.
  if (findCondition(previous.conditions, 'Ready')?.reason !== failure.reason) out.event('Warning', failure.reason, failure.message);
  // As on a Domain: a wait is Progressing, anything else Degraded; never both.
  const waiting = DRIVE_REASONS[failure.reason] === 'progressing';
  const conditions = setConditions(
    previous.conditions,
    [
      { type: 'Ready', status: 'False', reason: failure.reason, message: failure.message, observedGeneration: generation },
      { type: 'Progressing', status: waiting ? 'True' : 'False', reason: failure.reason, message: failure.message, observedGeneration: generation },
      { type: 'Synced', status: 'Unknown', reason: failure.reason, message: 'the data plane could not be checked', observedGeneration: generation },
      waiting
        ? { type: 'Degraded', status: 'False', reason: 'AsExpected', observedGeneration: generation }
        : { type: 'Degraded', status: 'True', reason: failure.reason, message: failure.message, observedGeneration: generation },
    ],
    out.now(),
  );
  const status: DriveStatusOut = { ...previous, ...(generation !== undefined ? { observedGeneration: generation } : {}), conditions };
  if (out.ctx.dryRun) return { ...out.planned(), status };
  out.failed = failure.adminApi === true;
  const requeue = failure.retryAfterMs ?? (failure.retry ? backoffMs(conditions, out.now()) : (out.ctx.resyncAfterMs ?? DEFAULT_RESYNC_MS));
  return out.done(status, requeue);
}

/**
 * Stateless exponential backoff: wait as long as Ready has already been False (5 s to 5 min), so the
 * waits roughly double without the reconciler keeping a retry counter anywhere.
 */
export function backoffMs(conditions: DriveStatusOut['conditions'], now: Date): number {
  const since = Date.parse(findCondition(conditions, 'Ready')?.lastTransitionTime ?? '');
  const elapsed = Number.isNaN(since) ? 0 : now.getTime() - since;
  return Math.min(MAX_BACKOFF_MS, Math.max(MIN_BACKOFF_MS, elapsed));
}

/** Maps an expected error to a reason; anything else (a bug) is answered with undefined and rethrown. */
export function toFailure(error: unknown): DriveFailure | undefined {
  if (error instanceof OwnerNotFoundError) return { reason: 'OwnerNotFound', message: error.message, retry: true };
  if (!(error instanceof AdminApiError)) return undefined;
  if (error.status === 0) return { reason: 'AdminApiUnreachable', message: error.message, retry: true, adminApi: true };
  if (error.status === 401 || error.status === 403) return { reason: 'AdminCredentialsRejected', message: `${error.code}: ${error.message}`, retry: true, adminApi: true };
  if (error.isRetryable) return { reason: 'AdminApiUnavailable', message: `${error.code}: ${error.message}`, retry: true, adminApi: true };
  return { reason: 'AdminApiRejected', message: `${error.code}: ${error.message}`, retry: true, adminApi: true };
}
