/**
 * The Drive kind in the Kubernetes runtime: the glue between the controller and the runtime-agnostic Drive
 * reconciler (drive.ts). Per reconcile: finalizer first (before anything exists in the data plane, so a
 * crash can never leave an external drive without one) → reconcileDrive / reconcileDriveDeletion → its
 * Events through the recorder (the one path: the reconciler's event sink is not used here) → status write
 * only when something changed → finalizer released once the drive is deleted or retained. Each reconcile
 * starts from the Drive as this reconciler's last write left it at least (kube/own-writes.ts): the
 * informer's copy lags behind, and "something changed" measured against it rewrote the status it had just
 * written, with a new lastTransitionTime, and repeated its Event.
 *
 * What the controller sees: a failure of the admin API (an error answer, or no answer) is thrown after the
 * status and Events are written, so it counts in openpds_operator_reconcile_errors_total and is retried
 * with the queue's backoff; waiting for the Domain is a requeue. All being well, nothing is requeued: the
 * controller's jittered resync is the periodic drift check (a second, unjittered timer per Drive would
 * make every Drive of a fleet hit its data plane at the same moments).
 *
 * A Domain whose readiness changes (either way), whose deletion starts, or that is deleted enqueues its
 * Drives through a watch on Domains: a Drive that waited for its Domain does not sit out its backoff (up
 * to 5 minutes), and a Ready Drive says DomainNotReady / DomainNotFound within seconds instead of at the
 * next resync (10 minutes).
 *
 * A reclaimPolicy Delete Drive deleted while its Domain is gone leaves a promise behind (a ConfigMap entry,
 * drive-deferred-store.ts) before its finalizer goes; the same Domain watch, and a watch on those
 * ConfigMaps, carry it out when the Domain is Ready again (drive-deferred-deletes.ts).
 *
 * Two Drives with one identity (namespace, domainRef, owner, drive name): the newer is a NameConflict and
 * leaves the data plane alone, unless its drive already has the name (drive-name-conflict.ts); a watch on
 * Drives keeps the index and wakes it when that changes (drive-conflicts.ts). A User owner is looked up
 * under its other spelling too (id or user name), resolved through the admin API when the Drive is about
 * to act (ownerAliasIdentities).
 *
 * The conflict index needs every add, identity change and delete with the object before it, to wake the
 * Drives that shared the old identity: it is a `primary` secondary watch, fed by the controller's own
 * Drive informer (kube/controller.ts), not a second watch of the same Drives.
 */
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { API_VERSION, type Domain, type Drive, type DriveStatus } from '../domain-types';
import { conditionsEqual, findCondition } from '../kube/conditions';
import { RequeueError, type Reconcile, type SecondaryWatch } from '../kube/controller';
import type { InformerEvent } from '../kube/informer';
import { hasFinalizer, removeFinalizer } from '../kube/finalizers';
import type { KubeObject } from '../kube/kube-client';
import { createOwnWrites, readWithFinalizer } from '../kube/own-writes';
import type { OperatorRuntime, ReconcilerRegistration } from '../main';
import { DRIVE_FINALIZER, reconcileDrive, reconcileDriveDeletion, type DeferredDriveDelete, type DomainAccess, type DriveDeletionResult, type DriveEvent, type DriveReconcileContext, type DriveReconcileResult } from './drive';
import { driveConflictsOf } from './drive-conflicts';
import { driveIdentity, ownerAliases, summarizeDrive, tieSettleMs } from './drive-identity';
import { createDeferredDeletes, type DeferredDeletes } from './drive-deferred-deletes';
import { isNamespaceTerminating, readDeferredDeleteKey, recordDeferredDelete } from './drive-deferred-store';

export { DRIVE_FINALIZER };
/** How long a Domain-change wake-up waits for the Domain controller's cache to see the change too. */
const DOMAIN_CACHE_WAIT_MS = 2_000;

type DriveObject = Drive & KubeObject;

/** A reconcile whose admin API calls failed: the status says why; thrown so the runtime counts an error. */
export class DriveReconcileFailed extends Error {
  override readonly name = 'DriveReconcileFailed';
}

export const driveRegistration: ReconcilerRegistration<Drive & KubernetesObject> = {
  kind: 'Drive',
  plural: 'drives',
  // The controller's object type is client-node's (Date timestamps); the reconciler reads the JSON as is.
  create: (rt) => createDriveReconcile(rt) as unknown as Reconcile<Drive & KubernetesObject>,
  secondary: (rt) => {
    const deferred = createDeferredDeletes(rt);
    return [domainReadyWatch(rt, deferred), deferred.watch, driveConflictsOf(rt).watch];
  },
};

/** The kinds `openpds operator` runs besides Domain. */
export function defaultReconcilers(): ReconcilerRegistration<any>[] {
  return [driveRegistration];
}

/** A Drive's Events that say its drive in the data plane was created, resized or deleted (drive.ts). */
const USAGE_CHANGING_EVENTS = new Set(['Created', 'Recreated', 'Updated', 'Adopted', 'DriftDetected', 'Deleted']);

export function createDriveReconcile(rt: OperatorRuntime): Reconcile<DriveObject> {
  const ownWrites = createOwnWrites();
  return async ({ object: cached, namespace, name }) => {
    const key = `${namespace}/${name}`;
    const ref = { apiVersion: API_VERSION, kind: 'Drive', namespace, name };
    // List items come without apiVersion/kind; refs and Events need them.
    const typed = (object: DriveObject): DriveObject => ({ ...object, apiVersion: API_VERSION, kind: 'Drive' });
    // Never from a copy older than this reconciler's last write: it would write that status again (kube/own-writes.ts).
    const object = await readWithFinalizer({ client: rt.client, ownWrites }, { key, ref, cached: cached && typed(cached), finalizer: DRIVE_FINALIZER });
    if (!object) return undefined; // gone: the finalizer made sure the data plane was dealt with
    const drive = typed(object);
    const deleting = Boolean(drive.metadata.deletionTimestamp);
    if (deleting && !hasFinalizer(drive, DRIVE_FINALIZER)) return undefined; // never created anything, or already released

    const domain = await domainAccess(rt, namespace, drive.spec.domainRef.name);
    // From the watch's index; live for a Drive with no drive yet about to act (see drive-conflicts.ts),
    // once no Drive created in the same second (a tie it may lose) can still appear.
    const firstAct = !deleting && domain.state === 'Ready' && !drive.status?.driveId;
    const settle = firstAct ? tieSettleMs(summarizeDrive(drive), new Date(), rt.config.driveTieSettleMs) : 0;
    if (settle > 0) return { requeueAfterMs: settle };
    const aliases = deleting ? [] : await ownerAliasIdentities(domain, drive);
    const holder = deleting ? undefined : await driveConflictsOf(rt).holderOf(drive, { live: firstAct, aliases });
    const liveDrives = async () => (await rt.client.list<DriveObject>({ apiVersion: API_VERSION, kind: 'Drive', namespace })).items;
    const ctx: DriveReconcileContext = {
      domain,
      ...(holder ? { identityConflict: { namespace: holder.namespace, name: holder.name, ...(holder.ownerName !== undefined ? { ownerName: holder.ownerName } : {}) } } : {}),
      clock: { now: () => new Date() },
      ...(rt.config.resyncIntervalMs !== undefined ? { resyncAfterMs: rt.config.resyncIntervalMs } : {}),
      // Live, not the informer's cache: only on the rare path of an orphaned drive (see observeDrive).
      driveUidsInUse: async () => new Set((await liveDrives()).map((d) => d.metadata.uid!)),
      // Live too, and only when a spec change renames a drive (drive-name-conflict.ts renameBlocker).
      driveOfUid: async (uid) => {
        const found = (await liveDrives()).find((d) => d.metadata.uid === uid);
        // The drive name it wants (its spec), and whether it failed at its current generation: to tell a
        // rename on its way from a lasting conflict (drive-name-conflict.ts markerConflict).
        if (!found) return undefined;
        const failing = found.status?.observedGeneration === found.metadata.generation && findCondition(found.status?.conditions, 'Ready')?.status === 'False';
        return { namespace, name: found.metadata.name, driveName: found.spec?.name ?? found.metadata.name, failing };
      },
      deferDeletes: true,
    };
    const result: DriveReconcileResult & Partial<DriveDeletionResult> = deleting ? await reconcileDriveDeletion(drive, ctx) : await reconcileDrive(drive, ctx);
    const events = deleting && result.deferredDelete ? await recordDeferral(rt, result.deferredDelete, result.events) : result.events;
    for (const e of events) await rt.events.record(drive, e.type, e.reason, e.message);
    // The Domain's status.usage (drives, quota) is read again now, not at its next 5-minute refresh.
    if (events.some((e) => USAGE_CHANGING_EVENTS.has(e.reason))) rt.domainUsageChanged?.(namespace, drive.spec.domainRef.name);
    for (const field of result.driftCorrected) rt.metrics.driftCorrected('Drive', field);

    if (deleting && result.removeFinalizer) {
      const released = await removeFinalizer(rt.client, drive, DRIVE_FINALIZER); // the CR goes: its status no longer matters
      ownWrites.wrote(key, released?.metadata?.resourceVersion);
      return undefined;
    }
    if (statusChanged(drive.status, result.status)) {
      const written = await rt.client.patch<DriveObject>(ref, 'merge', { status: result.status }, { subresource: 'status' });
      ownWrites.wrote(key, written?.metadata?.resourceVersion);
    }
    if (result.failed) {
      const ready = findCondition(result.status.conditions, 'Ready');
      throw new DriveReconcileFailed(`${ready?.reason ?? 'AdminApiFailed'}: ${ready?.message ?? 'the admin API failed'}`);
    }
    return result.atResync ? undefined : { requeueAfterMs: result.requeueAfterMs };
  };
}

/**
 * `drive`'s identity with its User owner written the other ways (by user id, by user name), when the
 * Drive is about to act: new (no drive yet), edited since it was last applied, or waiting in a
 * NameConflict. One findUser then, not one per resync of every Drive of a fleet: a Drive that has applied
 * its spec keeps its drive, and one already in the data plane with the name keeps it whatever its age
 * (drive-name-conflict.ts). A failed lookup gives no aliases: the reconcile meets the same error and
 * reports it (OwnerNotFound, AdminApiUnreachable, ...).
 */
async function ownerAliasIdentities(domain: DomainAccess, drive: DriveObject): Promise<string[]> {
  if (domain.state !== 'Ready' || drive.spec.owner.kind !== 'User') return [];
  const acting = !drive.status?.driveId || drive.status.observedGeneration !== drive.metadata.generation || findCondition(drive.status.conditions, 'Ready')?.reason === 'NameConflict';
  if (!acting) return [];
  try {
    const user = await domain.client.findUser(drive.spec.owner.name);
    let aliases = ownerAliases(drive, user);
    // Written as the id, the user name is an alias only if it finds this user: findUser tries ids first,
    // so a Drive naming it resolves to the user whose id it is, if there is one.
    if (user && user.user_name !== drive.spec.owner.name && aliases.includes(user.user_name) && (await domain.client.findUser(user.user_name))?.user_id !== user.user_id) {
      aliases = aliases.filter((a) => a !== user.user_name);
    }
    return aliases.map((alias) => driveIdentity(drive, alias));
  } catch {
    return [];
  }
}

/**
 * Makes the deferred deletion durable before the finalizer goes (a failed write throws: the Drive stays and
 * is retried) and before the Event that announces it. In a namespace being deleted nothing can be written,
 * and what was would go with the namespace: holding the finalizer would block its deletion for good, so
 * the Drive goes and the Event says the drive stays in the Domain's storage.
 */
async function recordDeferral(rt: OperatorRuntime, deferred: DeferredDriveDelete, events: readonly DriveEvent[]): Promise<readonly DriveEvent[]> {
  try {
    const key = await readDeferredDeleteKey(rt.client, deferred.namespace, deferred.domain);
    if (!key) {
      // No admin Secret, no signing key: a Domain re-created now would get new credentials, and an entry
      // nobody can sign is one the operator must not honour (it could be anyone's).
      const which = deferred.driveId ?? '(id not recorded)';
      return [
        ...events.filter((e) => e.reason !== 'DeletionDeferred'),
        { type: 'Warning', reason: 'DeletionNotRecorded', message: `the Domain is gone and so is its admin Secret ${deferred.domain}-admin, which signs deferred deletions, so the deletion of drive ${which} cannot be recorded for later: it stays in the Domain's storage (delete it by hand if the Domain comes back)` },
      ];
    }
    await recordDeferredDelete(rt.client, deferred, key);
    return events;
  } catch (error) {
    if (!isNamespaceTerminating(error)) throw error;
    const which = deferred.driveId ?? '(id not recorded)';
    return [
      ...events.filter((e) => e.reason !== 'DeletionDeferred'),
      { type: 'Warning', reason: 'DeletionNotRecorded', message: `the Domain is gone and namespace ${deferred.namespace} is being deleted, so the deletion of drive ${which} cannot be recorded for later: it stays in the Domain's storage (delete it by hand if the Domain comes back)` },
    ];
  }
}

/**
 * The Domain as the Domain controller's cache sees it. "Not found" is confirmed with a GET: right after a
 * start the Domain cache may not be listed yet, and a deleting Drive with reclaimPolicy Delete would
 * otherwise give up its data plane drive for a Domain that is merely not cached.
 */
async function domainAccess(rt: OperatorRuntime, namespace: string, name: string): Promise<DomainAccess> {
  const access = await rt.domainAccess(namespace, name);
  if (access.state !== 'NotFound') return access;
  const live = await rt.client.find({ apiVersion: API_VERSION, kind: 'Domain', namespace, name });
  if (live) throw new RequeueError(`Domain ${namespace}/${name} exists but is not in the cache yet`);
  return access;
}

/** True when the status to write differs from the one stored (conditions keep their transition times). */
export function statusChanged(previous: DriveStatus | undefined, next: DriveStatus): boolean {
  const before = previous ?? {};
  if (!conditionsEqual(before.conditions, next.conditions)) return true;
  return canonicalJson({ ...before, conditions: [] }) !== canonicalJson({ ...next, conditions: [] });
}

const isReady = (o: KubernetesObject | undefined) => findCondition((o as Domain | undefined)?.status?.conditions, 'Ready')?.status === 'True';

/**
 * The state its Drives should see when a Domain event concerns them, or undefined when it does not: a
 * deletion, a readiness change either way, or the start of its deletion (state left undefined then:
 * the Domain may still be Ready). Added objects are covered by the initial list.
 */
export function domainChangeForDrives(event: InformerEvent, previous: KubernetesObject | undefined, next: KubernetesObject): { state?: DomainAccess['state'] } | undefined {
  if (event === 'delete') return { state: 'NotFound' };
  if (event !== 'update' || previous === undefined) return undefined;
  if (isReady(previous) !== isReady(next)) return { state: isReady(next) ? 'Ready' : 'NotReady' };
  if (!previous.metadata?.deletionTimestamp && next.metadata?.deletionTimestamp) return {};
  return undefined;
}

function domainReadyWatch(rt: OperatorRuntime, deferred: DeferredDeletes): SecondaryWatch {
  const ns = rt.config.namespace;
  const collection = { apiVersion: API_VERSION, kind: 'Domain', ...(ns ? { namespace: ns } : {}) };
  return {
    path: `/apis/${API_VERSION}${ns ? `/namespaces/${ns}` : ''}/domains`,
    list: () => rt.client.list(collection) as unknown as Promise<KubernetesListObject<KubernetesObject>>,
    ownerKeys(domain, event, previous) {
      deferred.domainEvent(domain, event);
      const change = domainChangeForDrives(event, previous, domain);
      if (change) void enqueueDrivesOf(rt, domain.metadata!.namespace!, domain.metadata!.name!, change.state);
      return []; // the Drive keys are not known synchronously: enqueueDrivesOf adds them
    },
  };
}

async function enqueueDrivesOf(rt: OperatorRuntime, namespace: string, domain: string, state: DomainAccess['state'] | undefined): Promise<void> {
  try {
    // This watch and the Domain controller's are separate streams: wait until the cache that
    // domainAccess reads says what this event says too, or the Drives would see the Domain as it was
    // (not ready: back off again; still Ready: stay Ready until the resync).
    for (const deadline = Date.now() + DOMAIN_CACHE_WAIT_MS; state && Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
      if ((await rt.domainAccess(namespace, domain)).state === state) break;
    }
    const drives = await rt.client.list<DriveObject>({ apiVersion: API_VERSION, kind: 'Drive', namespace });
    for (const d of drives.items) if (d.spec?.domainRef?.name === domain) rt.enqueue('Drive', `${namespace}/${d.metadata.name}`);
  } catch {
    // Best effort: each Drive also retries on its own backoff and the periodic resync.
  }
}

/** JSON with sorted keys: the apiserver may hand fields back in another order than we wrote them. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
}
