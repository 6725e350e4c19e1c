/**
 * A lock file naming its holder (host, pid and whatever else the caller records), for "one process per
 * directory" rules: the embedded database's data dir (db/data-dir-lock.ts) and `openpds up`'s state dir
 * (operator/src/local/up-state-lock.ts).
 *
 * The holder touches the file every HEARTBEAT_MS. It is taken over only when its holder is surely gone: a
 * pid of this host that no longer runs, or a lock not touched for STALE_MS (another host, e.g. a second pod
 * on a shared volume, where a pid means nothing here; in a container every process may be pid 1). A second
 * take of one file in this process is refused too (its pid is our own).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const HEARTBEAT_MS = 30_000;
export const LOCK_STALE_MS = 120_000;

export interface LockHolder {
  host: string;
  pid: number;
  [more: string]: unknown;
}

/** Lock files this process holds. */
const held = new Set<string>();

export interface LockFileOptions {
  /**
   * Called once, at a heartbeat, when the lock file is gone (removed, or its folder moved or deleted) or
   * names another holder: this process no longer holds what it locked. Without it such a lock is left
   * alone, as before (the data dir's lock: a serve goes on serving, its database files still open).
   */
  onLost?: (problem: string) => void;
}

/**
 * Takes `file` for this process, recording `extra` beside host and pid; the function returned releases it.
 * When it is held, throws `busy(holder, ours)`: `ours` when this process already holds it; `holder`
 * undefined when the file cannot be read.
 */
export function takeLockFile(file: string, extra: Record<string, unknown>, busy: (holder: LockHolder | undefined, ours: boolean) => Error, options: LockFileOptions = {}): () => void {
  const me: LockHolder = { ...extra, host: os.hostname(), pid: process.pid };
  const key = path.resolve(file);
  mkdirSync(path.dirname(key), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(key, 'wx');
      writeSync(fd, `${JSON.stringify(me)}\n`);
      closeSync(fd);
      held.add(key);
      const heartbeat = setInterval(() => {
        const problem = options.onLost ? lockFileProblem(key) : undefined;
        if (problem) {
          clearInterval(heartbeat);
          options.onLost!(problem);
          return;
        }
        try {
          const now = new Date();
          utimesSync(key, now, now);
        } catch {
          // removed by hand: nothing to keep fresh
        }
      }, HEARTBEAT_MS);
      heartbeat.unref();
      return () => {
        clearInterval(heartbeat);
        held.delete(key);
        try {
          const holder = readHolder(key);
          if (holder?.host === me.host && holder.pid === me.pid) unlinkSync(key);
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    // The file judged is the one stat names (its inode): read before the holder, so a lock replaced in
    // between is judged by its new holder, alive, and never removed as the old one.
    let judged: { ino: number; mtimeMs: number };
    try {
      judged = statSync(key);
    } catch {
      if (attempt > 0) throw busy(undefined, false);
      continue; // released meanwhile: create it
    }
    const text = readText(key);
    const holder = parseHolder(text);
    const ours = holder?.host === me.host && holder.pid === me.pid && held.has(key);
    // Once only: a second EEXIST means another process took the lock over first.
    if (ours || attempt > 0 || !isGone(judged.mtimeMs, holder, me)) throw busy(holder, ours);
    if (!removeStale(key, { ino: judged.ino, text })) throw busy(readHolder(key), false);
  }
}

/**
 * Why this process no longer holds the lock `file` it took (undefined while it does): the file is gone,
 * or names another holder (taken over as stale, or replaced by hand).
 */
export function lockFileProblem(file: string): string | undefined {
  const key = path.resolve(file);
  const text = readText(key);
  if (text === undefined) return `the lock file ${key} is gone (removed, or its folder moved or deleted)`;
  const holder = parseHolder(text);
  if (holder?.host === os.hostname() && holder.pid === process.pid && held.has(key)) return undefined;
  return `the lock file ${key} now names ${holder ? `process ${holder.pid} on ${holder.host}` : 'no holder it can read'}, not this process`;
}

/**
 * Removes the lock file judged stale, and only that one: two processes can judge the same stale lock gone,
 * and the slower one's unlink used to delete the lock the faster had just made, so both held it. The file
 * is moved aside atomically and checked to be the one judged: its inode (which a file system may give the
 * newer lock again) and its text (which names another holder in any newer lock). If it is a newer lock,
 * it goes back. False when someone else's lock is there now.
 */
export function removeStale(key: string, judged: { ino: number; text: string | undefined }): boolean {
  const aside = `${key}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(key, aside);
  } catch {
    return true; // moved by the other taker: the create decides
  }
  if (statSync(aside).ino === judged.ino && readText(aside) === judged.text) {
    unlinkSync(aside);
    return true;
  }
  try {
    linkSync(aside, key); // a fresh lock, taken over by another process just now: put it back
  } catch {
    // a third process created one meanwhile: that one stands
  }
  unlinkSync(aside);
  return false;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function parseHolder(text: string | undefined): LockHolder | undefined {
  try {
    const parsed = JSON.parse(text ?? '') as Partial<LockHolder>;
    return typeof parsed.host === 'string' && Number.isInteger(parsed.pid) ? (parsed as LockHolder) : undefined;
  } catch {
    return undefined; // unreadable, e.g. a half-written lock: judged by its age alone
  }
}

const readHolder = (file: string): LockHolder | undefined => parseHolder(readText(file));

/** Whether the lock's holder surely no longer runs. */
function isGone(mtimeMs: number, holder: LockHolder | undefined, me: LockHolder): boolean {
  if (Date.now() - mtimeMs > LOCK_STALE_MS) return true;
  if (!holder || holder.host !== me.host) return false; // another host's pid means nothing here
  if (holder.pid === me.pid) return true; // this pid, not held by this process: a previous life of it (a restarted container)
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'EPERM'; // EPERM: alive, someone else's
  }
}
