/**
 * Carries out one deferred deletion (DeferredDriveDelete) through the admin API of the Domain that is
 * back. The marker decides, never the recorded id: the drive is deleted only if it still carries the
 * deleted Drive's uid with reclaimPolicy Delete (and, when the marker says the operator adopted it, only if
 * that Drive was annotated to delete adopted drives). Anything else — the marker removed or changed by
 * hand, the drive released or taken over — leaves the drive alone: a promise to delete is never a reason
 * to delete a drive someone else now holds.
 *
 * A Domain re-created on other storage (another database) has no drive with the marker either, which is
 * not the promise kept: the drive may still be in the old storage, which the Domain may be pointed at
 * again. The data plane's domain record tells them apart: created after the entry was recorded, it is not
 * the storage the drive lived in (that one held the drive before the Domain went), so the entry stays
 * pending (`OtherStorage`) instead of being dropped as done. A domain record older than the entry is
 * taken as the same storage (a drive deleted by hand meanwhile: `Gone`); an older, other database cannot
 * be told from it and ends as before.
 */
import type { AdminClient, AdminDrive } from '../admin-client/admin-client';
import type { DeferredDriveDelete } from './drive-context';
import { DELETE_ADOPTED_ANNOTATION, parseMarker } from './drive-desired';

export type DeferredDeleteResult =
  /** Deleted now. */
  | { result: 'Deleted'; driveId: string; message: string }
  /** Nothing carries the marker (deleted by hand, or other storage): the promise is kept already. */
  | { result: 'Gone'; message: string }
  /** A drive was found but is not ours to delete any more: left alone. */
  | { result: 'Skipped'; driveId: string; message: string }
  /** Nothing found, on a data plane whose storage is newer than the entry: the entry must stay pending. */
  | { result: 'OtherStorage'; message: string };

const isNotFound = (error: unknown) => (error as { isNotFound?: boolean }).isNotFound === true;

export async function finishDeferredDelete(client: AdminClient, entry: DeferredDriveDelete): Promise<DeferredDeleteResult> {
  const drive = await findDrive(client, entry);
  const who = `Drive ${entry.namespace}/${entry.name} (uid ${entry.uid}, deleted on ${entry.recordedAt})`;
  if (!drive) {
    const created = (await client.getDomain()).created_at;
    if (created !== undefined && Date.parse(created) > Date.parse(entry.recordedAt)) {
      const id = entry.driveId ? `drive ${entry.driveId}` : 'its drive';
      return { result: 'OtherStorage', message: `no drive carries the marker of ${who}, but this data plane's storage was created on ${created}, after the deletion was recorded: it is not the storage ${id} was in, so the deletion stays pending until the Domain runs on that storage again` };
    }
    return { result: 'Gone', message: `no drive carries the marker of ${who}: nothing left to delete` };
  }
  const marker = parseMarker(drive.description);
  const id = drive.drive_id;
  if (marker?.uid !== entry.uid) {
    return { result: 'Skipped', driveId: id, message: `drive ${id} no longer carries the marker of ${who} (released, taken over, or edited by hand): left alone with its files` };
  }
  if (marker.reclaimPolicy !== 'Delete') {
    return { result: 'Skipped', driveId: id, message: `drive ${id} of ${who} is now marked reclaimPolicy=${marker.reclaimPolicy}: left alone with its files` };
  }
  if (marker.origin === 'Adopted' && !entry.deleteAdopted) {
    return { result: 'Skipped', driveId: id, message: `drive ${id} of ${who} was adopted, not created, by the operator and the Drive was not annotated ${DELETE_ADOPTED_ANNOTATION}: "true": left alone with its files` };
  }
  try {
    await client.deleteDrive(id);
  } catch (error) {
    if (!isNotFound(error)) throw error; // deleted meanwhile: the promise is kept all the same
  }
  return { result: 'Deleted', driveId: id, message: `deleted drive ${id} and its files, as ${who} asked (reclaimPolicy Delete) while the Domain was gone` };
}

/**
 * The recorded id first (one GET) when it still has the marker, else the owner's drives by marker: the id
 * may be missing (a crash between create and the status write) or stale. When the recorded drive has
 * another uid's marker, the search still looks for ours; what it finds is judged by its own marker.
 */
async function findDrive(client: AdminClient, entry: DeferredDriveDelete): Promise<AdminDrive | undefined> {
  let recorded: AdminDrive | undefined;
  if (entry.driveId) {
    try {
      recorded = await client.getDrive(entry.driveId);
      if (parseMarker(recorded.description)?.uid === entry.uid) return recorded;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  const owner = entry.owner.kind === 'Group' ? entry.owner.name : (await client.findUser(entry.owner.name))?.user_id;
  // A user that no longer exists took its drives with it.
  if (owner !== undefined) {
    for await (const d of client.listAllDrives({ owner })) if (parseMarker(d.description)?.uid === entry.uid) return d;
  }
  return recorded; // without the marker: reported as left alone, not deleted
}
