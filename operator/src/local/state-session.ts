/**
 * `openpds plan/apply --state DIR`: the Domains of an `openpds up` state dir, under the same rules as `up`.
 *
 * - The lock (up-state-lock.ts). `apply` takes it for its run, and is refused while an `up` or another
 *   apply holds it, before it reads or changes anything: a running `up` already applies the folder on every
 *   change, and both at once raced on the same drives. `plan` does not wait for it (a plan is read-only,
 *   and one beside a running `up` is the common case): while a live holder has it, plan reads through the
 *   holder's data planes and says so; otherwise it takes it for its run like apply, since it then runs the
 *   data planes itself and a second process on their database files would fail.
 * - The data planes. They live inside the process that holds the lock: with the lock, plan and apply run
 *   the folder's Domains from the state (their data dirs, passwords and last ports, as `up` starts them)
 *   for the run and stop them after; a state's domain.json of a stopped `up` names a port nothing answers.
 *   Only Domains that ran under the state before: provisioning a Domain is `up`'s (or the operator's) job.
 * - The folder binding (up-state-folder.ts), `--adopt-state` included: a state is one folder's.
 * - The Drives as `up` last applied them (drives.json), for the immutable fields (domainRef, owner): a
 *   change is an invalid manifest, refused before anything is applied, as `up` refuses it. What an apply
 *   with the lock did is recorded there too, as an `up` pass records it: else a Drive that apply created
 *   could change owner at the next apply unchecked, and the next `up` would not prune it once it left.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createAdminClient } from '../admin-client/admin-client';
import { createDomainContext } from '../charts/domain-context';
import type { Domain, Drive } from '../domain-types';
import { unsupportedSpec } from '../reconcilers/domain-preflight';
import { withApplySet } from '../reconcilers/drive-desired';
import { startDomain, type RunningDomain } from './domain-runner';
import { createDomainTargets, type DomainTargets } from './domain-targets';
import { manifestKey, type PreviousObjects } from './manifests';
import { failureOf, type PlanEntry } from './plan-drives';
import { ADMIN_USERNAME, readDomainRecord, readDriveRecords, readRecordedDomains, StateDirError, writeDriveRecords } from './state-dir';
import { withGeneration } from './up-runner';
import { bindStateFolder } from './up-state-folder';
import { describeHolder, lockStateDir, StateDirBusyError } from './up-state-lock';

export interface StateSession {
  /** Lines for the top of the output: whose data planes the run goes through, a folder handed over. */
  notices: string[];
  /** The Drives as last applied: what loadManifests checks the immutable fields against. */
  previous: PreviousObjects;
  /** drives.json's Drives (with status), by namespace/name: what the next `up` prunes when they left the folder. */
  recorded: Record<string, Drive>;
  /** Where each Drive's Domain answers: the holder's data planes, or `domains` started for this run. */
  targets(domains: Domain[]): Promise<DomainTargets>;
  /** Whether this run starts the Domains itself (it holds the lock), rather than reading through a holder's. */
  runsDomains: boolean;
  /** Records what an apply did in drives.json (only while holding the lock: a holder's records are its own). */
  record(drives: Drive[], entries: PlanEntry[]): void;
  /** Stops what this run started and releases the lock. */
  close(): Promise<void>;
}

/** Throws StateDirBusyError (apply only), StateFolderMismatchError or StateDirError, each one line, before anything is touched. */
export function openStateSession(options: {
  command: 'plan' | 'apply';
  stateDir: string;
  dir: string;
  adopt: boolean;
  logLevel?: string;
  /** Settings every data plane gets besides its Domain's, as `up` passes them (DomainRunnerOptions.dataPlaneEnv). */
  dataPlaneEnv?: Record<string, string>;
}): StateSession {
  const { command, stateDir, dir } = options;
  const notices: string[] = [];
  // plan reads a state and creates none: a mistyped --state made that folder (even at /, mode 0700).
  if (command === 'plan' && !fs.existsSync(stateDir)) {
    throw new StateDirError(`the state dir ${path.resolve(stateDir)} does not exist: plan reads the state of an openpds up and creates none (a typo? openpds up -f ${dir} --state-dir ${stateDir} makes it)`);
  }
  let release: (() => void) | undefined;
  try {
    release = lockStateDir(stateDir, dir, { command, hint: 'stop it first (a running openpds up applies its folder itself on every change; openpds plan --state reads through it).' });
  } catch (error) {
    if (!(error instanceof StateDirBusyError) || command === 'apply') throw error;
    notices.push(`  note: reading through the data planes of ${describeHolder(error.holder)}, which holds the state dir; nothing is changed`);
  }
  try {
    const notice = bindStateFolder(stateDir, dir, { adopt: options.adopt, command });
    if (notice) notices.push(`  note: ${notice}`);
  } catch (error) {
    release?.();
    throw error;
  }
  let recorded: Record<string, Drive>;
  let previous: PreviousObjects;
  try {
    recorded = Object.fromEntries(Object.entries(readDriveRecords(stateDir)).map(([k, r]) => [k, r.drive]));
    // And the Domains as up last ran them (domain.json): a domainId changed since is refused as up refuses it.
    previous = { Drive: recorded, Domain: readRecordedDomains(stateDir) };
  } catch (error) {
    release?.(); // a drives.json that cannot be read: said by the caller, the lock not left behind
    throw error;
  }
  const running: RunningDomain[] = [];
  return {
    notices,
    previous,
    recorded,
    runsDomains: release !== undefined,
    async targets(domains) {
      if (!release) return createDomainTargets({ stateDir });
      return startDomains(domains, { stateDir, logLevel: options.logLevel ?? 'warn', running, dataPlaneEnv: options.dataPlaneEnv });
    },
    record(drives, entries) {
      if (release) recordApplied(stateDir, drives, entries);
    },
    async close() {
      for (const domain of running.splice(0)) await domain.close();
      release?.();
    },
  };
}

/** The folder's Domains as `up` runs them (the same refusals and words), for one run. */
async function startDomains(domains: Domain[], options: { stateDir: string; logLevel: string; running: RunningDomain[]; dataPlaneEnv?: Record<string, string> }): Promise<DomainTargets> {
  const slots = new Map<string, { client?: ReturnType<typeof createAdminClient>; error?: string; notFound?: string }>();
  // basePort 0: each Domain's last port when it is free (its URL stays what the user knows), else any.
  // Started for this one run: a short-lived process (PgliteOptions.shortLived).
  const runnerOptions = { stateDir: options.stateDir, basePort: 0, logLevel: options.logLevel, usedPorts: new Set<number>(), dataPlaneEnv: options.dataPlaneEnv, shortLived: true };
  for (const domain of domains) {
    if (!readDomainRecord(options.stateDir, domain.metadata.namespace ?? 'default', domain.metadata.name)) {
      slots.set(manifestKey(domain), { notFound: `Domain ${manifestKey(domain)} has never run under ${path.resolve(options.stateDir)} (start it with openpds up)` });
      continue;
    }
    const unsupported = unsupportedSpec(createDomainContext(domain));
    if (unsupported) {
      slots.set(manifestKey(domain), { error: unsupported });
      continue;
    }
    try {
      const started = await startDomain(domain, runnerOptions);
      options.running.push(started);
      slots.set(manifestKey(domain), { client: createAdminClient({ baseUrl: started.url, credentials: { username: ADMIN_USERNAME, password: started.password } }) });
    } catch (error) {
      slots.set(manifestKey(domain), { error: (error as Error).message });
    }
  }
  return {
    access(namespace, domainName) {
      const ref = `${namespace}/${domainName}`;
      const slot = slots.get(ref);
      if (!slot) return { state: 'NotFound', message: `Domain ${ref} is not in the manifests` };
      if (slot.notFound) return { state: 'NotFound', message: slot.notFound };
      if (!slot.client) return { state: 'NotReady', message: `Domain ${ref} did not start: ${slot.error ?? 'unknown error'}` };
      return { state: 'Ready', client: slot.client };
    },
  };
}

/**
 * drives.json after an apply, as an `up` pass leaves it: each Drive of the folder with the drive it got (a
 * new generation when its spec changed), a moved Drive's old record gone, a pruned drive's record gone. A
 * Drive that failed keeps its record as it was. As up, the apply-set annotation is not recorded.
 */
export function recordApplied(stateDir: string, drives: Drive[], entries: PlanEntry[]): void {
  const records = readDriveRecords(stateDir);
  const byKey = new Map(drives.map((d) => [manifestKey(d), d]));
  for (const entry of entries) {
    if (failureOf(entry) !== undefined) continue;
    const drive = byKey.get(entry.key);
    if (!drive) {
      delete records[entry.key]; // an orphan of the set, deleted or released
      continue;
    }
    if (entry.move) delete records[entry.move.from];
    if (!entry.result.status.driveId) continue;
    const record = withGeneration(withApplySet(drive, undefined), records[entry.key]);
    records[entry.key] = { ...record, drive: { ...record.drive, status: asObservedBy(record.drive, entry.result.status) } };
  }
  writeDriveRecords(stateDir, records);
}

/**
 * apply reconciles the manifest, which has no generation and no status: its status says so. Recorded, it
 * reads as up's would: observed at the record's generation (that spec is what was applied), and a
 * condition that did not flip keeps its lastTransitionTime (a rewrite of the same state is no transition).
 */
function asObservedBy(recorded: Drive, status: NonNullable<Drive['status']>): NonNullable<Drive['status']> {
  const generation = recorded.metadata.generation;
  const before = recorded.status?.conditions ?? [];
  const conditions = (status.conditions ?? []).map((c) => {
    const previous = before.find((p) => p.type === c.type && p.status === c.status);
    return { ...c, observedGeneration: generation, ...(previous ? { lastTransitionTime: previous.lastTransitionTime } : {}) };
  });
  return { ...status, observedGeneration: generation, conditions };
}
