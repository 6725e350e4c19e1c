/**
 * When `openpds up` prunes, as a pure step over its bookkeeping (no I/O, no clock of its own).
 *
 * A Drive whose manifest left the folder is not deleted or released at once: a git checkout, stash or
 * branch switch takes files away for a moment and puts them back, and deleting a drive with its files on
 * that blink cannot be undone. It is pending for a grace period first (`--prune-after`, 30 s by default)
 * and pruned only if it stayed away that long. Back in time: nothing happens. The clock starts when this
 * process first sees the manifest missing, at start-up too: a folder changed while `up` was stopped gets
 * the same grace, whatever drives.json says.
 *
 * A rename (a new Drive of the folder with the same namespace, Domain, owner and drive name as a Drive
 * that left it) is a move: the new Drive takes the old one's drive over, files and all, and nothing is
 * created, deleted or released. `plan`/`apply` need the same matching (see `moveIdentity`).
 */
import type { Drive } from '../domain-types';
import { DELETE_ADOPTED_ANNOTATION } from '../reconcilers/drive-desired';
import { matchDriveMoves, type DriveIdentity } from './drive-moves';

export const DEFAULT_PRUNE_AFTER_MS = 30_000;

export interface PruneInput {
  /** Each Drive of drives.json as last applied (with its status), by namespace/name. */
  recorded: Readonly<Record<string, Drive>>;
  /** The valid Drives the folder holds now, by namespace/name. */
  present: ReadonlyMap<string, Drive>;
  /** namespace/name → when (ms) its manifest was first seen missing: the previous step's `pending`. */
  pending: ReadonlyMap<string, number>;
  now: number;
  graceMs: number;
  /**
   * Some manifest of the folder is invalid (it may be any missing Drive's): nothing turns pending, moves
   * or falls due, and the grace of what is pending starts again once the folder is fixed.
   */
  suspended: boolean;
}

export interface PruneMove {
  from: string;
  to: string;
  driveId: string;
}

export interface PruneStep {
  pending: Map<string, number>;
  /** Newly pending: to say once, with `describePending`. */
  started: string[];
  /** Pending and back in the folder: the prune is off. */
  cancelled: string[];
  /** Gone for the whole grace: delete or release now. */
  due: string[];
  moves: PruneMove[];
  /** Ms until the next pending prune falls due, when one is pending. */
  nextDueMs?: number;
}

export function stepPrunes(input: PruneInput): PruneStep {
  const { recorded, present, now, graceMs } = input;
  const pending = new Map<string, number>();
  const step: PruneStep = { pending, started: [], cancelled: [], due: [], moves: [] };
  for (const k of input.pending.keys()) if (present.has(k)) step.cancelled.push(k);
  if (input.suspended) return step;

  const missing = Object.keys(recorded).filter((k) => !present.has(k));
  // Matched before anything is pruned, whether the old Drive left a moment ago (an edit of metadata.name)
  // or while `up` was stopped, or is pending: a move keeps the drive, a prune then a create would not.
  // Arrived: new to the records, or recorded without a drive of its own (a NameConflict with the Drive
  // that left: a copy saved before the original was removed is the rename it looks like).
  const arrived = [...present.keys()].filter((k) => !recorded[k]?.status?.driveId);
  step.moves = matchMoves(
    missing.map((k) => ({ key: k, drive: recorded[k]! })),
    arrived.map((k) => ({ key: k, drive: present.get(k)! })),
  );
  const moved = new Set(step.moves.map((m) => m.from));

  for (const k of missing) {
    if (moved.has(k)) continue;
    const since = input.pending.get(k) ?? now;
    if (!input.pending.has(k) && graceMs > 0) step.started.push(k);
    if (now - since >= graceMs) {
      step.due.push(k);
      continue;
    }
    pending.set(k, since);
    const left = since + graceMs - now;
    step.nextDueMs = Math.min(step.nextDueMs ?? Infinity, left);
  }
  return step;
}

/**
 * What makes a new Drive the same drive as one that left (drive-moves.ts, shared with plan/apply): its
 * namespace and Domain, owner and drive name (`spec.name`, else metadata.name, so a rename keeps the drive
 * only when spec.name holds it). `up` compares manifests with manifests, so the owner is as written.
 */
export function moveIdentity(drive: Drive): DriveIdentity {
  const { spec, metadata } = drive;
  return { domain: `${metadata.namespace ?? 'default'}/${spec.domainRef.name}`, ownerType: spec.owner.kind === 'Group' ? 'group' : 'user', ownerId: spec.owner.name, driveName: spec.name ?? metadata.name };
}

/**
 * Pairs Drives that left with Drives that arrived (matchDriveMoves), one to one: when two could take the
 * same drive (or one could take two), none does, and each side goes its usual way. Only a drive that
 * exists (a recorded driveId) can be moved.
 */
export function matchMoves(left: readonly { key: string; drive: Drive }[], arrived: readonly { key: string; drive: Drive }[]): PruneMove[] {
  const lost = left.flatMap(({ key, drive }) => (drive.status?.driveId ? [{ ...moveIdentity(drive), key, driveId: drive.status.driveId }] : []));
  const created = arrived.map(({ key, drive }) => ({ ...moveIdentity(drive), key }));
  return matchDriveMoves(created, lost).moves.map(({ from, to }) => ({ from: from.key, to: to.key, driveId: from.driveId }));
}

/** What pruning this Drive will do to its drive, as the deletion reconciler decides it. */
export function pruneAction(drive: Drive): string {
  const policy = drive.spec.reclaimPolicy ?? 'Retain';
  const origin = (drive.status as { origin?: string } | undefined)?.origin;
  if (policy === 'Delete' && origin === 'Adopted' && drive.metadata.annotations?.[DELETE_ADOPTED_ANNOTATION] !== 'true') {
    return 'released (reclaimPolicy Delete, but it was adopted)';
  }
  return policy === 'Delete' ? 'deleted (reclaimPolicy Delete)' : 'released (reclaimPolicy Retain)';
}

export function describePending(key: string, drive: Drive, graceMs: number): string {
  return `Drive ${key} left the folder: its drive will be ${pruneAction(drive)} in ${formatDuration(graceMs)} unless it comes back`;
}

export function describeCancelled(key: string, drive: Drive | undefined): string {
  const id = drive?.status?.driveId;
  return `Drive ${key} is back in the folder: pending prune cancelled${id ? `, drive ${id} kept` : ''}`;
}

export function describeMove(move: PruneMove): string {
  return `Drive ${move.from} moved to ${move.to}: drive ${move.driveId} and its files kept`;
}

/** `--prune-after`: see duration.ts. */
export { parseDurationMs as parseDuration } from '../duration';

export function formatDuration(ms: number): string {
  if (ms >= 120_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 100) / 10} s`;
}
