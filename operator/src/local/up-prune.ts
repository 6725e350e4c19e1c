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
  const arrived = [...present.keys()].filter((k) => !(k in recorded));
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
 * What makes a new Drive the same drive as one that left: its namespace, Domain, owner and drive name
 * (`spec.name`, else metadata.name, so a rename keeps the drive only when spec.name holds it). `plan`
 * and `apply` can match on the same string.
 */
export function moveIdentity(drive: Drive): string {
  const { spec, metadata } = drive;
  return JSON.stringify([metadata.namespace ?? 'default', spec.domainRef.name, spec.owner.kind, spec.owner.name, spec.name ?? metadata.name]);
}

/**
 * Pairs Drives that left with Drives that arrived on `moveIdentity`, one to one: when two could take the
 * same drive (or one could take two), none does, and each side goes its usual way. Only a drive that
 * exists (a recorded driveId) can be moved.
 */
export function matchMoves(left: readonly { key: string; drive: Drive }[], arrived: readonly { key: string; drive: Drive }[]): PruneMove[] {
  const byIdentity = new Map<string, { from: string[]; to: string[]; driveId?: string }>();
  const slot = (drive: Drive) => {
    const id = moveIdentity(drive);
    let entry = byIdentity.get(id);
    if (!entry) byIdentity.set(id, (entry = { from: [], to: [] }));
    return entry;
  };
  for (const { key, drive } of left) {
    const entry = slot(drive);
    entry.from.push(key);
    entry.driveId = drive.status?.driveId;
  }
  for (const { key, drive } of arrived) slot(drive).to.push(key);
  const moves: PruneMove[] = [];
  for (const entry of byIdentity.values()) {
    if (entry.from.length === 1 && entry.to.length === 1 && entry.driveId) moves.push({ from: entry.from[0]!, to: entry.to[0]!, driveId: entry.driveId });
  }
  return moves;
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

const UNITS_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;

/** `--prune-after`: "30s", "1.5s", "500ms", "2m", "1h", or bare seconds ("0", "30"). Undefined when invalid. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNITS_MS[(match[2] ?? 's') as keyof typeof UNITS_MS];
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

export function formatDuration(ms: number): string {
  if (ms >= 120_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 100) / 10} s`;
}
