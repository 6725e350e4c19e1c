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
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
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

/**
 * Takes `file` for this process, recording `extra` beside host and pid; the function returned releases it.
 * When it is held, throws `busy(holder, ours)`: `ours` when this process already holds it; `holder`
 * undefined when the file cannot be read.
 */
export function takeLockFile(file: string, extra: Record<string, unknown>, busy: (holder: LockHolder | undefined, ours: boolean) => Error): () => void {
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
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
    }
    const holder = readHolder(key);
    const ours = holder?.host === me.host && holder.pid === me.pid && held.has(key);
    if (ours || !isGone(key, holder, me)) throw busy(holder, ours);
    unlinkSync(key); // its holder is gone
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    return typeof parsed.host === 'string' && Number.isInteger(parsed.pid) ? (parsed as LockHolder) : undefined;
  } catch {
    return undefined; // unreadable, e.g. a half-written lock: judged by its age alone
  }
}

/** Whether the lock's holder surely no longer runs. */
function isGone(file: string, holder: LockHolder | undefined, me: LockHolder): boolean {
  if (Date.now() - statSync(file).mtimeMs > LOCK_STALE_MS) return true;
  if (!holder || holder.host !== me.host) return false; // another host's pid means nothing here
  if (holder.pid === me.pid) return true; // this pid, not held by this process: a previous life of it (a restarted container)
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'EPERM'; // EPERM: alive, someone else's
  }
}
