/**
 * The shared core of `openpds plan` and `openpds apply`: run the Drive reconciler over the Drives of a
 * folder (dry run for plan), and, with an apply set (`--set NAME`), find the drives of that set whose
 * manifests left the folder (they are deleted or released per the reclaimPolicy in their marker).
 * Stateless on purpose: the ownership marker on each drive is the state, as drives.json is for `up`.
 *
 * Pruning is scoped by the set, never by namespace alone: two folders applied to the same domain and
 * namespace each see the other's drives, and must not take them for their own removed ones (the same
 * rule as cluster mode, kubectl's ApplySet). Without a set nothing is deleted or released.
 *
 * A prune only ever takes what is surely gone. So, before anything is applied:
 * - a Drive that would be created and a lost drive of the set with the same owner and drive name are a
 *   MOVE (its manifest renamed; drive-moves.ts): the drive's marker is rewritten to the new Drive, nothing
 *   is created or pruned;
 * - a Drive that would be created while another owner's drive carries its uid changed owner: a REPLACE,
 *   the old drive released (marker removed, files kept, whatever its reclaimPolicy) and a new one created;
 * - two Drives with one namespace, domainRef, owner and drive name are an error, neither applied (the
 *   cluster's NameConflict);
 * - an invalid manifest, or a Drive that fails (its Domain not found, unreachable, an ambiguous move),
 *   suspends every delete and release: it may be the Drive of a drive that only looks lost.
 */
import type { AdminDrive, OwnerType } from '../admin-client/admin-client';
import { findCondition } from '../kube/conditions';
import type { Domain, Drive } from '../domain-types';
import { reconcileDrive, reconcileDriveDeletion, type DomainAccess, type DriveEvent, type DriveReconcileResult } from '../reconcilers/drive';
import { driveIdentity } from '../reconcilers/drive-identity';
import { buildDesiredDrive, diffDrive, driveUid, localUid, parseMarker, stripMarker, wantedDescription, withApplySet, type DesiredDrive, type DriveMarker, type FieldChange, type ReclaimPolicy } from '../reconcilers/drive-desired';
import type { DomainTargets } from './domain-targets';
import { matchDriveMoves, type DriveIdentity } from './drive-moves';
import { manifestKey } from './manifests';

export interface PlanEntry {
  key: string;
  result: DriveReconcileResult;
  /** This Drive takes over a drive of its set that the folder lost (its manifest renamed): kept, not created. */
  move?: { from: string; driveId: string; changes: FieldChange[] };
  /** This Drive's owner changed: the old owner's drive is released (kept) and a new drive created. */
  replace?: { driveId: string; from: string; to: string; reclaimPolicy: ReclaimPolicy };
  /** Not applied, and why (no reconcile ran, or the move or release before it failed). */
  error?: string;
  /**
   * For a create: drives of the same owner without an ownership marker (the user's default drive aside).
   * One may be this Drive's, renamed and its marker dropped by hand: the create then makes a second,
   * empty drive, and the files stay in the other.
   */
  unmarked?: { driveId: string; name: string }[];
}

export interface DrivePlan {
  entries: PlanEntry[];
  /** Deletes and releases left out (only with a set), and why: invalid manifests, failed Drives. */
  pruneSkipped?: { invalid: number; failed: number };
  /** Stopped by `signal` before every Drive was done: `entries` holds those that were. */
  stopped?: boolean;
  /**
   * Domains named on the command line (pruneDomains) whose drives could not be listed, and no Drive of the
   * folder references (else its failure says it): their members of the set are not pruned, which must not
   * pass for none.
   */
  unlisted?: { domain: string; message: string }[];
}

export interface PlanDrivesOptions {
  dryRun: boolean;
  /**
   * The apply set: every Drive of the folder is marked as its member, and its members the folder no
   * longer holds are pruned. Undefined: each drive keeps the set it has, and nothing is pruned.
   */
  set?: string;
  /**
   * Domains named on the command line (`--endpoint NAME=URL`): with a set, their drives of the set are in
   * the prune scope besides the folder's Domains, since a folder whose last Drive left names none.
   */
  pruneDomains?: readonly PruneTarget[];
  /**
   * How many manifests of the folder cannot be read or are invalid: any one may be the Drive of a drive
   * that would otherwise look removed, and a YAML typo must never delete a drive and its files.
   */
  invalid?: number;
  now?: () => Date;
  onEvent?: (key: string, e: DriveEvent) => void;
  /**
   * Aborted (apply's first Ctrl-C): the run stops after the Drive in flight, with the entries of what it
   * did, and prunes nothing (the Drives it did not reach may be moves). The next apply does the rest.
   */
  signal?: AbortSignal;
}

interface Lost extends DriveIdentity {
  key: string;
  /** The Drive object the deletion path understands. */
  drive: Drive;
  observed: AdminDrive;
  marker: DriveMarker;
}

interface Planned extends DriveIdentity {
  key: string;
  drive: Drive;
}

export async function planDrives({ drives, domains }: { drives: Drive[]; domains: Domain[] }, targets: DomainTargets, options: PlanDrivesOptions): Promise<DrivePlan> {
  const clock = { now: options.now ?? (() => new Date()) };
  const set = options.set;
  const accessOf = (d: Drive) => targets.access(d.metadata.namespace ?? 'default', d.spec.domainRef.name);
  const ctxFor = (drive: Drive, key: string, dryRun: boolean) => ({ domain: accessOf(drive), clock, dryRun, events: (e: DriveEvent) => options.onEvent?.(key, e) });
  const listings = createListings(targets);

  // 1. What each Drive would do, without doing it.
  const stopping = () => options.signal?.aborted === true;
  const planned = new Map<string, PlanEntry>();
  for (const drive of drives) if (!stopping()) planned.set(manifestKey(drive), { key: manifestKey(drive), result: await reconcileDrive(withApplySet(drive, set), ctxFor(drive, manifestKey(drive), true)) });
  if (stopping()) return { entries: [], stopped: true };
  const toCreate = drives.filter((d) => planned.get(manifestKey(d))!.result.actions.some((a) => a.action === 'create'));

  // 2. An owner change: another owner's drive carries this Drive's uid.
  const replaced = new Map<string, AdminDrive>();
  for (const drive of toCreate) {
    const old = (await listings.of(drive.metadata.namespace ?? 'default', drive.spec.domainRef.name))?.find((d) => parseMarker(d.description)?.uid === driveUid(drive));
    if (old) replaced.set(manifestKey(drive), old);
  }

  // 2b. A create beside a drive of the same owner that has no marker: said, as it may be this Drive's.
  const unmarked = new Map<string, { driveId: string; name: string }[]>();
  for (const drive of toCreate.filter((d) => !replaced.has(manifestKey(d)))) {
    const listed = await listings.of(drive.metadata.namespace ?? 'default', drive.spec.domainRef.name);
    if (!listed?.some((d) => !d.default && !parseMarker(d.description))) continue;
    const identity = await identityOf(drive, accessOf(drive));
    const found = listed.filter((d) => !d.default && !parseMarker(d.description) && identity && d.owner_type === identity.ownerType && d.owner === identity.ownerId);
    if (found.length > 0) unmarked.set(manifestKey(drive), found.map((d) => ({ driveId: d.drive_id, name: d.drive_name })));
  }

  // 3. The set's drives the folder lost, and which of them moved to a renamed Drive.
  const { lost, unlisted } = set === undefined ? { lost: [], unlisted: [] } : await findLost(set, drives, pruneScope(drives, domains, options.pruneDomains ?? []), options.pruneDomains ?? [], listings);
  const candidates: Planned[] = [];
  if (lost.length > 0) {
    for (const drive of toCreate.filter((d) => !replaced.has(manifestKey(d)))) {
      const identity = await identityOf(drive, accessOf(drive));
      if (identity) candidates.push({ key: manifestKey(drive), drive, ...identity });
    }
  }
  const match = matchDriveMoves(candidates, lost);
  const movedFrom = new Map(match.moves.map((m) => [m.to.key, m.from]));
  const errors = new Map<string, string>();
  for (const group of match.ambiguous) {
    const others = (keys: string[]) => keys.join(', ');
    for (const c of group.created) errors.set(c.key, `ambiguous move: Drives ${others(group.created.map((x) => x.key))} and lost drives ${others(group.lost.map((l) => `${l.key} (${l.observed.drive_id})`))} of set ${set} have the same owner and drive name; give each a distinct spec.name, or remove one`);
  }
  // The ambiguous move above says it more precisely when it applies; any other Drives sharing one identity
  // are an error too, and neither is applied (a folder has no creation order to pick one by).
  const resolved = await resolvedIdentities(drives, accessOf);
  for (const [key, error] of identityConflicts(drives, manifestKey, (d) => resolved.get(d) ?? driveIdentity(d))) if (!errors.has(key)) errors.set(key, error);

  // 4. Apply (or describe) the moves and releases, then the Drives.
  const entries: PlanEntry[] = [];
  for (const drive of drives) {
    if (stopping()) return { entries, stopped: true };
    const key = manifestKey(drive);
    const error = errors.get(key);
    if (error) {
      entries.push({ key, result: planned.get(key)!.result, error });
      continue;
    }
    const from = movedFrom.get(key);
    const old = replaced.get(key);
    const ready = accessOf(drive);
    let extra: Pick<PlanEntry, 'move' | 'replace'> = {};
    if (from && ready.state === 'Ready') {
      const desired = buildDesiredDrive(withApplySet(drive, set), from.marker.origin);
      const changes = diffDrive(desired, from.observed).filter((c) => c.field !== 'description');
      extra = { move: { from: from.key, driveId: from.observed.drive_id, changes } };
      if (!options.dryRun) {
        const failed = await attempt(() => ready.client.updateDrive(from.observed.drive_id, { description: wantedDescription(desired, from.observed) }));
        if (failed) {
          entries.push({ key, result: planned.get(key)!.result, ...extra, error: `moving drive ${from.observed.drive_id} from Drive ${from.key}: ${failed}` });
          continue;
        }
        options.onEvent?.(key, { type: 'Normal', reason: 'Moved', message: `took over drive ${from.observed.drive_id} of Drive ${from.key} (same owner and drive name): its files are kept` });
      }
    } else if (old && ready.state === 'Ready') {
      const desired = planned.get(key)!.result.actions.find((a) => a.action === 'create')!.desired!;
      extra = { replace: { driveId: old.drive_id, from: await ownerName(old, ready), to: `${desired.owner_type} ${desired.ownerName}`, reclaimPolicy: parseMarker(old.description)!.reclaimPolicy } };
      if (!options.dryRun) {
        // Released, never deleted: the files were the old owner's, and the manifest only names a new one.
        const failed = await attempt(() => ready.client.updateDrive(old.drive_id, { description: stripMarker(old.description) }));
        if (failed) {
          entries.push({ key, result: planned.get(key)!.result, ...extra, error: `releasing drive ${old.drive_id} of ${extra.replace!.from}: ${failed}` });
          continue;
        }
        options.onEvent?.(key, { type: 'Normal', reason: 'Released', message: `owner changed: kept drive ${old.drive_id} of ${extra.replace!.from} and its files, without its marker (whatever its reclaimPolicy); creating a drive for ${extra.replace!.to}` });
      }
    }
    const result = options.dryRun ? planned.get(key)!.result : await reconcileDrive(withApplySet(drive, set), ctxFor(drive, key, false));
    const others = from || old ? undefined : unmarked.get(key);
    entries.push({ key, result: from && options.dryRun ? { ...result, actions: [] } : result, ...extra, ...(others ? { unmarked: others } : {}) });
  }

  // 5. The prune, unless something of this run may be a lost drive's Drive.
  if (stopping()) return { entries, stopped: true };
  if (set === undefined) return { entries };
  const failed = entries.filter((e) => e.error !== undefined || failureOf(e) !== undefined).length;
  const invalid = options.invalid ?? 0;
  const said = unlisted.length > 0 ? { unlisted } : {};
  if (invalid > 0 || failed > 0) return { entries, pruneSkipped: { invalid, failed }, ...said };
  const moved = new Set(match.moves.map((m) => m.from.observed.drive_id));
  for (const orphan of lost.filter((l) => !moved.has(l.observed.drive_id))) {
    if (stopping()) return { entries, stopped: true };
    entries.push({ key: orphan.key, result: await reconcileDriveDeletion(orphan.drive, ctxFor(orphan.drive, orphan.key, options.dryRun)) });
  }
  return { entries, ...said };
}

/**
 * Drives of the folder with the same namespace, domainRef, owner and drive name (drive-identity.ts): each
 * would make or adopt the same drive, as in a cluster, where the newer one is a NameConflict. Key → error.
 */
export function identityConflicts(drives: readonly Drive[], keyOf: (d: Drive) => string, identityOf: (d: Drive) => string = driveIdentity): Map<string, string> {
  const groups = new Map<string, Drive[]>();
  for (const d of drives) groups.set(identityOf(d), [...(groups.get(identityOf(d)) ?? []), d]);
  const errors = new Map<string, string>();
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const [first] = group as [Drive];
    const keys = group.map(keyOf);
    // One user written by user name in one Drive and by user id in another (identityOf resolved both).
    const spellings = [...new Set(group.map((d) => d.spec.owner.name))];
    const owner = spellings.length > 1 ? `${first.spec.owner.kind} ${spellings.join(' and ')}, one user` : `${first.spec.owner.kind} ${first.spec.owner.name}`;
    const what = `the same domainRef (${first.spec.domainRef.name}), owner (${owner}) and drive name "${first.spec.name ?? first.metadata.name}"`;
    const error = `NameConflict: Drives ${keys.slice(0, -1).join(', ')} and ${keys.at(-1)} have ${what}, so they would be one drive; give each a distinct spec.name, or remove one`;
    for (const key of keys) errors.set(key, error);
  }
  return errors;
}

/**
 * Each Drive's identity with a User owner resolved to its user id, as the data plane sees it: a Drive naming
 * bob and one naming bob's user id are one owner (a cluster resolves them too, drive-identity.ts
 * ownerAliases). Compared as written, both were applied, and with --set the second made a second drive of
 * that name for bob: the set's own marker on the first is not taken for a conflict (it may be a move).
 * A Group owner, or a user that cannot be looked up (its Drive fails on it anyway), stays as written.
 */
async function resolvedIdentities(drives: readonly Drive[], accessOf: (d: Drive) => DomainAccess): Promise<Map<Drive, string>> {
  const users = new Map<string, Promise<string | undefined>>();
  const out = new Map<Drive, string>();
  for (const drive of drives) {
    const access = accessOf(drive);
    if (drive.spec.owner.kind !== 'User' || access.state !== 'Ready') continue;
    const key = `${drive.metadata.namespace ?? 'default'}/${drive.spec.domainRef.name}\0${drive.spec.owner.name}`;
    let id = users.get(key);
    if (!id) users.set(key, (id = Promise.resolve().then(() => access.client.findUser(drive.spec.owner.name)).then((u) => u?.user_id, () => undefined)));
    const userId = await id;
    if (userId) out.set(drive, driveIdentity(drive, userId));
  }
  return out;
}

/** Manifests carry no status (loadManifests drops it), so a Ready=False answer is this run's failure. */
export function failureOf(entry: PlanEntry): string | undefined {
  if (entry.error !== undefined) return entry.error;
  const ready = findCondition(entry.result.status.conditions, 'Ready');
  return ready?.status === 'False' ? `${ready.reason}: ${ready.message ?? ''}` : undefined;
}

async function attempt(call: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await call();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Every drive of each domain, listed once per run; undefined when the domain cannot be reached (its Drives say why, or `failure`). */
function createListings(targets: DomainTargets) {
  const cache = new Map<string, Promise<AdminDrive[] | undefined>>();
  const failures = new Map<string, string>();
  return {
    /** Why `of` gave undefined for that domain. */
    failure: (namespace: string, domain: string) => failures.get(`${namespace}/${domain}`),
    of(namespace: string, domain: string): Promise<AdminDrive[] | undefined> {
      const key = `${namespace}/${domain}`;
      let listed = cache.get(key);
      if (!listed) {
        const access = targets.access(namespace, domain);
        const fail = (message: string) => {
          failures.set(key, message);
          return undefined;
        };
        listed = access.state !== 'Ready' ? Promise.resolve(fail(access.message)) : listAll(access.client).catch((error: Error) => fail(error.message));
        cache.set(key, listed);
      }
      return listed;
    },
  };
}

async function listAll(client: Extract<DomainAccess, { state: 'Ready' }>['client']): Promise<AdminDrive[]> {
  const all: AdminDrive[] = [];
  for await (const d of client.listAllDrives()) all.push(d);
  return all;
}

/** A planned create's owner as the data plane names it (a user name resolved to its id); undefined when that fails. */
async function identityOf(drive: Drive, access: DomainAccess): Promise<DriveIdentity | undefined> {
  if (access.state !== 'Ready') return undefined;
  let desired: DesiredDrive;
  try {
    desired = buildDesiredDrive(drive);
  } catch {
    return undefined;
  }
  const ownerId = desired.ownerKind === 'Group' ? desired.ownerName : await access.client.findUser(desired.ownerName).then((u) => u?.user_id, () => undefined);
  if (!ownerId) return undefined;
  return { domain: `${drive.metadata.namespace ?? 'default'}/${drive.spec.domainRef.name}`, ownerType: desired.owner_type, ownerId, driveName: desired.drive_name };
}

/** `user alice` (its name when the data plane says it), `group team`. */
async function ownerName(drive: AdminDrive, access: Extract<DomainAccess, { state: 'Ready' }>): Promise<string> {
  const type: OwnerType = drive.owner_type;
  if (type !== 'user') return `${type} ${drive.owner}`;
  const user = await access.client.findUser(drive.owner).catch(() => undefined);
  return `user ${user?.user_name ?? drive.owner}`;
}

/**
 * Drives whose marker says a manifest of one of these namespaces made them (`local.<ns>.<name>`) as a
 * member of `set`, but that no Drive of the folder claims any more. A drive of no set or of another set
 * is another folder's (or an older apply's) business; drives made in a cluster carry real uids and are
 * never touched.
 */
async function findLost(set: string, drives: Drive[], scope: PruneTarget[], named: readonly PruneTarget[], listings: ReturnType<typeof createListings>): Promise<{ lost: Lost[]; unlisted: { domain: string; message: string }[] }> {
  const claimed = new Set(drives.map(driveUid));
  const referenced = new Set(drives.map((d) => `${d.metadata.namespace ?? 'default'}/${d.spec.domainRef.name}`));
  const asked = new Set(named.map((n) => `${n.namespace}/${n.domain}`));
  const seen = new Set<string>();
  const lost: Lost[] = [];
  const unlisted: { domain: string; message: string }[] = [];
  for (const { namespace, domain } of scope) {
    const all = await listings.of(namespace, domain);
    // Unreachable or not found: the same failure shows on the Drives that reference it. A Domain named on
    // the command line that none references is said here: it was asked for. (One the folder only declares
    // stays quiet, as before: a Domain `up` has not run yet has no drives to prune.)
    const where = `${namespace}/${domain}`;
    if (!all && asked.has(where) && !referenced.has(where)) unlisted.push({ domain: where, message: listings.failure(namespace, domain) ?? 'unknown error' });
    if (!all) continue;
    for (const d of all) {
      const marker = parseMarker(d.description);
      const prefix = localUid(namespace, '');
      if (!marker || marker.set !== set || !marker.uid.startsWith(prefix) || claimed.has(marker.uid) || seen.has(d.drive_id)) continue;
      seen.add(d.drive_id);
      const name = marker.uid.slice(prefix.length);
      lost.push({
        key: `${namespace}/${name}`,
        domain: `${namespace}/${domain}`,
        ownerType: d.owner_type,
        ownerId: d.owner,
        driveName: d.drive_name,
        observed: d,
        marker,
        drive: {
          apiVersion: 'openpds.io/v1alpha1',
          kind: 'Drive',
          metadata: { name, namespace, uid: marker.uid },
          spec: { domainRef: { name: domain }, owner: { kind: d.owner_type === 'group' ? 'Group' : 'User', name: d.owner }, name: d.drive_name, reclaimPolicy: marker.reclaimPolicy },
          status: { driveId: d.drive_id },
        },
      });
    }
  }
  return { lost, unlisted };
}

export interface PruneTarget {
  namespace: string;
  domain: string;
}

/**
 * The Domains whose drives of a set may be pruned: those the Drives reference, those the folder declares
 * (it may hold no Drive any more) and those named on the command line (it may hold no manifest any more).
 * Empty, a prune would silently find nothing: the caller refuses that (plan-command.ts).
 */
export function pruneScope(drives: readonly Drive[], domains: readonly Domain[], named: readonly PruneTarget[]): PruneTarget[] {
  const out = new Map<string, PruneTarget>();
  const add = (namespace: string, domain: string) => out.set(`${namespace}/${domain}`, { namespace, domain });
  for (const d of drives) add(d.metadata.namespace ?? 'default', d.spec.domainRef.name);
  for (const d of domains) add(d.metadata.namespace ?? 'default', d.metadata.name);
  for (const d of named) add(d.namespace, d.domain);
  return [...out.values()];
}
