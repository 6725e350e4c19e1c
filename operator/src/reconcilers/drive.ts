/**
 * The Drive reconciler, terraform-provider style: observe the drive through the domain's admin API, then
 * create, adopt or update it, and report. It knows nothing of how it is driven (the Kubernetes runtime,
 * `openpds up`, `openpds plan/apply`): the caller passes the domain's admin client (or why there is none),
 * a clock and an event sink, writes the returned status and requeues after `requeueAfterMs`.
 *
 * Observation order, so a crash NEVER creates a duplicate: status.driveId → the ownership marker (the CR
 * uid on the drive's description, written in the same call that creates it) → an unmanaged drive with the
 * same owner and name (adoption, e.g. a drive a deleted CR retained) → a drive with the same owner and
 * name whose marker names a Drive that no longer exists (one retained while its Domain was gone, so its
 * marker could not be removed). Only then create.
 *
 * Adoption is recorded (status.origin and the marker's `origin=Adopted`): reclaimPolicy Delete never
 * deletes a drive the operator did not create unless the CR says so (DELETE_ADOPTED_ANNOTATION).
 */
import type { AdminClient, AdminDrive } from '../admin-client/admin-client';
import type { Drive } from '../domain-types';
import { buildDesiredDrive, DELETE_ADOPTED_ANNOTATION, describeChange, diffDrive, driveUid, LOCAL_UID_PREFIX, parseMarker, patchFor, stripMarker, type DesiredDrive, type DriveMarker, type DriveOrigin, type FieldChange } from './drive-desired';
import { DRIVE_FINALIZER, OwnerNotFoundError, type DeferredDriveDelete, type DomainAccess, type DriftField, type DriveDeletionResult, type DriveReconcileContext, type DriveReconcileResult, type DriveStatusOut } from './drive-context';
import { holdsNameAlready, markerConflict, nameConflict, renameBlocker, renameConflict } from './drive-name-conflict';
import { failureOutcome, Outcome, successStatus, toFailure, type DriveFailure } from './drive-status';

export * from './drive-context';

// After fixing drift, look again soon: that is when Synced turns back to True.
const VERIFY_AFTER_MS = 5_000;

export async function reconcileDrive(drive: Drive, ctx: DriveReconcileContext): Promise<DriveReconcileResult> {
  const out = new Outcome(drive, ctx);
  // Before the Domain: a spec problem the user should see even while the Domain is away. An older Drive
  // edited into this one's identity does not take the name from a drive that has it (drive-name-conflict.ts).
  if (ctx.identityConflict) {
    try {
      const keeps = ctx.domain.state === 'Ready' && !ctx.domain.deleting && (await holdsNameAlready(ctx.domain.client, drive));
      if (!keeps) return failureOutcome(out, nameConflict(drive, ctx.identityConflict));
    } catch (error) {
      const failure = toFailure(error);
      if (!failure) throw error;
      return failureOutcome(out, failure);
    }
  }
  if (ctx.domain.state !== 'Ready') return failureOutcome(out, domainFailure(ctx.domain, drive));
  // Lent to its deleting Drives only: a drive created now would be torn down with the data plane.
  if (ctx.domain.deleting) return failureOutcome(out, { reason: 'DomainNotReady', message: `Domain ${drive.metadata.namespace ?? 'default'}/${drive.spec.domainRef.name} is being deleted`, retry: true });
  let desired: DesiredDrive;
  try {
    desired = buildDesiredDrive(drive);
  } catch (error) {
    return failureOutcome(out, { reason: 'InvalidSpec', message: (error as Error).message, retry: false });
  }
  try {
    return await applyDrive(drive, desired, ctx.domain.client, ctx, out);
  } catch (error) {
    const failure = toFailure(error);
    if (!failure) throw error; // a bug, not an expected condition: let the runtime log it and back off
    return failureOutcome(out, failure);
  }
}

async function applyDrive(drive: Drive, wanted: DesiredDrive, client: AdminClient, ctx: DriveReconcileContext, out: Outcome): Promise<DriveReconcileResult> {
  const recordedId = drive.status?.driveId;
  const found = await observeDrive(client, wanted, recordedId, { adopt: true, recordedOrigin: (drive.status as DriveStatusOut | undefined)?.origin, ...(ctx.driveUidsInUse ? { driveUidsInUse: ctx.driveUidsInUse } : {}) });
  if (found.claimedBy) return failureOutcome(out, await markerConflict(drive, found.claimedBy, ctx.driveOfUid));
  if (found.ignoredRecordedId) out.event('Warning', 'DriveIdIgnored', `status.driveId ${found.ignoredRecordedId} is not this Drive's drive (its description has no marker for uid ${wanted.uid}); it is left alone and the drive is looked for by marker and by owner and name`);

  if (!found.drive) {
    // Only a recorded drive that is gone was deleted by hand: one set aside (another Drive's) still exists.
    const recreate = recordedId !== undefined && !found.ignoredRecordedId;
    const desired = wanted; // built as Created: what the operator makes now is its own, whatever it replaces
    out.actions.push({ action: 'create', reason: recreate ? 'Recreate' : 'Create', desired });
    if (ctx.dryRun) return out.planned();
    if (recreate) out.event('Warning', 'DriftDetected', `drive ${recordedId} was deleted in the data plane; creating it again`);
    const { drive_id } = await client.createDrive({
      drive_name: desired.drive_name,
      owner: found.ownerId!,
      owner_type: desired.owner_type,
      description: desired.description,
      total_size: desired.total_size,
    });
    out.event('Normal', recreate ? 'Recreated' : 'Created', `created drive ${drive_id} "${desired.drive_name}"`);
    if (recreate) out.driftCorrected.push('deleted');
    const status = successStatus(out, { drive_id, used_size: 0, total_size: desired.total_size }, 'Created', recreate ? drift(`drive ${recordedId} was deleted by hand; recreated as ${drive_id}`) : undefined);
    return out.done(status, recreate ? VERIFY_AFTER_MS : undefined);
  }

  const observed = found.drive;
  const origin = originOf(found, wanted.uid, drive.status);
  const desired = origin === wanted.origin ? wanted : buildDesiredDrive(drive, origin);
  const changes = diffDrive(desired, observed);
  if (found.via === 'name') out.actions.push({ action: 'adopt', driveId: observed.drive_id, reason: 'Adopt', changes, desired });
  if (changes.length === 0) {
    if (found.via !== 'name') out.actions.push({ action: 'none', driveId: observed.drive_id, reason: 'InSync' });
    return ctx.dryRun ? out.planned() : out.done(successStatus(out, observed, origin));
  }

  // A rename into a name another Drive's drive has already: refused whole, whichever Drive is older.
  if (found.via !== 'name' && ctx.driveOfUid && changes.some((c) => c.field === 'drive_name')) {
    const blocker = await renameBlocker(client, desired, observed, ctx.driveOfUid);
    if (blocker) return failureOutcome(out, renameConflict(drive, observed, blocker));
  }
  // Spec unchanged since the last successful apply, yet the data plane differs: someone changed it by hand.
  // A lost marker is drift whatever the spec did meanwhile: only a hand edit in the data plane removes it.
  const isDrift = found.via !== 'name' && drive.status?.driveId === observed.drive_id && (found.markerLost === true || drive.status?.observedGeneration === drive.metadata.generation);
  const reason = found.via === 'name' ? 'Adopt' : isDrift ? 'DriftDetected' : 'SpecChanged';
  if (found.via !== 'name') out.actions.push({ action: 'update', driveId: observed.drive_id, reason, changes, desired });
  if (ctx.dryRun) return out.planned();

  const summary = changes.map(describeChange).join(', ');
  const lost = found.markerLost ? `; its ownership marker (uid ${wanted.uid}) was removed from the description, and is restored` : '';
  if (isDrift) out.event('Warning', 'DriftDetected', `drive ${observed.drive_id} changed in the data plane (${summary})${lost}; correcting`);
  const updated = await client.updateDrive(observed.drive_id, patchFor(changes, desired));
  if (isDrift) out.driftCorrected.push(...changes.map(driftField));
  if (found.via === 'name') {
    const deletion = desired.reclaimPolicy === 'Delete' ? ` reclaimPolicy Delete will not delete it unless the Drive is annotated ${DELETE_ADOPTED_ANNOTATION}: "true".` : '';
    const whose = found.orphanOf ? `retained by a deleted Drive (uid ${found.orphanOf})` : 'which the operator did not create';
    out.event('Normal', 'Adopted', `adopted drive ${observed.drive_id}, ${whose}: ${summary}.${deletion}`);
  } else {
    out.event('Normal', 'Updated', `updated drive ${observed.drive_id}: ${summary}`);
  }
  return out.done(successStatus(out, updated, origin, isDrift ? drift(`corrected drift: ${summary}`) : undefined), isDrift ? VERIFY_AFTER_MS : undefined);
}

function drift(message: string) {
  return { reason: 'DriftDetected', message };
}

const DRIFT_FIELDS: Record<FieldChange['field'], DriftField> = { drive_name: 'name', description: 'description', total_size: 'quota', status: 'status' };

function driftField(change: FieldChange): DriftField {
  return DRIFT_FIELDS[change.field];
}

/**
 * Adopted when found by name now, or when the marker or the status says so (either is enough: a wrong
 * "Adopted" keeps data someone may want gone, a wrong "Created" would delete data nobody gave us).
 *
 * An orphan (found by name, its marker naming a deleted Drive) is Adopted too, even when that marker says
 * the operator created it: this Drive did not, and the earlier Drive's reclaimPolicy Retain promised to
 * keep those files. Had its Domain been there, the release would have removed the marker and this Drive
 * would have adopted the drive as Adopted; an orphan ends the same way, so reclaimPolicy Delete on the new
 * Drive deletes it only when annotated DELETE_ADOPTED_ANNOTATION.
 */
function originOf(found: Observation, uid: string, status: DriveStatusOut | undefined): DriveOrigin {
  if (found.via === 'name') return 'Adopted';
  const marker = found.drive ? parseMarker(found.drive.description) : undefined;
  return (marker?.uid === uid && marker.origin === 'Adopted') || status?.origin === 'Adopted' ? 'Adopted' : 'Created';
}

export interface Observation {
  drive?: AdminDrive;
  via?: 'id' | 'marker' | 'name';
  /** Found by name with the marker of a Drive that no longer exists: that Drive's uid. */
  orphanOf?: string;
  /** status.driveId named a drive without this Drive's marker: set aside, not taken over. */
  ignoredRecordedId?: string;
  /**
   * Found by status.driveId though its description has no marker at all: the operator created it (status
   * origin Created) for this owner and drive name, and someone edited the description by hand. Drift.
   */
  markerLost?: boolean;
  /** Nothing found, but a drive of the same owner and name carries another Drive's marker: its uid. */
  claimedBy?: { uid: string; driveId: string };
  /** The owner's id in the data plane, resolved when the search needed it. */
  ownerId?: string;
}

/**
 * Finds the CR's drive: by recorded id, by marker among the owner's drives, and (when `adopt`) a drive of
 * that owner with the same name: an unmanaged one, else (given `driveUidsInUse`) an orphan. A user's
 * default drive is never adopted.
 */
export async function observeDrive(client: AdminClient, desired: DesiredDrive, recordedId: string | undefined, options: ObserveOptions): Promise<Observation> {
  let ignoredRecordedId: string | undefined;
  if (recordedId) {
    try {
      const drive = await client.getDrive(recordedId);
      // status.driveId is a shortcut to the drive this Drive's marker names, never proof on its own: a
      // status edited by hand (or copied) could point at another Drive's drive, which this Drive would then
      // rename, resize and, with reclaimPolicy Delete, destroy. Without this Drive's marker the recorded id
      // is set aside and the drive is looked for as if none were recorded (marker, then adoption).
      const owner = parseMarker(drive.description)?.uid;
      if (owner === desired.uid || sameLocalNamespace(owner, desired.uid)) return { drive, via: 'id' };
      // No marker at all (not another Drive's), on the drive the status says the operator created for this
      // owner and name: the description was edited by hand. Taken as this Drive's, so the marker is put back
      // (drift) and reclaimPolicy Delete still deletes it; a marker of another Drive never is.
      if (owner === undefined && options.recordedOrigin === 'Created' && (await madeFor(client, desired, drive))) return { drive, via: 'id', markerLost: true };
      ignoredRecordedId = recordedId;
    } catch (error) {
      if (!(error as { isNotFound?: boolean }).isNotFound) throw error;
    }
  }
  const found = await searchDrive(client, desired, options);
  return ignoredRecordedId ? { ...found, ignoredRecordedId } : found;
}

interface ObserveOptions {
  adopt: boolean;
  driveUidsInUse?: () => Promise<ReadonlySet<string>>;
  /** status.origin: a recorded drive without any marker is this Drive's only when it says Created. */
  recordedOrigin?: DriveOrigin | undefined;
}

/** The drive has the desired owner and drive name (a user given by name is resolved: one findUser). */
async function madeFor(client: AdminClient, desired: DesiredDrive, drive: AdminDrive): Promise<boolean> {
  if (drive.default || drive.owner_type !== desired.owner_type || drive.drive_name !== desired.drive_name) return false;
  return drive.owner === (await resolveOwnerId(client, desired));
}

/**
 * Both uids are `openpds up`/`apply` stand-ins (`local.<namespace>.<name>`) of one namespace. `up` moves
 * a renamed Drive by handing it the old drive's id from its own records (drives.json, which it alone
 * writes), before the marker names the new Drive: that recorded id is the tool's own word, not a status
 * someone could edit in a cluster, where uids are never `local.`.
 */
function sameLocalNamespace(a: string | undefined, b: string): boolean {
  if (!a?.startsWith(LOCAL_UID_PREFIX) || !b.startsWith(LOCAL_UID_PREFIX)) return false;
  const namespaceOf = (uid: string) => uid.slice(LOCAL_UID_PREFIX.length).split('.')[0];
  return namespaceOf(a) === namespaceOf(b);
}

async function searchDrive(client: AdminClient, desired: DesiredDrive, options: ObserveOptions): Promise<Observation> {
  const ownerId = await resolveOwnerId(client, desired);
  let unmanaged: AdminDrive | undefined;
  const orphans: { drive: AdminDrive; uid: string }[] = [];
  const claimed: { drive: AdminDrive; marker: DriveMarker }[] = [];
  for await (const d of client.listAllDrives({ owner: ownerId })) {
    const marker = parseMarker(d.description);
    if (marker?.uid === desired.uid) return { drive: d, via: 'marker', ownerId };
    if (!options.adopt || d.default || d.owner_type !== desired.owner_type || d.drive_name !== desired.drive_name) continue;
    if (!marker) unmanaged ??= d;
    else {
      claimed.push({ drive: d, marker });
      if (options.driveUidsInUse && mayBeOrphan(marker)) orphans.push({ drive: d, uid: marker.uid });
    }
  }
  if (unmanaged) return { drive: unmanaged, via: 'name', ownerId };
  if (claimed.length === 0) return { ownerId };
  // A uid is never given out again, so a uid missing from a live list stays missing: the drive cannot
  // be taken from a Drive that exists, or will. A cache could lag behind a Drive created a moment ago.
  const inUse = options.driveUidsInUse ? await options.driveUidsInUse() : undefined;
  const orphan = inUse ? orphans.find((o) => !inUse.has(o.uid)) : undefined;
  if (orphan) return { drive: orphan.drive, via: 'name', orphanOf: orphan.uid, ownerId };
  // Another Drive's drive has this owner and name: a second one would be two same-named drives for one
  // owner (a cluster Drive's and `openpds apply --endpoint`'s, or two Drives the cache did not pair). The
  // one exception: a Delete-marked drive whose Drive is gone, in a cluster (a live list says so): it is
  // owed a deletion (drive-deferred-deletes.ts), not a name. Without a live list, no marker can be
  // taken for a deleted Drive's. Nor, in `openpds plan/apply --set NAME`, a drive of the same set and
  // namespace: the plan sees the whole set, and makes it a move, a prune, or an error (plan-drives.ts).
  const owedDeletion = (m: DriveMarker) => inUse !== undefined && m.reclaimPolicy === 'Delete' && !m.uid.startsWith(LOCAL_UID_PREFIX) && !inUse.has(m.uid);
  const sameSet = (m: DriveMarker) => desired.set !== undefined && m.set === desired.set && sameLocalNamespace(m.uid, desired.uid);
  const holder = claimed.find((c) => !owedDeletion(c.marker) && !sameSet(c.marker));
  return holder ? { ownerId, claimedBy: { uid: holder.marker.uid, driveId: holder.drive.drive_id } } : { ownerId };
}

/**
 * Retain only: a Delete marker means its Drive wanted the files gone, not handed on. A `local.` uid is a
 * drive `openpds up`/`apply` manages, which no cluster list knows of: never an orphan here.
 */
function mayBeOrphan(marker: DriveMarker): boolean {
  return marker.reclaimPolicy === 'Retain' && !marker.uid.startsWith(LOCAL_UID_PREFIX);
}

/** A Group owner is the group id as is; a User owner may be written as a user id or a user name. */
async function resolveOwnerId(client: AdminClient, desired: DesiredDrive): Promise<string> {
  if (desired.ownerKind === 'Group') return desired.ownerName;
  const user = await client.findUser(desired.ownerName);
  if (!user) throw ownerNotFound(desired.ownerName);
  return user.user_id;
}

function ownerNotFound(name: string): OwnerNotFoundError {
  return new OwnerNotFoundError(`user "${name}" does not exist in the domain (neither a user id nor a user name)`);
}

function domainFailure(domain: Exclude<DomainAccess, { state: 'Ready' }>, drive: Drive): DriveFailure {
  if (domain.state === 'NotReady') return { reason: 'DomainNotReady', message: domain.message, retry: true };
  // Deleting a Domain leaves its storage (database and blobs) alone: a drive it held is still there.
  const id = drive.status?.driveId;
  const kept = id ? `; drive ${id} and its files are kept in the Domain's storage and are used again when the Domain is re-created with the same storage` : '';
  return { reason: 'DomainNotFound', message: `${domain.message}${kept}`, retry: true };
}

/**
 * The CR is being deleted: honour reclaimPolicy. Retain keeps the drive and its files and removes the
 * ownership marker (so a Drive with the same owner and name can adopt it later); Delete deletes it. The
 * finalizer is the runtime's: it removes it when `removeFinalizer` is true and keeps requeueing otherwise.
 */
export async function reconcileDriveDeletion(drive: Drive, ctx: DriveReconcileContext): Promise<DriveDeletionResult> {
  const out = new Outcome(drive, ctx);
  const policy = drive.spec.reclaimPolicy ?? 'Retain';
  const recordedId = drive.status?.driveId;
  if (ctx.domain.state === 'NotFound') {
    // Nothing left to act through; waiting would block the namespace's deletion forever.
    out.actions.push({ action: 'none', ...(recordedId ? { driveId: recordedId } : {}), reason: 'DomainNotFound' });
    // The marker stays on the drive (there is no admin API to remove it through): a Drive with the same
    // owner and name adopts it as an orphan once the Domain is back (observeDrive).
    const which = recordedId ?? '(never created, or its id was not recorded)';
    if (policy === 'Retain') {
      out.event('Normal', 'Retained', `the Domain is gone; drive ${which} and its files stay in the Domain's storage (reclaimPolicy Retain); when the Domain is re-created with the same storage, a Drive with the same owner and name adopts it`);
      return { ...out.done(drive.status ?? {}, 0), removeFinalizer: !ctx.dryRun };
    }
    // Same rule as with the Domain there: an adopted drive goes only when the annotation asks. Only the
    // status can tell here; a drive whose marker says Adopted is checked again when the deletion is done.
    const deleteAdopted = drive.metadata.annotations?.[DELETE_ADOPTED_ANNOTATION] === 'true';
    if ((drive.status as DriveStatusOut | undefined)?.origin === 'Adopted' && !deleteAdopted) {
      out.event('Normal', 'Retained', `the Domain is gone; drive ${which} stays in the Domain's storage: reclaimPolicy Delete, but the operator adopted this drive and did not create it (${DELETE_ADOPTED_ANNOTATION} is not "true")`);
      return { ...out.done(drive.status ?? {}, 0), removeFinalizer: !ctx.dryRun };
    }
    if (!ctx.deferDeletes) {
      out.event('Warning', 'DomainNotFound', `the Domain is gone; drive ${which} could not be deleted through its admin API`);
      return { ...out.done(drive.status ?? {}, 0), removeFinalizer: !ctx.dryRun };
    }
    // The promise outlives this Drive: the runtime records it before the finalizer goes, and deletes the
    // drive when the Domain is Ready again (a Delete-marked drive is never adopted, so without this a
    // re-created Domain would keep it forever and a re-applied Drive would make a second, empty one).
    out.event('Normal', 'DeletionDeferred', `the Domain is gone; drive ${which} will be deleted when Domain ${drive.metadata.namespace}/${drive.spec.domainRef.name} is Ready again, if it still carries this Drive's marker (reclaimPolicy Delete)`);
    const deferredDelete: DeferredDriveDelete = {
      uid: driveUid(drive),
      namespace: drive.metadata.namespace ?? 'default',
      name: drive.metadata.name,
      domain: drive.spec.domainRef.name,
      ...(recordedId ? { driveId: recordedId } : {}),
      owner: { kind: drive.spec.owner.kind, name: drive.spec.owner.name },
      deleteAdopted,
      recordedAt: ctx.clock.now().toISOString(),
    };
    return { ...out.done(drive.status ?? {}, 0), removeFinalizer: !ctx.dryRun, ...(ctx.dryRun ? {} : { deferredDelete }) };
  }
  if (ctx.domain.state !== 'Ready') {
    // Retain keeps the drive, so the deletion needs no data plane: what `kubectl delete` with Retain
    // promises is "the Drive goes, the files stay", and a Domain stopped for maintenance must not hold it.
    // The marker stays on the drive; with reclaimPolicy Retain and a uid no Drive has any more it is an
    // orphan a Drive with the same owner and name adopts (observeDrive), as after a Domain that was gone.
    // (A spec changed from Delete to Retain while the Domain was stopped left a Delete marker: that drive
    // is then kept but not adopted; its files are never deleted.)
    if (policy === 'Retain') {
      out.actions.push({ action: 'none', ...(recordedId ? { driveId: recordedId } : {}), reason: 'DomainNotReady' });
      out.event('Normal', 'Retained', `${ctx.domain.message}; drive ${recordedId ?? '(never created, or its id was not recorded)'} and its files are kept (reclaimPolicy Retain) and its marker stays: once the Domain serves again, a Drive with the same owner and name adopts it`);
      return { ...out.done(drive.status ?? {}, 0), removeFinalizer: !ctx.dryRun };
    }
    // Delete needs the admin API: say that the deletion waits, for what, and the way out.
    const ns = drive.metadata.namespace ?? 'default';
    const message = `deletion waits for Domain ${ns}/${drive.spec.domainRef.name} to serve again (${ctx.domain.message}): reclaimPolicy Delete deletes drive ${recordedId ?? '(not recorded)'} through its admin API. Start the Domain (e.g. apiServer.replicas > 0) to finish the deletion, or remove the finalizer ${DRIVE_FINALIZER} by hand (kubectl patch drive ${drive.metadata.name} -n ${ns} --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]') to let the Drive go and keep the drive and its files`;
    return { ...failureOutcome(out, { reason: 'DomainNotReady', message, retry: true }), removeFinalizer: false };
  }
  const client = ctx.domain.client;
  const desired = buildDesiredDrive(withParsableQuota(drive));
  try {
    const found = await observeDrive(client, desired, recordedId, { adopt: false, recordedOrigin: (drive.status as DriveStatusOut | undefined)?.origin }).catch((error: unknown) => {
      // The owner is gone, and the data plane deletes a user's drives with the user: nothing is left.
      if (error instanceof OwnerNotFoundError) return {} as Awaited<ReturnType<typeof observeDrive>>;
      throw error;
    });
    const observed = found.drive;
    if (!observed) {
      out.actions.push({ action: 'none', reason: 'NotFound' });
      return { ...out.done(drive.status ?? {}, 0), removeFinalizer: !ctx.dryRun };
    }
    const adopted = originOf(found, desired.uid, drive.status) === 'Adopted';
    const spareAdopted = policy === 'Delete' && adopted && drive.metadata.annotations?.[DELETE_ADOPTED_ANNOTATION] !== 'true';
    const remove = policy === 'Delete' && !spareAdopted;
    out.actions.push({ action: remove ? 'delete' : 'release', driveId: observed.drive_id, reason: spareAdopted ? 'RetainAdopted' : policy });
    if (ctx.dryRun) return { ...out.planned(), removeFinalizer: false };
    if (remove) {
      await client.deleteDrive(observed.drive_id).catch((error: unknown) => {
        if (!(error as { isNotFound?: boolean }).isNotFound) throw error; // deleted meanwhile: the goal is met
      });
      out.event('Normal', 'Deleted', `deleted drive ${observed.drive_id} and its files (reclaimPolicy Delete${adopted ? `, adopted drive deleted as ${DELETE_ADOPTED_ANNOTATION} asks` : ''})`);
    } else {
      if (parseMarker(observed.description)?.uid === desired.uid) await client.updateDrive(observed.drive_id, { description: stripMarker(observed.description) });
      const why = spareAdopted
        ? `reclaimPolicy Delete, but the operator adopted this drive and did not create it; annotate the Drive ${DELETE_ADOPTED_ANNOTATION}: "true" before deleting it to delete an adopted drive`
        : 'reclaimPolicy Retain';
      out.event('Normal', 'Retained', `kept drive ${observed.drive_id} and its files (${why}); a Drive with the same owner and name adopts it`);
    }
    return { ...out.done(drive.status ?? {}, 0), removeFinalizer: true };
  } catch (error) {
    const failure = toFailure(error);
    if (!failure) throw error;
    return { ...failureOutcome(out, failure), removeFinalizer: false };
  }
}

/** Deletion needs only the owner, name and uid: a quota the schema would refuse must not block it. */
function withParsableQuota(drive: Drive): Drive {
  try {
    buildDesiredDrive(drive);
    return drive;
  } catch {
    return { ...drive, spec: { ...drive.spec, quota: {} } };
  }
}
