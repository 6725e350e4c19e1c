/**
 * The contract between the Drive reconciler and whatever drives it (the Kubernetes runtime, `openpds up`,
 * `openpds plan/apply`): what it is given and what it answers.
 */
import type { AdminClient } from '../admin-client/admin-client';
import type { DriveStatus } from '../domain-types';
import type { DesiredDrive, DriveOrigin, FieldChange } from './drive-desired';

/**
 * Every reason the Drive reconciler puts on its Ready condition, and how Argo CD reads it (the health
 * check examples/argocd/health/drive.lua must agree; examples/argocd/argocd.test.ts checks every entry).
 * DomainNotReady is the one wait: the Domain is coming up and its Drives follow. DomainNotFound is
 * Degraded: Argo CD's sync waves apply the Domain first, so a missing one is a wrong domainRef or a
 * deleted Domain, which no wait fixes. NameConflict is Degraded too: another Drive holds the same identity
 * (domainRef, owner, drive name) and only a change to one of them resolves it.
 */
export const DRIVE_REASONS = {
  Applied: 'healthy',
  DomainNotReady: 'progressing',
  DomainNotFound: 'degraded',
  InvalidSpec: 'degraded',
  OwnerNotFound: 'degraded',
  AdminApiUnreachable: 'degraded',
  AdminCredentialsRejected: 'degraded',
  AdminApiUnavailable: 'degraded',
  AdminApiRejected: 'degraded',
  NameConflict: 'degraded',
} as const satisfies Record<string, 'healthy' | 'progressing' | 'degraded'>;

export type DriveReason = keyof typeof DRIVE_REASONS;
export type DriveFailureReason = Exclude<DriveReason, 'Applied'>;

/** The status the Drive reconciler writes: the shared DriveStatus plus who made the drive. */
export type DriveStatusOut = DriveStatus & {
  /** Created: the operator made the drive. Adopted: it took over a drive made by hand (or a retained one). */
  origin?: DriveOrigin;
};

/** What the metric `openpds_operator_drift_corrected_total{field}` counts: a hand-made change undone. */
export type DriftField = 'name' | 'description' | 'quota' | 'status' | 'deleted';

/** The Drive reconciler's finalizer: held until a deleted Drive's drive is deleted or released. */
export const DRIVE_FINALIZER = 'openpds.io/drive-cleanup';

export type DomainAccess =
  /**
   * `deleting`: the Domain is being deleted and lends its admin API only so its reclaimPolicy Delete Drives
   * can delete their drives (WaitingForDrives); nothing may be created or changed through it.
   */
  | { state: 'Ready'; client: AdminClient; deleting?: boolean }
  | { state: 'NotFound' | 'NotReady'; message: string };

export interface DriveEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface DriveReconcileContext {
  domain: DomainAccess;
  clock: { now(): Date };
  events?: (event: DriveEvent) => void;
  /** Plan mode: observe only, return the actions that would be taken, call nothing that mutates. */
  dryRun?: boolean;
  /** How long until the next drift check when all is well (default 5 minutes). */
  resyncAfterMs?: number;
  /**
   * The uids of the Drives that exist now (in the Kubernetes runtime: the namespace's Drives, listed live).
   * With it, a drive whose marker names a uid no Drive has any more, with reclaimPolicy Retain, is an
   * orphan a Drive with the same owner and name adopts: a Drive deleted while its Domain was gone could
   * not release its drive. Asked only when such a drive is found. Absent (`openpds up`, `plan`, `apply`,
   * whose uids are stable names, so a marker finds its drive again by itself) no marked drive is taken.
   */
  driveUidsInUse?: () => Promise<ReadonlySet<string>>;
  /**
   * The runtime can keep a promise to delete a drive later (the Kubernetes runtime: a ConfigMap per
   * Domain, see drive-deferred-store.ts). With it, a reclaimPolicy Delete Drive deleted while its Domain
   * is gone answers `deferredDelete`, which the runtime records before it lets the Drive go.
   */
  deferDeletes?: boolean;
  /**
   * An older Drive of the same namespace with the same domainRef, owner (kind + name) and drive name: this
   * one is a NameConflict and does nothing in the data plane (no create, adopt or update) while it
   * exists, unless its own drive has the name already (drive-name-conflict.ts). Its deletion is not
   * affected. The runtime finds it (drive-conflicts.ts in Kubernetes). `ownerName`: the other Drive's
   * spec.owner.name, when it names the same user another way (by id, or by user name).
   */
  identityConflict?: { namespace: string; name: string; ownerName?: string };
  /**
   * The Drive (namespace/name) that exists now with this uid, if any. With it, a spec change that would
   * rename this Drive's drive into the name another existing Drive's drive of that owner has is refused
   * (NameConflict). The Kubernetes runtime answers from a live list; absent, renames are not checked.
   */
  driveOfUid?: (uid: string) => Promise<{ namespace: string; name: string; driveName?: string; failing?: boolean } | undefined>;
}

export type DriveActionType = 'create' | 'adopt' | 'update' | 'delete' | 'release' | 'none';

export interface DriveAction {
  action: DriveActionType;
  driveId?: string;
  /** Why: Create, Recreate (deleted by hand), DriftDetected, SpecChanged, Adopt, Retain, Delete, RetainAdopted, InSync. */
  reason: string;
  changes?: FieldChange[];
  desired?: DesiredDrive;
}

export interface DriveReconcileResult {
  status: DriveStatusOut;
  events: DriveEvent[];
  actions: DriveAction[];
  requeueAfterMs: number;
  /**
   * True when that requeue is only the periodic drift check: a runtime with its own jittered resync (the
   * Kubernetes controller) need not schedule it again.
   */
  atResync: boolean;
  /** The admin API answered an error or could not be reached: the runtime counts a failed reconcile. */
  failed: boolean;
  /** Hand-made changes found in the data plane and corrected in this reconcile. */
  driftCorrected: DriftField[];
}

export const DEFAULT_RESYNC_MS = 5 * 60_000;

export interface DriveDeletionResult extends DriveReconcileResult {
  /** The drive is deleted or released (or there is nothing left to act on): the finalizer may go. */
  removeFinalizer: boolean;
  /**
   * Only with `deferDeletes`: the Domain is gone, so the drive could not be deleted; the runtime must
   * record this durably BEFORE removing the finalizer, and carry it out when the Domain is Ready again.
   */
  deferredDelete?: DeferredDriveDelete;
}

/**
 * A deletion owed to a Drive that no longer exists: its drive is deleted once its Domain is back, and
 * only if the drive still carries this uid's marker with reclaimPolicy Delete (and, for a drive the
 * operator adopted, only when the Drive was annotated to delete adopted drives).
 */
export interface DeferredDriveDelete {
  /** The deleted Drive's uid: the marker a drive must still carry to be deleted. */
  uid: string;
  namespace: string;
  /** The Drive's name, for Events; a later Drive of that name has another uid. */
  name: string;
  domain: string;
  /** status.driveId when it was known: a shortcut, never proof (the marker decides). */
  driveId?: string;
  owner: { kind: 'User' | 'Group'; name: string };
  /** The Drive carried DELETE_ADOPTED_ANNOTATION "true": a drive marked origin=Adopted may go too. */
  deleteAdopted: boolean;
  /** RFC 3339: when the promise was made. */
  recordedAt: string;
}

/** A User owner that is neither a user id nor a user name of the domain: an expected, retried condition. */
export class OwnerNotFoundError extends Error {
  override readonly name = 'OwnerNotFoundError';
}

