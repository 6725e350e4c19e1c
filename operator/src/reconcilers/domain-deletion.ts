/**
 * A Domain's deletion (its finalizer's work): wait for the Drives with reclaimPolicy Delete while the data
 * plane can still delete them, delete the children the garbage collector would otherwise remove after the
 * Domain is gone (so the finalizer is released only once nothing of the data plane runs), keep what holds
 * the data (the admin Secret, the volume claim), and say in an Event what was kept and why.
 */
import { DOMAIN_LABEL, type DomainContext } from '../charts/domain-context';
import { API_VERSION, type Domain } from '../domain-types';
import { listOwned } from '../kube/apply';
import { RequeueError } from '../kube/controller';
import type { EventRecorder } from '../kube/events';
import { hasFinalizer, removeFinalizer } from '../kube/finalizers';
import { isNotFound, type KubeClient, type KubeObject } from '../kube/kube-client';
import type { OwnWrites } from '../kube/own-writes';
import { probeReadyz, type FetchFn } from '../kube/readiness';
import { adminEndpoint } from './domain-access';
import { outcome, type WriteDomainStatus } from './domain-status';
import { DRIVE_FINALIZER } from './drive-context';

export const DOMAIN_FINALIZER = 'openpds.io/domain-cleanup';
/** How long a deleting Domain waits for its reclaimPolicy Delete Drives before it goes without them. */
const DRIVE_DELETION_WAIT_MS = 5 * 60_000;

type ListedDrive = KubeObject & { spec?: { domainRef?: { name?: string }; reclaimPolicy?: string }; status?: { driveId?: string } };

export interface DomainDeletionDeps {
  client: KubeClient;
  events: EventRecorder;
  writeStatus: WriteDomainStatus;
  fetch: FetchFn;
  now: () => Date;
  /** The kinds the Domain's chart makes (what is deleted), and the objects among them that outlive it. */
  kinds: readonly { apiVersion: string; kind: string }[];
  isRetained: (o: KubeObject) => boolean;
  domainEndpoints?: Record<string, string>;
  readyzTimeoutMs?: number;
  /** Drops what the reconciler remembers of `namespace/name` (its last apply, chart, usage read, admin login). */
  forget: (namespace: string, name: string) => void;
  /** The reconciler's own writes (kube/own-writes.ts): the finalizer's release is one. */
  ownWrites: OwnWrites;
}

export function createDomainDeletion(deps: DomainDeletionDeps): (domain: Domain, ctx: DomainContext) => Promise<void> {
  const { client, events, writeStatus, now } = deps;

  async function reconcileDeletion(domain: Domain, ctx: DomainContext): Promise<void> {
    if (!hasFinalizer(domain as unknown as KubeObject, DOMAIN_FINALIZER)) return;
    const drives = await listDrives(domain);
    // Only Drives that have a drive (its id recorded): a NameConflict, or one whose owner never existed,
    // never made one and keeps nothing.
    const retained = drives.filter((d) => (d.spec?.reclaimPolicy ?? 'Retain') === 'Retain' && d.status?.driveId).length;
    // A Drive with reclaimPolicy Delete that is being deleted needs this data plane to delete its data.
    // Only those still holding the Drive finalizer: one already done (its drive deleted) may linger under
    // another controller's finalizer, and must not hold the Domain for minutes.
    const deleting = drives.filter((d) => d.spec?.reclaimPolicy === 'Delete' && d.metadata?.deletionTimestamp && d.metadata.finalizers?.includes(DRIVE_FINALIZER)).length;
    // The admin Secret is kept with the data: the data plane creates its superadmin only once, so a Domain
    // re-created with new credentials would be locked out of the data it finds (Drives would fail with
    // AdminCredentialsRejected), and a new secretKey would invalidate what was signed with the old one.
    // Named only if it is there: a Domain that never got as far as applying (hosting mode) has none.
    const adminSecret = await client.find({ apiVersion: 'v1', kind: 'Secret', namespace: ctx.namespace, name: ctx.names.adminSecret });
    // The claim is applied with the admin Secret (the operator may not read claims): no Secret, no claim.
    const kept = [ctx.singlePod && adminSecret && `the volume claim ${ctx.names.data}`, adminSecret && `the admin Secret ${ctx.names.adminSecret}`].filter(Boolean);
    const note = `${retained} Drive(s) with reclaimPolicy Retain keep their data in the domain's storage${kept.length ? `; kept: ${kept.join(' and ')}` : ''}${adminSecret ? ', so a Domain re-created with this name logs in with the same credentials (delete what is kept by hand to discard the data)' : ''}`;
    let deferred = '';
    if (deleting > 0) {
      const serving = await servesDrives(domain, ctx, Boolean(adminSecret));
      if (serving === true) {
        await writeStatus(domain, outcome(domain.metadata.generation ?? 0, 'WaitingForDrives', `Deleting: waiting for ${deleting} Drive(s) with reclaimPolicy Delete; ${note}`, 'waiting'));
        throw new RequeueError(`waiting for ${deleting} Drive(s) to be deleted`);
      }
      // Waiting on a data plane that cannot delete them would block the Domain's deletion (and its
      // namespace's) for ever, each side waiting on the other: the Drives see the Domain gone and keep
      // their promise for when a Domain of this name serves this storage again (deferred deletes).
      deferred = `; ${deleting} Drive(s) with reclaimPolicy Delete were not deleted through the data plane (${serving}): their drives are deleted when a Domain named ${domain.metadata.name} serves this storage again`;
    }
    const children = await listOwned(client, { namespace: ctx.namespace, ownerSelector: `${DOMAIN_LABEL}=${domain.metadata.name}`, ownerUid: domain.metadata.uid!, kinds: deps.kinds, keep: deps.isRetained });
    if (children.length > 0) {
      // Owner references would let the garbage collector do this once the Domain is gone; deleting
      // now means the finalizer is released only when nothing of the data plane is left running.
      for (const child of children) await client.delete({ apiVersion: child.apiVersion!, kind: child.kind!, namespace: ctx.namespace, name: child.metadata!.name! });
      await writeStatus(domain, outcome(domain.metadata.generation ?? 0, 'Deleting', `Deleting ${children.length} child object(s); ${note}${deferred}`, 'waiting'));
      throw new RequeueError(`waiting for ${children.length} child object(s) to go`);
    }
    deps.forget(ctx.namespace, domain.metadata.name);
    const released = await removeFinalizer(client, domain as unknown as KubeObject, DOMAIN_FINALIZER);
    // Held a while longer by another finalizer, it must not be released (and said Deleted) again by a
    // reconcile from a cached copy that still shows ours.
    deps.ownWrites.wrote(`${ctx.namespace}/${domain.metadata.name}`, released?.metadata?.resourceVersion);
    // After the finalizer, so a failed removal (retried) does not record it twice.
    await events.record(domain as unknown as KubeObject, 'Normal', 'Deleted', `Data plane removed; ${note}${deferred}`);
  }

  /**
   * Whether a deleting Domain's data plane can still delete its reclaimPolicy Delete Drives: true, or why
   * not. It cannot without an admin Secret (it was never applied: no drive was ever made through it), when
   * /readyz does not answer (blocked, stopped or broken), or after DRIVE_DELETION_WAIT_MS of trying.
   */
  async function servesDrives(domain: Domain, ctx: DomainContext, hasAdminSecret: boolean): Promise<true | string> {
    if (!hasAdminSecret) return 'the data plane was never created';
    const waited = now().getTime() - Date.parse((domain.metadata as { deletionTimestamp?: string }).deletionTimestamp ?? '');
    if (waited >= DRIVE_DELETION_WAIT_MS) return `they were not deleted within ${DRIVE_DELETION_WAIT_MS / 60_000} minutes`;
    const probe = await probeReadyz(deps.fetch, adminEndpoint(domain, ctx, deps.domainEndpoints), deps.readyzTimeoutMs);
    return probe.ready ? true : `the data plane is not serving: ${probe.message}`;
  }

  async function listDrives(domain: Domain): Promise<ListedDrive[]> {
    try {
      const list = await client.list<ListedDrive>({ apiVersion: API_VERSION, kind: 'Drive', namespace: domain.metadata.namespace! });
      return list.items.filter((d) => d.spec?.domainRef?.name === domain.metadata.name);
    } catch (error) {
      // The Drive CRD is optional for a Domain-only install (404). Anything else (a 500, a timeout, a 403)
      // says nothing about the Drives: retried, lest the data plane a Delete Drive still needs goes.
      if (isNotFound(error)) return [];
      throw error;
    }
  }

  return reconcileDeletion;
}
