/**
 * The contract between the Drive reconciler and whatever drives it (the Kubernetes runtime, `openpds up`,
 * `openpds plan/apply`): what it is given and what it answers.
 */
import type { AdminClient } from '../admin-client/admin-client';
import type { DriveStatus } from '../domain-types';
import type { DesiredDrive, FieldChange } from './drive-desired';

export type DomainAccess =
  | { state: 'Ready'; client: AdminClient }
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
}

export type DriveActionType = 'create' | 'adopt' | 'update' | 'delete' | 'release' | 'none';

export interface DriveAction {
  action: DriveActionType;
  driveId?: string;
  /** Why: Create, Recreate (deleted by hand), DriftDetected, SpecChanged, Adopt, Retain, Delete, InSync. */
  reason: string;
  changes?: FieldChange[];
  desired?: DesiredDrive;
}

export interface DriveReconcileResult {
  status: DriveStatus;
  events: DriveEvent[];
  actions: DriveAction[];
  requeueAfterMs: number;
}

export const DEFAULT_RESYNC_MS = 5 * 60_000;

export interface DriveDeletionResult extends DriveReconcileResult {
  /** The drive is deleted or released (or there is nothing left to act on): the finalizer may go. */
  removeFinalizer: boolean;
}

/** A User owner that is neither a user id nor a user name of the domain: an expected, retried condition. */
export class OwnerNotFoundError extends Error {
  override readonly name = 'OwnerNotFoundError';
}

