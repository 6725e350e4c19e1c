/**
 * One process per embedded database. PGlite is a single PostgreSQL backend over files it alone expects
 * to write: two `openpds serve` on one OPENPDS_DATA_DIR each opened it, each saw its own database (a user
 * created on one missing on the other), both passed the storage claim (one instance id) and each one's blob
 * GC deleted the other's new blobs; started at once, one crashed migrating. A lock file beside the data
 * directory (`<dir>.lock`, holding the pid) keeps the second out; one left by a process that died is taken
 * over, since that process no longer writes.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config/config';

/** Data directories this process holds: a second open here is refused too (its pid is our own). */
const held = new Set<string>();

/** Takes the lock of `dataDir`; the function returned releases it. Throws ConfigError when another process (or open) holds it. */
export function lockDataDir(dataDir: string): () => void {
  const dir = path.resolve(dataDir);
  const file = `${dir}.lock`;
  mkdirSync(path.dirname(file), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      held.add(dir);
      return () => {
        held.delete(dir);
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
    }
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    const ours = pid === process.pid && held.has(dir);
    if (ours || (pid !== process.pid && isAlive(pid))) {
      throw new ConfigError(
        `the embedded database ${dir} is in use by ${ours ? 'this process already' : `process ${pid}`} (another openpds serve on the same OPENPDS_DATA_DIR?): ` +
          `PGlite serves one process, and two on one data dir each see a database of their own and delete each other's blobs. ` +
          `Stop the other one, or give this one another OPENPDS_DATA_DIR (or OPENPDS_DATABASE_URL for a PostgreSQL many processes can share). ` +
          `If no such process runs, delete ${file}.`,
      );
    }
    unlinkSync(file); // left by a process that is gone
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}
