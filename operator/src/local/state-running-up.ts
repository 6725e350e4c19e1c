/**
 * Which Domain a running `openpds up` serves at a URL, read from its state dir alone (no network call):
 * the lock a live `up` holds (`<state>/up.lock`: its pid, host and manifests folder), the Domains its last
 * pass showed running (status.json) and the URL each was started on (domain.json).
 *
 * For `plan`/`apply --endpoint`: an apply to such a Domain is put back by `up`'s drift correction at its
 * next pass (it applies its own folder's manifests, and only those), and an admin password refused there
 * is not the one in the Domain's admin-password file. Best effort: a state that cannot be read, or an `up`
 * that is not running, answers nothing; a warning must never fail a plan.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LOCK_STALE_MS } from '../../../api-server/src/shared/lock-file';
import { ADMIN_USERNAME, adminPasswordFile, readDomainRecord, readFolderRecord, readRecordedDomains, shellQuote, upDir } from './state-dir';
import type { UpStatus } from './status-table';
import { stateLockFile } from './up-state-lock';

/** `openpds up`'s default --state-dir: `.openpds` in the current directory. */
export const DEFAULT_UP_STATE_DIR = '.openpds';

export interface ServedDomain {
  /** namespace/name of the Domain `up` runs. */
  key: string;
  /** The URL `up` started its data plane on. */
  url: string;
  /** The manifests folder `up` runs (its -f, resolved), as its lock records it. */
  folder: string;
  pid: number;
  /** The state dir, as given. */
  stateDir: string;
  /** Its admin-password file, in the state dir's terms. */
  passwordFile: string;
}

/** The Domain a live `up` over `stateDir` serves at `url` (any loopback name for its 127.0.0.1), if any. */
export function findServedDomain(stateDir: string, url: string, now = Date.now()): ServedDomain | undefined {
  const wanted = parseUrl(url);
  const holder = wanted && liveUpHolder(stateDir, now);
  if (!wanted || !holder) return undefined;
  for (const key of runningDomainKeys(stateDir)) {
    const [namespace, name] = key.split('/') as [string, string];
    try {
      const record = readDomainRecord(stateDir, namespace, name);
      const served = record && parseUrl(record.url);
      if (!served || !sameListener(wanted, served)) continue;
      return { key, url: record.url, folder: holder.folder, pid: holder.pid, stateDir, passwordFile: adminPasswordFile(stateDir, namespace, name) };
    } catch {
      continue; // a domain.json that cannot be read, a key that is no Domain's folder: not this one
    }
  }
  return undefined;
}

/**
 * The holder of the state's lock when it is an `up` that runs: `plan`/`apply --state` record their command
 * (their data planes live for one run and correct nothing), and a lock its holder left behind (a pid of
 * this host that is gone, or no heartbeat for LOCK_STALE_MS) is nobody's.
 */
function liveUpHolder(stateDir: string, now: number): { pid: number; folder: string } | undefined {
  let holder: { host?: unknown; pid?: unknown; command?: unknown; folder?: unknown };
  try {
    const file = stateLockFile(stateDir);
    if (now - fs.statSync(file).mtimeMs > LOCK_STALE_MS) return undefined;
    holder = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof holder !== 'object' || holder === null || typeof holder.pid !== 'number') return undefined;
  if (holder.command !== undefined && holder.command !== 'up') return undefined;
  if (holder.host === os.hostname() && !isRunning(holder.pid)) return undefined;
  const folder = typeof holder.folder === 'string' ? holder.folder : readFolder(stateDir);
  return { pid: holder.pid, folder };
}

function readFolder(stateDir: string): string {
  try {
    return readFolderRecord(stateDir)?.folder ?? '(its folder is not recorded)';
  } catch {
    return '(its folder is not recorded)';
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: asks whether it exists, sends nothing
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/**
 * The Domains `up`'s last written status.json says run (Running, or NotReady: serving, /readyz not 200),
 * an earlier run's until this one's first pass writes it; without one, every Domain the state records.
 */
function runningDomainKeys(stateDir: string): string[] {
  try {
    const status = JSON.parse(fs.readFileSync(path.join(upDir(stateDir), 'status.json'), 'utf8')) as UpStatus;
    return status.domains.filter((d) => d.reason === 'Running' || d.reason === 'NotReady').map((d) => d.key);
  } catch {
    try {
      return Object.keys(readRecordedDomains(stateDir));
    } catch {
      return [];
    }
  }
}

function parseUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

const LOOPBACK = (host: string) => host === 'localhost' || host === '[::1]' || host === '0.0.0.0' || /^127\./.test(host);
const portOf = (url: URL) => url.port || (url.protocol === 'https:' ? '443' : '80');

/** `up` listens on 127.0.0.1: localhost, [::1] and 127.0.0.1 with its port all name it. */
function sameListener(a: URL, b: URL): boolean {
  return portOf(a) === portOf(b) && (a.hostname === b.hostname || (LOOPBACK(a.hostname) && LOOPBACK(b.hostname)));
}

/**
 * The warning `plan`/`apply --endpoint` print before the plan: `up` corrects what the apply changes in its
 * folder's Drives back to that folder's manifests at its next pass, silently but for a DriftDetected line
 * in its own output. Said, not refused: a Drive only DIR names is left alone by `up`.
 */
export function describeServedByUp(served: ServedDomain, command: 'plan' | 'apply', dir: string): string {
  const by = `! warning Domain ${served.key} at ${served.url} is run by openpds up (pid ${served.pid}) from ${served.folder}`;
  const preview = `openpds plan -f ${served.folder} --state ${served.stateDir}`;
  if (sameFolder(dir, served.folder)) {
    return `${by}, this folder: up applies it itself on every change and corrects drift back to it, so this ${command} is not needed (${preview} shows what up does)`;
  }
  const what = command === 'plan' ? 'applying this plan changes' : 'this apply changes';
  return (
    `${by}: at its next pass (every --resync, 10 s by default), up corrects the drives of that folder's Drives back to its manifests (DriftDetected ... correcting), undoing what ${what} in them ` +
    `(drives of Drives only this folder has are left alone). Edit ${served.folder} instead (up applies it; ${preview} shows what it will do), ` +
    `or stop that up and plan/apply -f ${served.folder} --state ${served.stateDir}`
  );
}

/** The note after an AdminCredentialsRejected of a Domain `up` runs: where its password is (never the password). */
export function describeServedPassword(served: ServedDomain): string {
  return `  note: ${served.url} is Domain ${served.key} of the openpds up running from ${served.folder}: its superadmin is ${ADMIN_USERNAME} and its password is in ${served.passwordFile} (--password "$(cat ${shellQuote(served.passwordFile)})")`;
}

function sameFolder(a: string, b: string): boolean {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return false;
  }
}
