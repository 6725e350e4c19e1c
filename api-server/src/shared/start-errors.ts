/**
 * What a start that fails on the machine (not on a value's syntax) says: the setting to change. A port in
 * use, a host that does not resolve, a data directory that cannot be created printed Node's raw error
 * (`listen EADDRINUSE: address already in use 0.0.0.0:8080`, a stack trace) naming no variable. These turn
 * the errno into a ConfigError naming it, which fatal-log-line.ts prints as one JSON line with the code
 * InvalidConfiguration; an error they do not know is returned as it is.
 */
import { accessSync, constants, lstatSync, mkdirSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config/config';

const errnoOf = (err: unknown): string => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
};

/** Errors of resolving or binding a listen address: the host, not the port, is what is wrong. */
const HOST_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EADDRNOTAVAIL', 'EAFNOSUPPORT']);

/**
 * A listen error explained. `portSetting` names the port (`OPENPDS_PORT`, `OPENPDS_METRICS_PORT`, or a
 * flag such as `--metrics-port`); `hostSetting` the address, when one is configured.
 */
export function explainListenError(err: unknown, where: { port: number; host?: string; portSetting: string; hostSetting?: string }): unknown {
  const code = errnoOf(err);
  const on = where.host ? ` on ${where.host}` : '';
  // OPENPDS_PORT=8080, but a flag as it is typed: --metrics-port 8080.
  const setting = `${where.portSetting}${where.portSetting.startsWith('--') ? ' ' : '='}${where.port}`;
  if (code === 'EADDRINUSE') {
    return new ConfigError(`${setting}: port ${where.port} is already in use${on} (another openpds, or another program): stop it or set ${where.portSetting} to a free port`, { cause: err });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new ConfigError(`${setting}: not permitted to listen on port ${where.port}${on} (${code}; ports below 1024 need privileges): set ${where.portSetting} to 1024 or above`, { cause: err });
  }
  if (HOST_CODES.has(code) && where.hostSetting) {
    return new ConfigError(
      `${where.hostSetting}=${where.host}: cannot listen on that address (${code}): it must be an address of this machine or a name resolving to one (0.0.0.0: every address, 127.0.0.1: this machine only)`,
      { cause: err },
    );
  }
  return err;
}

const DIR_CODES = new Set(['EACCES', 'EPERM', 'ENOTDIR', 'EROFS', 'EEXIST', 'ENOSPC', 'ELOOP', 'ENOENT']);

/**
 * mkdir -p one level at a time. Node's `mkdirSync(dir, { recursive: true })` loops for ever where a file
 * system answers ENOENT to a mkdir under a parent that exists (/proc: OPENPDS_DATA_DIR=/proc/openpds hung the
 * start with no output, red team); here that ENOENT is the answer.
 */
function makeDirs(dir: string): void {
  const absolute = path.resolve(dir);
  const missing: string[] = [];
  for (let at = absolute; ; at = path.dirname(at)) {
    try {
      if (!statSync(at).isDirectory()) throw Object.assign(new Error(`${at} is not a directory`), { code: 'ENOTDIR' });
      break;
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT' || path.dirname(at) === at) throw err;
      // A name that is there but does not resolve is a dangling symbolic link: mkdir would answer EEXIST
      // and the stat after it ENOENT, which read as "that file system does not take new directories".
      if (lstatSync(at, { throwIfNoEntry: false })?.isSymbolicLink()) throw new DanglingLinkError(at);
      missing.push(at);
    }
  }
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST' || !statSync(level).isDirectory()) throw err; // EEXIST: made meanwhile
    }
  }
}

/** How many links a dangling chain is followed through to name its missing end (Linux's own limit). */
const MAX_LINK_HOPS = 40;

/** A level of the path is a symbolic link whose target (at the end of any further links) does not exist. */
class DanglingLinkError extends Error {
  readonly target: string;
  constructor(readonly link: string) {
    let target = path.resolve(path.dirname(link), readlinkSync(link));
    for (let hop = 1; hop < MAX_LINK_HOPS && lstatSync(target, { throwIfNoEntry: false })?.isSymbolicLink(); hop++) {
      target = path.resolve(path.dirname(target), readlinkSync(target));
    }
    super(`${link} is a symbolic link to ${target}, which does not exist`);
    this.target = target;
  }
}

/** Creates the data directory, or throws a ConfigError naming OPENPDS_DATA_DIR when it cannot be created or written. */
export function ensureDataDir(dir: string): void {
  try {
    makeDirs(dir);
    accessSync(dir, constants.W_OK);
  } catch (err) {
    if (err instanceof DanglingLinkError) {
      throw new ConfigError(`OPENPDS_DATA_DIR=${dir}: cannot create the data directory: ${err.message}: create ${err.target}, or set OPENPDS_DATA_DIR to a writable directory`, { cause: err });
    }
    const code = errnoOf(err);
    if (!DIR_CODES.has(code)) throw err;
    const why =
      code === 'ENOTDIR' || code === 'EEXIST'
        ? 'a part of that path is a file, not a directory'
        : code === 'EROFS'
          ? 'the file system is read-only'
          : code === 'ENOSPC'
            ? 'the disk is full'
            : code === 'ENOENT'
              ? 'that file system does not take new directories'
              : 'this user may not create or write it';
    throw new ConfigError(`OPENPDS_DATA_DIR=${dir}: cannot create or write the data directory (${code}: ${why}): set OPENPDS_DATA_DIR to a writable directory`, { cause: err });
  }
}
