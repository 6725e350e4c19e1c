/**
 * One `openpds up` per state dir. Two at once each ran their own data planes over the same PGlite files
 * (the second failed on the database's lock and retried forever, logging the whole error every pass)
 * while both rewrote drives.json and status.json, each undoing the other's bookkeeping. A lock file in
 * the state dir (`<state>/up.lock`) keeps the second out before it starts anything.
 *
 * Mirrors api-server/src/db/data-dir-lock.ts (not reused: its refusal speaks of `serve` and
 * OPENPDS_DATA_DIR): the lock names its holder's host, pid and folder, the holder touches it every
 * HEARTBEAT_MS, and it is taken over only when its holder is surely gone: a pid of this host that no longer
 * runs, or a lock not touched for STALE_MS (another host sharing the folder, where a pid means nothing).
 */
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const HEARTBEAT_MS = 30_000;
export const STALE_MS = 120_000;

/** State dirs this process holds: a second `up` in this process (tests, embedding) is refused too. */
const held = new Set<string>();

export interface StateDirHolder {
  host: string;
  pid: number;
  /** The manifests folder the holder runs, to name it in the refusal. */
  folder?: string;
}

/** Why a state dir cannot be taken: said as one line. */
export class StateDirBusyError extends Error {
  override name = 'StateDirBusyError';
}

export function stateLockFile(stateDir: string): string {
  return path.join(path.resolve(stateDir), 'up.lock');
}

/** Takes the lock of `stateDir` for a run over `folder`; the function returned releases it. Throws StateDirBusyError when it is held. */
export function lockStateDir(stateDir: string, folder: string): () => void {
  const dir = path.resolve(stateDir);
  const file = stateLockFile(dir);
  const me: StateDirHolder = { host: os.hostname(), pid: process.pid, folder: path.resolve(folder) };
  mkdirSync(dir, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${JSON.stringify(me)}\n`);
      closeSync(fd);
      held.add(dir);
      const heartbeat = setInterval(() => {
        try {
          const now = new Date();
          utimesSync(file, now, now);
        } catch {
          // removed by hand: nothing to keep fresh
        }
      }, HEARTBEAT_MS);
      heartbeat.unref();
      return () => {
        clearInterval(heartbeat);
        held.delete(dir);
        try {
          const holder = readHolder(file);
          if (holder?.host === me.host && holder.pid === me.pid) unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
    }
    const holder = readHolder(file);
    const ours = holder?.host === me.host && holder.pid === me.pid && held.has(dir);
    if (ours || !isGone(file, holder, me)) throw new StateDirBusyError(describeBusy(dir, file, holder));
    unlinkSync(file); // its holder is gone
  }
}

function describeBusy(dir: string, file: string, holder: StateDirHolder | undefined): string {
  const who = holder ? `openpds up (pid ${holder.pid} on ${holder.host}${holder.folder ? `, -f ${holder.folder}` : ''})` : 'another openpds up';
  return (
    `the state dir ${dir} is in use by ${who}: stop that one first, or give this one another --state-dir. ` +
    `If it no longer runs, delete ${file} (a lock not touched for ${STALE_MS / 1000} s is taken over by itself).`
  );
}

function readHolder(file: string): StateDirHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<StateDirHolder>;
    return typeof parsed.host === 'string' && Number.isInteger(parsed.pid) ? (parsed as StateDirHolder) : undefined;
  } catch {
    return undefined; // unreadable, e.g. a half-written lock: judged by its age alone
  }
}

/** Whether the lock's holder surely no longer runs. */
function isGone(file: string, holder: StateDirHolder | undefined, me: StateDirHolder): boolean {
  if (Date.now() - statSync(file).mtimeMs > STALE_MS) return true;
  if (!holder || holder.host !== me.host) return false; // another host's pid means nothing here
  if (holder.pid === me.pid) return true; // this pid, not held by this process: a previous life of it (a restarted container)
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'EPERM'; // EPERM: alive, someone else's
  }
}
