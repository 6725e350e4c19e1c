/**
 * The state `openpds up` keeps between runs, and that `plan`/`apply --state` read back:
 *
 *   <state>/up/<namespace>/<domain>/domain.json     url and port of the running data plane, the Domain it runs
 *   <state>/up/<namespace>/<domain>/admin-password  generated once (mode 600)
 *   <state>/up/<namespace>/<domain>/data/           OPENPDS_DATA_DIR (PGlite, blobs, secret key)
 *   <state>/up/drives.json                          each Drive as last applied, with its status
 *   <state>/up/status.json                          what the status table shows
 *   <state>/up/folder.json                          the manifests folder this state belongs to (up-state-folder.ts)
 *   <state>/up.lock                                 held by the running `up` (up-state-lock.ts)
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Domain, Drive } from '../domain-types';

export const ADMIN_USERNAME = 'admin';

/** A file or folder of the state that cannot be used as it is: one line naming it and how to recover. */
export class StateDirError extends Error {
  override name = 'StateDirError';
}

/** The state dir, its lock or a running Domain's data dir went away under a running `up`. */
export class StateDirLostError extends StateDirError {
  override name = 'StateDirLostError';
}

/**
 * Folders of the state are the owner's only (a umask of 022 left them, and PGlite's files in them, open to
 * every local user to read, and its initdb files to write): it holds databases, blobs and passwords.
 */
export const STATE_DIR_MODE = 0o700;

export interface DomainRecord {
  url: string;
  port: number;
  /**
   * The Domain as last run (metadata and spec): what `up` starts it from when the Domain left the folder
   * with a Drive still to prune (both removed while `up` was stopped). Absent in older state dirs.
   */
  domain?: Domain;
}

export interface DriveRecord {
  /** The Drive as last applied, with metadata.generation bumped on each spec change, and its status. */
  drive: Drive;
  specHash: string;
}

export function upDir(stateDir: string): string {
  return path.join(path.resolve(stateDir), 'up');
}

/**
 * A Domain's folder of the state. loadManifests refuses a namespace or name that is not a DNS name; this
 * is the second line: whatever reaches here (an old domain.json, a drives.json edited by hand) never
 * names a folder outside the state dir, nor another Domain's (`a/../b`).
 */
export function domainDir(stateDir: string, namespace: string, name: string): string {
  const base = upDir(stateDir);
  const dir = path.resolve(base, namespace, name);
  const segment = (s: string) => typeof s === 'string' && s !== '' && s !== '.' && s !== '..' && !/[/\\\0]/.test(s);
  if (!segment(namespace) || !segment(name) || path.dirname(path.dirname(dir)) !== base) {
    throw new Error(`Domain ${JSON.stringify(namespace)}/${JSON.stringify(name)}: refused, its state would not be a folder of ${base} (a namespace and name must be DNS names)`);
  }
  return dir;
}

/**
 * A Domain's admin-password file in the state dir's own terms (relative when it was given relative, as
 * `.openpds/up/default/quickstart/admin-password`): what `up` and `plan`/`apply` print for a user to read
 * it, never the password itself.
 */
export function adminPasswordFile(stateDir: string, namespace: string, name: string): string {
  domainDir(stateDir, namespace, name); // refuses a namespace or name that would leave the state dir
  return path.join(stateDir, 'up', namespace, name, 'admin-password');
}

/**
 * The domain's admin password: generated on first use and kept, so restarts log in with the same one.
 * Only on first use: once the Domain's database exists and has run, its superadmin has the password it was created
 * with, and a new one in the file logs in nowhere (every Drive became AdminCredentialsRejected). A file
 * missing then is an error saying how to set a password both agree on.
 */
export function adminPassword(stateDir: string, namespace: string, name: string, domainId = name): string {
  const dir = domainDir(stateDir, namespace, name);
  const file = path.join(dir, 'admin-password');
  if (!fs.existsSync(file)) {
    // Its database made and started once (domain.json is written by each start, the storage claim by the
    // data plane's first): its admin exists. (A database made but never started, as a first start cut
    // short, has no admin yet: it takes this one.)
    const data = path.join(dir, 'data');
    const started = fs.existsSync(path.join(dir, 'domain.json')) || fs.existsSync(path.join(data, 'blobs', 'objects', 'openpds-claim.json'));
    if (fs.existsSync(path.join(data, 'db', 'PG_VERSION')) && started) throw new StateDirError(missingPassword(file, data, domainId));
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: STATE_DIR_MODE });
    fs.writeFileSync(file, randomBytes(18).toString('base64url'), { mode: 0o600 });
  }
  return fs.readFileSync(file, 'utf8').trim();
}

function missingPassword(file: string, data: string, domainId: string): string {
  const env = `OPENPDS_DATA_DIR=${shellQuote(data)} OPENPDS_DOMAIN_ID=${shellQuote(domainId)}`;
  return (
    `${file} is missing, but the Domain's database exists (${data}): its admin has the password it was created with, and a new one would not log in. ` +
    `Put the password back in that file (mode 600), or, with up stopped, set a new one in both: ` +
    `(umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' > ${shellQuote(file)}) && ${env} openpds admin reset-password --password-stdin < ${shellQuote(file)}`
  );
}

/** A path or value as a POSIX shell reads it back. */
export function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

export function readDomainRecord(stateDir: string, namespace: string, name: string): DomainRecord | undefined {
  // Its url, port and spec as last run: without it the Domain starts on a free port, its data kept.
  return readJson<DomainRecord>(path.join(domainDir(stateDir, namespace, name), 'domain.json'), 'delete it (the Domain then starts on a free port; its data in data/ is kept)');
}

/**
 * The Domain each domain.json of the state records (as last run), by namespace/name: what its transition
 * rules compare with when this run has not applied it yet (domainId, storage.mode… cannot change under a
 * data dir that keeps its data). One that cannot be read is left out here: starting it says what is wrong.
 */
export function readRecordedDomains(stateDir: string): Record<string, Domain> {
  const out: Record<string, Domain> = {};
  const base = upDir(stateDir);
  for (const namespace of listDirs(base)) {
    for (const name of listDirs(path.join(base, namespace))) {
      let record: DomainRecord | undefined;
      try {
        record = readDomainRecord(stateDir, namespace, name);
      } catch {
        continue;
      }
      if (record?.domain?.spec) out[`${namespace}/${name}`] = record.domain;
    }
  }
  return out;
}

function listDirs(dir: string): string[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

export function writeDomainRecord(stateDir: string, namespace: string, name: string, record: DomainRecord): void {
  writeJson(path.join(domainDir(stateDir, namespace, name), 'domain.json'), record);
}

export function readDriveRecords(stateDir: string): Record<string, DriveRecord> {
  return readJson<Record<string, DriveRecord>>(path.join(upDir(stateDir), 'drives.json'), DRIVES_RECOVERY) ?? {};
}

/** What to do about a drives.json that cannot be read (what up knows again without it, and what not). */
const DRIVES_RECOVERY =
  'restore it from a backup, or move it aside: up then finds the drive of each Drive in the folder again by its ownership marker, ' +
  'but no longer prunes the drives of Drives that left the folder before';

export function writeDriveRecords(stateDir: string, records: Record<string, DriveRecord>): void {
  writeJson(path.join(upDir(stateDir), 'drives.json'), records);
}

export interface FolderRecord {
  /** The real path (symlinks resolved) of the manifests folder whose `up` made this state. */
  folder: string;
}

export function readFolderRecord(stateDir: string): FolderRecord | undefined {
  const record = readJson<FolderRecord>(path.join(upDir(stateDir), 'folder.json'), FOLDER_RECOVERY);
  if (record && typeof record.folder !== 'string') throw new StateDirError(`${path.join(upDir(stateDir), 'folder.json')} has no "folder": ${FOLDER_RECOVERY}`);
  return record;
}

const FOLDER_RECOVERY = 'delete it if this state belongs to the folder you run it over (the next run records that folder again)';

export function writeFolderRecord(stateDir: string, record: FolderRecord): void {
  writeJson(path.join(upDir(stateDir), 'folder.json'), record);
}

export function writeStatus(stateDir: string, status: unknown): void {
  writeJson(path.join(upDir(stateDir), 'status.json'), status);
}

/**
 * A JSON object of the state, undefined when the file does not exist. Anything else (not JSON, not an
 * object, unreadable) is a StateDirError naming the file and `recovery`: a stack trace of a SyntaxError
 * said neither which file nor what to do, and repeated every pass.
 */
function readJson<T>(file: string, recovery: string): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateDirError(`cannot read ${file} (${describeErrno(error)}): the state dir must be readable and writable by this user`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // JSON.parse quotes the text it stopped at, newlines and all: one line, and short.
    const why = (error as Error).message.replace(/\s+/g, ' ').slice(0, 120);
    throw new StateDirError(`${file} is not valid JSON (${why}; a disk full or a crash?): ${recovery}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StateDirError(`${file} does not hold a JSON object: ${recovery}`);
  return value as T;
}

/**
 * Write, fsync, rename, fsync the folder: a reader (or a crash) never sees half a file, and after a power
 * loss the file is the old one or the new one, never an empty one (a rename can reach the disk before
 * the data it names). A state dir that cannot be written is a StateDirError naming the file.
 */
function writeJson(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: STATE_DIR_MODE });
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeFileSync(fd, `${JSON.stringify(value, null, 2)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    fsyncDir(path.dirname(file));
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw new StateDirError(`cannot write ${file} (${describeErrno(error)}): the state dir must be a folder this user can write (or give another with --state-dir / --state)`);
  }
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (error) {
    // Some file systems refuse an fsync of a folder (EISDIR, EINVAL): the rename is then as durable as they make it.
    if (!['EISDIR', 'EINVAL', 'EPERM'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** `EACCES: permission denied` (the errno and what it means), else the message. */
export function describeErrno(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const meanings: Record<string, string> = { EACCES: 'permission denied', EPERM: 'operation not permitted', EROFS: 'read-only file system', ENOSPC: 'no space left on the device', ENOTDIR: 'a part of the path is a file, not a folder', EEXIST: 'a file is in the way', EISDIR: 'it is a folder' };
  return e.code && meanings[e.code] ? `${e.code}: ${meanings[e.code]}` : (e.message ?? String(error));
}
