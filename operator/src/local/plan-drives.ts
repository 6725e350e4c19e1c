/**
 * The shared core of `openpds plan` and `openpds apply`: run the Drive reconciler over the Drives of a
 * folder (dry run for plan), and, with an apply set (`--set NAME`), find the drives of that set whose
 * manifests left the folder (they are deleted or released per the reclaimPolicy in their marker).
 * Stateless on purpose: the ownership marker on each drive is the state, as drives.json is for `up`.
 *
 * Pruning is scoped by the set, never by namespace alone: two folders applied to the same domain and
 * namespace each see the other's drives, and must not take them for their own removed ones (the same
 * rule as cluster mode, kubectl's ApplySet). Without a set nothing is deleted or released.
 */
import type { AdminDrive } from '../admin-client/admin-client';
import type { Domain, Drive } from '../domain-types';
import { reconcileDrive, reconcileDriveDeletion, type DriveEvent, type DriveReconcileResult } from '../reconcilers/drive';
import { driveUid, localUid, parseMarker, withApplySet } from '../reconcilers/drive-desired';
import type { DomainTargets } from './domain-targets';

export interface PlanEntry {
  key: string;
  result: DriveReconcileResult;
}

export interface PlanDrivesOptions {
  dryRun: boolean;
  /**
   * The apply set: every Drive of the folder is marked as its member, and its members the folder no
   * longer holds are pruned. Undefined: each drive keeps the set it has, and nothing is pruned.
   */
  set?: string;
  /**
   * false while a manifest of the folder cannot be read or is invalid: it may be the Drive of a drive
   * that would otherwise look removed, and a YAML typo must never delete a drive and its files.
   */
  orphans?: boolean;
  now?: () => Date;
  onEvent?: (key: string, e: DriveEvent) => void;
}

export async function planDrives({ drives, domains }: { drives: Drive[]; domains: Domain[] }, targets: DomainTargets, options: PlanDrivesOptions): Promise<PlanEntry[]> {
  const clock = { now: options.now ?? (() => new Date()) };
  const entries: PlanEntry[] = [];
  const ctxFor = (drive: Drive, key: string) => ({
    domain: targets.access(drive.metadata.namespace ?? 'default', drive.spec.domainRef.name),
    clock,
    dryRun: options.dryRun,
    events: (e: DriveEvent) => options.onEvent?.(key, e),
  });
  for (const drive of drives) {
    const key = `${drive.metadata.namespace ?? 'default'}/${drive.metadata.name}`;
    entries.push({ key, result: await reconcileDrive(withApplySet(drive, options.set), ctxFor(drive, key)) });
  }
  if (options.orphans === false || options.set === undefined) return entries;
  for (const orphan of await findOrphans(options.set, drives, domains, targets)) {
    const key = `${orphan.metadata.namespace}/${orphan.metadata.name}`;
    entries.push({ key, result: await reconcileDriveDeletion(orphan, ctxFor(orphan, key)) });
  }
  return entries;
}

/**
 * Drives whose marker says a manifest of one of these namespaces made them (`local.<ns>.<name>`) as a
 * member of `set`, but that no Drive of the folder claims any more, as Drive objects the deletion path
 * understands. A drive of no set or of another set is another folder's (or an older apply's) business;
 * drives made in a cluster carry real uids and are never touched.
 */
async function findOrphans(set: string, drives: Drive[], domains: Domain[], targets: DomainTargets): Promise<Drive[]> {
  const claimed = new Set(drives.map(driveUid));
  const seen = new Set<string>();
  const orphans: Drive[] = [];
  for (const { namespace, domain } of uniqueTargets(drives, domains)) {
    const access = targets.access(namespace, domain);
    if (access.state !== 'Ready') continue; // reported by the Drives of that domain already
    let all: AdminDrive[];
    try {
      all = [];
      for await (const d of access.client.listAllDrives()) all.push(d);
    } catch {
      continue; // unreachable: the same failure shows on the Drives that reference it
    }
    for (const d of all) {
      const marker = parseMarker(d.description);
      const prefix = localUid(namespace, '');
      if (!marker || marker.set !== set || !marker.uid.startsWith(prefix) || claimed.has(marker.uid) || seen.has(d.drive_id)) continue;
      seen.add(d.drive_id);
      orphans.push({
        apiVersion: 'openpds.io/v1alpha1',
        kind: 'Drive',
        metadata: { name: marker.uid.slice(prefix.length), namespace, uid: marker.uid },
        spec: { domainRef: { name: domain }, owner: { kind: d.owner_type === 'group' ? 'Group' : 'User', name: d.owner }, name: d.drive_name, reclaimPolicy: marker.reclaimPolicy },
        status: { driveId: d.drive_id },
      });
    }
  }
  return orphans;
}

/** The domains in scope: those the Drives reference and those the folder declares (it may hold no Drive any more). */
function uniqueTargets(drives: Drive[], domains: Domain[]): { namespace: string; domain: string }[] {
  const out = new Map<string, { namespace: string; domain: string }>();
  const add = (namespace: string, domain: string) => out.set(`${namespace}/${domain}`, { namespace, domain });
  for (const d of drives) add(d.metadata.namespace ?? 'default', d.spec.domainRef.name);
  for (const d of domains) add(d.metadata.namespace ?? 'default', d.metadata.name);
  return [...out.values()];
}
