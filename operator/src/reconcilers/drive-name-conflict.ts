/**
 * NameConflict between Drives, decided by who holds the drive name in the data plane (drive-identity.ts
 * says what an identity is). The runtime's index answers "is there an older Drive with this identity?";
 * age alone would hand the name to an older Drive that is edited into a newer one's identity, which would
 * then rename its own drive next to the newer one's (two same-named drives for one owner). So:
 * - a Drive whose own drive already has the name (status.driveId, its marker, drive_name) keeps it, older
 *   Drive or not (`holdsNameAlready`);
 * - a Drive that would rename its drive into a name another existing Drive's drive has is refused
 *   (`renameBlocker`): NameConflict, nothing applied, its drive keeps the old name.
 * Both read the data plane and never write. Between two Drives of which neither has the name applied yet,
 * the older wins, as before.
 */
import type { AdminClient, AdminDrive } from '../admin-client/admin-client';
import type { Drive } from '../domain-types';
import type { DriveReconcileContext } from './drive-context';
import { driveUid, LOCAL_UID_PREFIX, parseMarker, type DesiredDrive } from './drive-desired';
import type { DriveFailure } from './drive-status';

type DriveRef = NonNullable<DriveReconcileContext['identityConflict']>;
/** How soon a Drive blocked by another Drive's rename in progress asks again. */
const RENAME_RETRY_MS = 1000;

/** The Drive's recorded drive carries its marker and already has its drive name and owner kind. */
export async function holdsNameAlready(client: AdminClient, drive: Drive): Promise<boolean> {
  const id = drive.status?.driveId;
  if (!id) return false;
  let observed: AdminDrive;
  try {
    observed = await client.getDrive(id);
  } catch (error) {
    if ((error as { isNotFound?: boolean }).isNotFound) return false;
    throw error;
  }
  const name = drive.spec.name ?? drive.metadata.name;
  const ownerType = drive.spec.owner.kind === 'Group' ? 'group' : 'user';
  return parseMarker(observed.description)?.uid === driveUid(drive) && observed.drive_name === name && observed.owner_type === ownerType;
}

/**
 * The existing Drive whose drive (same owner, not `observed`) already has the name `observed` would be
 * renamed to, if any. `driveOfUid` maps a marker's uid to the Drive that has it (a live lookup: a marker of
 * a deleted Drive holds nothing). An unmarked drive of that name is not a Drive's and blocks nothing.
 */
export async function renameBlocker(client: AdminClient, desired: DesiredDrive, observed: AdminDrive, driveOfUid: (uid: string) => Promise<DriveRef | undefined>): Promise<(DriveRef & { driveId: string }) | undefined> {
  for await (const d of client.listAllDrives({ owner: observed.owner })) {
    if (d.drive_id === observed.drive_id || d.drive_name !== desired.drive_name || d.owner_type !== desired.owner_type) continue;
    const uid = parseMarker(d.description)?.uid;
    if (!uid || uid === desired.uid) continue;
    const holder = await driveOfUid(uid);
    if (holder) return { ...holder, driveId: d.drive_id };
  }
  return undefined;
}

/** Not retried on a backoff: the runtime wakes this Drive when the other one is deleted or renamed. */
export function nameConflict(drive: Drive, other: DriveRef): DriveFailure {
  const owner = `${drive.spec.owner.kind} ${drive.spec.owner.name}`;
  // Found through an alias: the other Drive writes the same user another way (by id, or by user name).
  const alias = other.ownerName !== undefined && other.ownerName !== drive.spec.owner.name ? `, written "${other.ownerName}" there: the same user` : '';
  const name = drive.spec.name ?? drive.metadata.name;
  return {
    reason: 'NameConflict',
    message: `Drive ${other.namespace}/${other.name} was created first with the same domainRef (${drive.spec.domainRef.name}), owner (${owner}${alias}) and drive name "${name}": this Drive does nothing in the data plane until that Drive is deleted or renamed, or this one gets another spec.name`,
    retry: false,
  };
}

/** The rename is refused: the other Drive's drive has the name already, whichever Drive is older. */
export function renameConflict(drive: Drive, observed: AdminDrive, other: DriveRef & { driveId: string }): DriveFailure {
  const name = drive.spec.name ?? drive.metadata.name;
  return {
    reason: 'NameConflict',
    message: `Drive ${other.namespace}/${other.name} already has drive ${other.driveId} named "${name}" for the same owner (${drive.spec.owner.kind} ${drive.spec.owner.name}): this Drive's change is not applied and its drive ${observed.drive_id} keeps the name "${observed.drive_name}" until that Drive is deleted or renamed, or this one gets another spec.name`,
    retry: false,
  };
}

/**
 * No drive of this Drive's, but one with its owner and drive name carries another Drive's marker (a
 * cluster Drive's, met by `openpds apply --endpoint`, or a Drive the runtime's index did not pair with this
 * one): NameConflict naming that marker's uid, and the Drive when it can be told (`driveOfUid` in a
 * cluster, the stand-in uid `local.<namespace>.<name>` of `openpds up`/`apply`). Nothing is created.
 */
export async function markerConflict(drive: Drive, claim: { uid: string; driveId: string }, driveOfUid?: (uid: string) => Promise<(DriveRef & { driveName?: string; failing?: boolean }) | undefined>): Promise<DriveFailure> {
  const name = drive.spec.name ?? drive.metadata.name;
  let whose = `Drive uid ${claim.uid}`;
  // Held by a Drive of this cluster that wants another name (a new spec.name): its rename has not reached
  // the data plane yet, and landing wakes nothing here (its spec changed before, its status after), so this
  // one asks again in a second and proceeds just after, not at the next resync (review 17: 5 failures in 6
  // runs with a fast data plane). A holder that keeps the name, or whose rename failed (Ready False at its
  // generation), is a lasting conflict: no polling.
  let retryAfterMs: number | undefined;
  if (claim.uid.startsWith(LOCAL_UID_PREFIX)) {
    const [namespace, ...rest] = claim.uid.slice(LOCAL_UID_PREFIX.length).split('.');
    whose = `Drive ${namespace}/${rest.join('.')} of openpds up/apply (uid ${claim.uid})`;
  } else {
    const holder = await driveOfUid?.(claim.uid);
    if (holder) whose = `Drive ${holder.namespace}/${holder.name} (uid ${claim.uid})`;
    if (holder?.driveName !== undefined && holder.driveName !== name && !holder.failing) retryAfterMs = RENAME_RETRY_MS;
  }
  return {
    reason: 'NameConflict',
    message: `drive ${claim.driveId} of the same owner (${drive.spec.owner.kind} ${drive.spec.owner.name}) is named "${name}" already and belongs to ${whose} (its ownership marker): no second drive of that name is created until that Drive is deleted or renamed, or this one gets another spec.name`,
    retry: false,
    ...(retryAfterMs ? { retryAfterMs } : {}),
  };
}
