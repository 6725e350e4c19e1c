/**
 * Which Drives of a folder are moves: a Drive that would be created, and a drive of the same apply set
 * that the folder lost, in the same domain, with the same owner and the same drive name, are one drive
 * whose manifest was renamed (`metadata.name`), not one removed and one new. Creating and pruning would
 * leave an empty drive and delete (Delete) or strand (Retain) the one with the files; a move keeps the
 * drive and only rewrites its marker to the new Drive. Pure: the callers (`plan`/`apply`, later `up`)
 * gather both sides from the data plane.
 *
 * Pairs are made only when they are unique: two lost drives that either new Drive could be, or two new
 * Drives that could be the one lost drive, are ambiguous, and the caller must neither create nor prune
 * them (it cannot know which drive holds whose files).
 */
import type { OwnerType } from '../admin-client/admin-client';

/** What makes two drives the same drive: where it lives (namespace/domain), whose it is, and its name. */
export interface DriveIdentity {
  /** `namespace/domain`: the data plane the drive lives in. */
  domain: string;
  ownerType: OwnerType;
  /** The owner's id in the data plane (a user name resolved to its user id). */
  ownerId: string;
  driveName: string;
}

export interface DriveMove<New, Lost> {
  to: New;
  from: Lost;
}

export interface DriveMoveMatch<New, Lost> {
  moves: DriveMove<New, Lost>[];
  /** Groups of the same identity with more than one candidate on a side: no move, and nothing to create or prune. */
  ambiguous: { created: New[]; lost: Lost[] }[];
}

export function matchDriveMoves<New extends DriveIdentity, Lost extends DriveIdentity>(created: readonly New[], lost: readonly Lost[]): DriveMoveMatch<New, Lost> {
  const groups = new Map<string, { created: New[]; lost: Lost[] }>();
  const group = (d: DriveIdentity) => {
    // NUL cannot occur in any of the parts: the key is unambiguous.
    const key = [d.domain, d.ownerType, d.ownerId, d.driveName].join('\0');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { created: [], lost: [] }));
    return g;
  };
  for (const d of created) group(d).created.push(d);
  for (const d of lost) group(d).lost.push(d);
  const out: DriveMoveMatch<New, Lost> = { moves: [], ambiguous: [] };
  for (const g of groups.values()) {
    if (g.created.length === 0 || g.lost.length === 0) continue;
    if (g.created.length === 1 && g.lost.length === 1) out.moves.push({ to: g.created[0]!, from: g.lost[0]! });
    else out.ambiguous.push(g);
  }
  return out;
}
