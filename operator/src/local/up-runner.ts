/**
 * One pass of `openpds up` over a folder, level-based like the operator: read the manifests, bring the
 * in-process data planes in line with the Domains, then run the same Drive reconciler the cluster runs
 * (deletion included, for Drives that left the folder). What the runtime keeps in etcd (status,
 * generation) is kept in the state dir instead.
 *
 * Pruning is scoped by that state, not by the markers: the drives `up` deletes or releases are those its
 * drives.json records (this folder's own, applied by an earlier pass) whose manifests left the folder. It
 * never scans a domain for orphans, so another folder's `openpds apply` to the same domain and namespace
 * is never taken for a removed Drive, and `up` needs no apply set (`plan/apply --set`): its state dir is
 * its set. It writes no set on markers either, and keeps the one a drive's marker has (see
 * DesiredDrive.set), so a later `openpds apply --state ... --set NAME` of the same folder works as usual.
 *
 * A Drive that left the folder is pruned only after it stayed away for `pruneAfterMs` (up-prune.ts): a
 * git checkout or stash must not delete a drive and its files on a blink.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createAdminClient, type AdminClient } from '../admin-client/admin-client';
import type { Domain, Drive } from '../domain-types';
import { createDomainContext } from '../charts/domain-context';
import { probeReadyz } from '../kube/readiness';
import { unsupportedSpec } from '../reconcilers/domain-preflight';
import { reconcileDrive, reconcileDriveDeletion, type DomainAccess, type DriveEvent, type DriveReconcileResult } from '../reconcilers/drive';
import { withApplySet } from '../reconcilers/drive-desired';
import { driveIdentity } from '../reconcilers/drive-identity';
import { domainEnv, PORT_ATTEMPTS, startDomain, type RunningDomain } from './domain-runner';
import { describeProblem, loadManifests, manifestKey } from './manifests';
import { DEFAULT_PRUNE_AFTER_MS, describeCancelled, describeMove, describePending, stepPrunes, type PruneMove } from './up-prune';
import { ADMIN_USERNAME, readDomainRecord, readDriveRecords, readRecordedDomains, StateDirError, StateDirLostError, writeDriveRecords, writeStatus, type DriveRecord } from './state-dir';
import type { UpDomainRow, UpStatus } from './status-table';

export interface UpOptions {
  dir: string;
  stateDir: string;
  basePort: number;
  logLevel: string;
  log: (line: string) => void;
  clock?: { now(): Date };
  crdDir?: string;
  /** How long a Drive's manifest must stay out of the folder before its drive is pruned (default 30 s). */
  pruneAfterMs?: number;
  /** A folder with no manifests means every Drive removed (`--allow-empty`); otherwise it is an invalid folder. */
  allowEmpty?: boolean;
  /** Settings every data plane gets besides its Domain's (DomainRunnerOptions.dataPlaneEnv). */
  dataPlaneEnv?: Record<string, string>;
  /** Asks a data plane's /readyz (default: probeReadyz over fetch); tests pass their own. */
  probe?: (baseUrl: string) => Promise<{ ready: boolean; message: string }>;
}

export interface UpRunner {
  /**
   * Runs one pass; answers the status and when the reconciler wants to look again. Once `signal` aborts
   * (Ctrl-C), the pass stops after the Drive in flight and records what it did: a pass over 1000 Drives
   * takes minutes, and the user asked to stop, not to create the rest first.
   */
  sync(signal?: AbortSignal): Promise<{ status: UpStatus; requeueAfterMs: number }>;
  /** Stops every data plane (their data stays in the state dir). */
  stop(): Promise<void>;
}

interface DomainSlot {
  running?: RunningDomain;
  client?: AdminClient;
  error?: string;
  /** Why there is no data plane, as the operator would say it (default StartFailed). */
  reason?: string;
  /** The data plane runs but its /readyz is not 200: what it said (a newer schema, a storage claim…). */
  notReady?: string;
}

/** How long a pass waits for a data plane's /readyz (it answers within its own checks' deadline). */
const READY_PROBE_MS = 5_000;

const domainKey = (drive: Drive) => `${drive.metadata.namespace ?? 'default'}/${drive.spec.domainRef.name}`;

export function createUpRunner(options: UpOptions): UpRunner {
  const clock = options.clock ?? { now: () => new Date() };
  const slots = new Map<string, DomainSlot>();
  const usedPorts = new Set<number>();
  let lastProblems = '';
  const pruneAfterMs = options.pruneAfterMs ?? DEFAULT_PRUNE_AFTER_MS;
  /** Drives that left the folder and are not pruned yet: namespace/name → when first seen missing (ms). */
  let pending = new Map<string, number>();
  /** Pending prunes held for want of their Domain (said once each). */
  const held = new Set<string>();
  /**
   * The Domains as last applied in this run, what their transition rules compare with. Kept while the
   * folder has an invalid manifest: it may be one of them, and its refused change must stay refused. A
   * Domain this run has not applied yet is compared with the one its domain.json records (the Domain its
   * data dir was last run as): a domainId added or changed while `up` was stopped is refused as it is
   * while `up` runs (it started the data plane on the old data dir under another id).
   */
  const appliedDomains = new Map<string, Domain>();
  const runnerOptions = { stateDir: options.stateDir, basePort: options.basePort, logLevel: options.logLevel, usedPorts, dataPlaneEnv: options.dataPlaneEnv };

  function access(drive: Drive): DomainAccess {
    const ref = domainKey(drive);
    const slot = slots.get(ref);
    if (!slot) return { state: 'NotFound', message: `Domain ${ref} is not in the manifests` };
    if (!slot.client) return { state: 'NotReady', message: `Domain ${ref} did not start: ${slot.error ?? 'unknown error'}` };
    return { state: 'Ready', client: slot.client };
  }

  function ctx(drive: Drive, identityConflict?: { namespace: string; name: string }) {
    const events = (e: DriveEvent) => options.log(`Drive ${manifestKey(drive)}: ${e.type} ${e.reason}: ${e.message}`);
    return { domain: access(drive), clock, events, ...(identityConflict ? { identityConflict } : {}) };
  }

  /** Stops the data planes of Domains that left the folder (after their Drives were deleted or released). */
  async function stopDomainsExcept(wanted: Set<string>): Promise<void> {
    for (const [k, slot] of slots) {
      if (wanted.has(k)) continue;
      await slot.running?.close();
      slots.delete(k);
      options.log(`Domain ${k}: stopped (removed from the manifests; its data stays in the state dir)`);
    }
  }

  /**
   * The Domains, as last run (domain.json), of the Drives to prune whose Domain is neither in the folder
   * nor running: removed with them while `up` was stopped. One without a recorded spec (an older state)
   * is not started, and its Drives' prunes wait (see describeHeld).
   */
  function domainsForPrunes(keys: string[], records: Record<string, DriveRecord>, declared: Set<string>): Domain[] {
    const out = new Map<string, Domain>();
    for (const k of keys) {
      const drive = records[k]?.drive;
      if (!drive) continue;
      const ref = domainKey(drive);
      if (declared.has(ref) || slots.has(ref) || out.has(ref)) continue; // (a failed start is retried by the next `up`)
      const recorded = readDomainRecord(options.stateDir, drive.metadata.namespace ?? 'default', drive.spec.domainRef.name)?.domain;
      if (!recorded) continue;
      out.set(ref, recorded);
      options.log(`Domain ${ref}: left the folder, started from the state to delete or release Drive ${k} (its manifest left the folder too)`);
    }
    return [...out.values()];
  }

  async function startDomains(domains: Domain[], stopping: () => boolean): Promise<void> {
    for (const domain of domains) {
      if (stopping()) return;
      const k = manifestKey(domain);
      // What the operator refuses, `up` refuses too, with the same reason: a hosting Domain run as a
      // standard data plane on local disk would look like it works and behave like something else.
      const unsupported = unsupportedSpec(createDomainContext(domain));
      if (unsupported) {
        const known = slots.get(k);
        await known?.running?.close();
        if (known?.error !== unsupported) options.log(`Domain ${k}: not run: ${unsupported}`);
        slots.set(k, { error: unsupported, reason: 'StorageModeUnsupported' });
        continue;
      }
      const slot = slots.get(k);
      if (slot?.running && slot.running.envKey === JSON.stringify(domainEnv(domain, runnerOptions))) continue;
      if (slot?.running) {
        await slot.running.close();
        options.log(`Domain ${k}: restarting with the changed spec`);
      }
      try {
        const running = await startDomain(domain, runnerOptions);
        const client = createAdminClient({ baseUrl: running.url, credentials: { username: ADMIN_USERNAME, password: running.password } });
        slots.set(k, { running, client });
        // Its URL changed: scripts and bookmarks of the old one (--endpoint …:port) must hear of it.
        if (running.busyFrom) options.log(`Domain ${k}: port ${running.busyFrom} of its last run is in use: moved to ${new URL(running.url).port} (its URL is now ${running.url})`);
        if (running.movedFrom) options.log(`Domain ${k}: moved from port ${running.movedFrom} of its last run (outside --base-port ${options.basePort}..${options.basePort + PORT_ATTEMPTS - 1})`);
        options.log(`Domain ${k}: data plane listening on ${running.url}`);
        // How to log in, right under where: the password's file, never the password (output gets pasted
        // into issues). A line of its own: scripts read the URL as the end of the line above.
        options.log(`Domain ${k}: log in at ${running.url} as ${ADMIN_USERNAME}, with the password in ${running.passwordFile}`);
      } catch (error) {
        // Retried each pass; said again only when the reason changes (the status table keeps showing it).
        if (slot?.error !== (error as Error).message) options.log(`Domain ${k}: failed to start: ${(error as Error).message}`);
        slots.set(k, { error: (error as Error).message });
      }
    }
  }

  /**
   * A running Domain's data dir that is gone or another folder (the state dir deleted or moved under
   * `up`): the data plane serves files that no longer have a name, and a restart would initdb an empty
   * Domain at the same URL. Nothing of the pass runs then; the caller stops every Domain.
   */
  function lostDataDir(): string | undefined {
    for (const [k, slot] of slots) {
      if (!slot.running) continue;
      const { path: dir, ino } = slot.running.dataDir;
      const now = (() => {
        try {
          return fs.statSync(dir).ino;
        } catch {
          return undefined;
        }
      })();
      if (now !== ino) return `the data dir ${dir} of Domain ${k} is gone (deleted or moved while up was running)`;
    }
    return undefined;
  }

  const probe = options.probe ?? ((baseUrl: string) => probeReadyz((url, init) => fetch(url, init), baseUrl, READY_PROBE_MS));

  /**
   * Asks each running data plane whether it serves: one that started but refuses to serve (a database a
   * newer OpenPDS migrated, a store another instance claims) was shown Ready and Running. Said once per answer.
   */
  async function probeDomains(): Promise<void> {
    for (const [k, slot] of slots) {
      if (!slot.running) continue;
      const answer = await probe(slot.running.url);
      if (!answer.ready && slot.notReady !== answer.message) options.log(`Domain ${k}: not ready: ${answer.message}`);
      if (answer.ready && slot.notReady !== undefined) options.log(`Domain ${k}: ready (${answer.message})`);
      slot.notReady = answer.ready ? undefined : answer.message;
    }
  }

  /** What a Domain's transition rules compare with: this run's, else its domain.json's (see appliedDomains). */
  function previousDomains(): Record<string, Domain> {
    // Also for a Domain that left the folder and came back in this run: its data dir stayed, and domain.json
    // (rewritten only by a successful start) still says what it was run as (review 17: back with another
    // domainId, it was started on the old data dir under the new id).
    return { ...readRecordedDomains(options.stateDir), ...Object.fromEntries(appliedDomains) };
  }

  /**
   * A pass while drives.json cannot be read (`problem` names it and what to do): without it no Drive can
   * be checked against what was applied nor pruned, so none is touched; the Domains still run (a corrupt
   * bookkeeping file took every data plane down with it, healthy ones included).
   */
  async function domainsOnly(problem: string, stopping: () => boolean): Promise<{ status: UpStatus; requeueAfterMs: number }> {
    const manifests = loadManifests(options.dir, options.crdDir, { Domain: previousDomains() }, { allowEmpty: options.allowEmpty ?? false });
    const domains = manifests.domains;
    const declared = new Set(domains.map(manifestKey));
    for (const slot of slots.values()) if (slot.running && !declared.has(manifestKey(slot.running.domain))) domains.push(slot.running.domain);
    const said = `${problem}: until it is fixed no Drive is applied, deleted or released, and no Domain stopped (the Domains keep running)`;
    if (said !== lastProblems) options.log(said);
    lastProblems = said;
    await startDomains(domains, stopping);
    await probeDomains();
    const status: UpStatus = {
      updatedAt: clock.now().toISOString(),
      problems: [problem, ...[...manifests.invalid, ...manifests.notRun].map(describeProblem)],
      domains: domains.map((d) => domainRow(d, slots.get(manifestKey(d)))),
      drives: [],
    };
    writeStatus(options.stateDir, status);
    return { status, requeueAfterMs: Infinity };
  }

  async function sync(signal?: AbortSignal) {
    const stopping = () => signal?.aborted === true;
    const lost = lostDataDir();
    if (lost) throw new StateDirLostError(lost);
    let records: Record<string, DriveRecord>;
    try {
      records = readDriveRecords(options.stateDir);
    } catch (error) {
      if (!(error instanceof StateDirError)) throw error;
      return domainsOnly(error.message, stopping);
    }
    // Immutable fields (domainRef, owner) are checked against the Drives as last applied, as the API server
    // does: such a change is an invalid manifest, so the Drive keeps running as it was (it was taken for a
    // drive deleted in the data plane and a new, empty one created in the other Domain).
    // So are a Domain's (domainId, storage.mode, the volume's size and class…) against the Domains of this
    // run, else against the Domain its domain.json records.
    const manifests = loadManifests(options.dir, options.crdDir, {
      Drive: Object.fromEntries(Object.entries(records).map(([k, r]) => [k, r.drive])),
      Domain: previousDomains(),
    }, { allowEmpty: options.allowEmpty ?? false });
    if (manifests.invalid.length === 0) appliedDomains.clear(); // a Domain left a valid folder: back, it is a new object
    for (const domain of manifests.domains) appliedDomains.set(manifestKey(domain), domain);
    // The apply-set annotation is the CLI's to write, never a manifest's: `up` puts no drive in a set.
    const wantedDrives = new Map(manifests.drives.map((d) => [manifestKey(d), withApplySet(d, undefined)]));
    const domains = manifests.domains;
    // A manifest that cannot be read or is invalid may be the Drive (or Domain) of something running: while
    // there is one, nothing is taken for removed. A Drive or Domain whose manifest is invalid keeps being
    // run as it last was, and a drive no manifest names is left alone until the folder is fixed: a typo
    // must never delete, release (and later re-adopt) a drive.
    const suspended = manifests.invalid.length > 0;
    const kept: string[] = [];
    if (suspended) {
      for (const [k, record] of Object.entries(records)) {
        if (wantedDrives.has(k)) continue;
        wantedDrives.set(k, record.drive);
        kept.push(k);
      }
      const declared = new Set(domains.map(manifestKey));
      for (const slot of slots.values()) if (slot.running && !declared.has(manifestKey(slot.running.domain))) domains.push(slot.running.domain);
    }
    const problems = [...manifests.invalid, ...manifests.notRun].map(describeProblem);
    // Said once, not at every resync, until the folder changes what is wrong with it.
    if ([...problems, ...kept].join('\n') !== lastProblems) {
      for (const problem of manifests.invalid) options.log(`invalid ${describeProblem(problem)}`);
      for (const problem of manifests.notRun) options.log(`not run ${describeProblem(problem)}`);
      if (suspended) options.log(invalidNotice(manifests.invalid.length, kept));
    }
    lastProblems = [...problems, ...kept].join('\n');
    const results: DriveReconcileResult[] = [];

    const prunes = stepPrunes({
      recorded: Object.fromEntries(Object.entries(records).map(([k, r]) => [k, r.drive])),
      present: new Map(manifests.drives.map((d) => [manifestKey(d), d])),
      pending,
      now: clock.now().getTime(),
      graceMs: pruneAfterMs,
      suspended,
    });
    pending = prunes.pending;
    for (const k of prunes.cancelled) held.delete(k);
    for (const k of prunes.cancelled) options.log(describeCancelled(k, records[k]?.drive));
    for (const k of prunes.started) options.log(describePending(k, records[k]!.drive, pruneAfterMs));
    for (const move of prunes.moves) {
      records[move.to] = movedRecord(records[move.from]!, move);
      delete records[move.from];
      options.log(describeMove(move));
    }

    // Domains start first, so that a Drive removed while `up` was stopped is deleted or released through
    // its Domain; the Domains that left the folder stop last, after their Drives were handled, and not
    // while a Drive of theirs is pending (it is pruned through its Domain, if it does not come back).
    // A Domain that left the folder with such a Drive while `up` was stopped is started from the state
    // for the prune, as a running `up` keeps it running for it.
    await startDomains([...domains, ...domainsForPrunes([...pending.keys(), ...prunes.due], records, new Set(domains.map(manifestKey)))], stopping);
    for (const k of prunes.due) {
      if (stopping()) break;
      const record = records[k]!;
      const reach = access(record.drive);
      if (reach.state === 'NotFound') {
        // No Domain to delete or release the drive through (and none recorded to start): the record stays
        // and the prune waits, as it would in a cluster; dropping it would forget the drive for good.
        pending.set(k, clock.now().getTime());
        if (!held.has(k)) options.log(describeHeld(k, record.drive));
        held.add(k);
        continue;
      }
      if (reach.state === 'NotReady') {
        // Its Domain did not start. The reconciler lets a Retain Drive go at once then, its marker left on
        // the drive for a Drive of the same owner and name to adopt as an orphan: a cluster's operator does
        // (it lists the live Drives), `up` does not (its uids are names, a marker is never an orphan's), so
        // the drive stayed claimed by a Drive gone for good, and a Drive re-added under another name was a
        // NameConflict forever. Nothing holds a namespace here: the prune waits for the data plane.
        pending.set(k, clock.now().getTime());
        if (!held.has(k)) options.log(describeWaiting(k, record.drive, reach.message));
        held.add(k);
        continue;
      }
      held.delete(k);
      const result = await reconcileDriveDeletion(record.drive, ctx(record.drive));
      if (result.removeFinalizer) delete records[k];
      else records[k] = { ...record, drive: { ...record.drive, status: result.status } };
      results.push(result);
    }
    const pendingDomains = [...pending.keys()].map((k) => domainKey(records[k]!.drive));
    // Stopping: what is left of this pass (a Domain's stop included) waits for the next `up`, which redoes it.
    if (!stopping()) await stopDomainsExcept(new Set([...domains.map(manifestKey), ...pendingDomains]));
    await probeDomains();
    const conflicts = identityConflicts(wantedDrives, records);
    for (const [k, drive] of wantedDrives) {
      if (stopping()) break;
      const cr = withGeneration(drive, records[k]);
      const result = await reconcileDrive(cr.drive, ctx(cr.drive, conflicts.get(k)));
      records[k] = { ...cr, drive: { ...cr.drive, status: result.status } };
      results.push(result);
    }
    writeDriveRecords(options.stateDir, records);

    const status: UpStatus = {
      updatedAt: clock.now().toISOString(),
      problems,
      domains: domains.map((d) => domainRow(d, slots.get(manifestKey(d)))),
      // (A pass stopped early has no record yet of the Drives it did not reach.)
      drives: [...wantedDrives.keys()].filter((k) => records[k]).map((k) => ({ key: k, drive: records[k]!.drive })),
    };
    writeStatus(options.stateDir, status);
    const requeues = [...results.map((r) => r.requeueAfterMs).filter((ms) => ms > 0), prunes.nextDueMs ?? Infinity];
    return { status, requeueAfterMs: Math.min(...requeues) };
  }

  return {
    sync,
    async stop() {
      for (const slot of slots.values()) await slot.running?.close();
      slots.clear();
    },
  };
}

/**
 * Drives of the folder with one identity (namespace, domainRef, owner, drive name: drive-identity.ts) would
 * be one drive; as in a cluster, one holds it and each other is a NameConflict that does nothing in the
 * data plane. A folder has no creation order: the holder is the one whose drive `up` already made (its
 * record has a drive id), else the smallest name, as a cluster breaks a tie. Key → the holder.
 */
export function identityConflicts(drives: ReadonlyMap<string, Drive>, records: Readonly<Record<string, DriveRecord>>): Map<string, { namespace: string; name: string }> {
  const groups = new Map<string, string[]>();
  for (const [k, d] of drives) groups.set(driveIdentity(d), [...(groups.get(driveIdentity(d)) ?? []), k]);
  const conflicts = new Map<string, { namespace: string; name: string }>();
  for (const keys of groups.values()) {
    if (keys.length < 2) continue;
    const made = keys.filter((k) => records[k]?.drive.status?.driveId);
    const holders = made.length > 0 ? made : [[...keys].sort((a, b) => (drives.get(a)!.metadata.name < drives.get(b)!.metadata.name ? -1 : 1))[0]!];
    const holder = drives.get(holders[0]!)!;
    for (const k of keys) if (!holders.includes(k)) conflicts.set(k, { namespace: holder.metadata.namespace ?? 'default', name: holder.metadata.name });
  }
  return conflicts;
}

/** Why a due prune waits: its Domain is gone from the folder and the state has no spec to start it from. */
function describeHeld(key: string, drive: Drive): string {
  const domain = `${drive.metadata.namespace ?? 'default'}/${drive.spec.domainRef.name}`;
  const id = drive.status?.driveId ? ` ${drive.status.driveId}` : '';
  return `Drive ${key} left the folder, but its Domain ${domain} is not in the folder and not running (removed while up was stopped): its drive${id} is not ${drive.spec.reclaimPolicy === 'Delete' ? 'deleted' : 'released'} and its record is kept; put Domain ${domain} back in the folder until up has pruned the drive, then remove it`;
}

/** Why a due prune waits: its Domain is there but its data plane did not start. */
function describeWaiting(key: string, drive: Drive, why: string): string {
  const domain = `${drive.metadata.namespace ?? 'default'}/${drive.spec.domainRef.name}`;
  const id = drive.status?.driveId ? ` ${drive.status.driveId}` : '';
  return `Drive ${key} left the folder; its drive${id} is ${drive.spec.reclaimPolicy === 'Delete' ? 'deleted' : 'released'} once Domain ${domain} serves (${why}); its record is kept until then`;
}

/** What `up` does about a folder with invalid manifests: nothing that removes. */
function invalidNotice(invalid: number, kept: string[]): string {
  const manifests = `${invalid} manifest${invalid === 1 ? '' : 's'} of the folder could not be read or ${invalid === 1 ? 'is' : 'are'} invalid`;
  const drives = kept.length > 0 ? `; Drive${kept.length === 1 ? '' : 's'} ${kept.join(', ')} keep${kept.length === 1 ? 's' : ''} running as last applied` : '';
  return `${manifests}: no drive is deleted or released and no Domain stopped until the folder is fixed${drives}`;
}

/**
 * The record a renamed Drive starts from: the old one's drive (its id, and its origin, so an adopted drive
 * stays adopted), under a new generation, so the reconciler finds it by id and rewrites its marker to the
 * new uid and reclaimPolicy as a spec change (not as drift), creating and deleting nothing.
 */
function movedRecord(old: DriveRecord, move: PruneMove): DriveRecord {
  const origin = (old.drive.status as { origin?: string } | undefined)?.origin;
  const status = { driveId: move.driveId, ...(origin ? { origin } : {}) } as Drive['status'];
  return { specHash: '', drive: { ...old.drive, status } };
}

/** metadata.generation as the API server keeps it: bumped when the spec changes, and only then. */
export function withGeneration(drive: Drive, previous: DriveRecord | undefined): DriveRecord {
  const specHash = createHash('sha256').update(JSON.stringify(drive.spec)).digest('hex');
  const before = previous?.drive.metadata.generation ?? 0;
  const generation = previous?.specHash === specHash ? before : before + 1;
  return { specHash, drive: { ...drive, metadata: { ...drive.metadata, generation }, ...(previous?.drive.status ? { status: previous.drive.status } : {}) } };
}

function domainRow(domain: Domain, slot: DomainSlot | undefined): UpDomainRow {
  if (slot?.running && slot.notReady !== undefined) return { key: manifestKey(domain), ready: 'False', reason: 'NotReady', detail: slot.notReady };
  return {
    key: manifestKey(domain),
    ready: slot?.running ? 'True' : 'False',
    reason: slot?.running ? 'Running' : (slot?.reason ?? 'StartFailed'),
    detail: slot?.running?.url ?? slot?.error ?? '',
  };
}
