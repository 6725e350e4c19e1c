/**
 * One process per embedded database. PGlite is a single PostgreSQL backend over files it alone expects
 * to write: two `openpds serve` on one OPENPDS_DATA_DIR each opened it, each saw its own database (a user
 * created on one missing on the other), both passed the storage claim (one instance id) and each one's blob
 * GC deleted the other's new blobs; started at once, one crashed migrating. A lock file beside the data
 * directory (`<dir>.lock`) keeps the second out.
 *
 * The lock names its holder's host and pid, and the holder touches it every HEARTBEAT_MS. It is taken over
 * only when its holder is surely gone: a pid of this host that no longer runs, or a lock not touched for
 * STALE_MS (another host, e.g. a second pod on a shared volume, where a pid means nothing here; in a
 * container every `serve` may be pid 1).
 */
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../config/config';

const HEARTBEAT_MS = 30_000;
const STALE_MS = 120_000;

/** Data directories this process holds: a second open here is refused too (its pid is our own). */
const held = new Set<string>();

interface Holder {
  host: string;
  pid: number;
}

/** Takes the lock of `dataDir`; the function returned releases it. Throws ConfigError when another process (or open) holds it. */
export function lockDataDir(dataDir: string): () => void {
  const dir = path.resolve(dataDir);
  const file = `${dir}.lock`;
  const me: Holder = { host: os.hostname(), pid: process.pid };
  mkdirSync(path.dirname(file), { recursive: true });
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
    if (ours || !isGone(file, holder, me)) {
      const who = ours ? 'this process already' : holder ? `process ${holder.pid} on ${holder.host}` : 'another process';
      throw new ConfigError(
        `the embedded database ${dir} is in use by ${who} (another openpds serve on the same OPENPDS_DATA_DIR?): ` +
          `PGlite serves one process, and two on one data dir each see a database of their own and delete each other's blobs. ` +
          `Stop the other one, or give this one another OPENPDS_DATA_DIR (or OPENPDS_DATABASE_URL for a PostgreSQL many processes can share). ` +
          `If no such process runs, delete ${file} (a lock not touched for ${STALE_MS / 1000} s is taken over by itself).`,
      );
    }
    unlinkSync(file); // its holder is gone
  }
}

function readHolder(file: string): Holder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Holder>;
    return typeof parsed.host === 'string' && Number.isInteger(parsed.pid) ? (parsed as Holder) : undefined;
  } catch {
    return undefined; // unreadable, e.g. a half-written lock: judged by its age alone
  }
}

/** Whether the lock's holder surely no longer runs. */
function isGone(file: string, holder: Holder | undefined, me: Holder): boolean {
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
