/**
 * One process per embedded database. PGlite is a single PostgreSQL backend over files it alone expects
 * to write: two `openpds serve` on one OPENPDS_DATA_DIR each opened it, each saw its own database (a user
 * created on one missing on the other), both passed the storage claim (one instance id) and each one's blob
 * GC deleted the other's new blobs; started at once, one crashed migrating. A lock file beside the data
 * directory (`<dir>.lock`, shared/lock-file.ts: host and pid, touched every 30 s) keeps the second out.
 */
import path from 'node:path';
import { ConfigError } from '../config/config';
import { LOCK_STALE_MS, takeLockFile } from '../shared/lock-file';

/** Takes the lock of `dataDir`; the function returned releases it. Throws ConfigError when another process (or open) holds it. */
export function lockDataDir(dataDir: string): () => void {
  const dir = path.resolve(dataDir);
  const file = `${dir}.lock`;
  return takeLockFile(file, {}, (holder, ours) => {
    const who = ours ? 'this process already' : holder ? `process ${holder.pid} on ${holder.host}` : 'another process';
    return new ConfigError(
      `the embedded database ${dir} is in use by ${who} (another openpds serve on the same OPENPDS_DATA_DIR?): ` +
        `PGlite serves one process, and two on one data dir each see a database of their own and delete each other's blobs. ` +
        `Stop the other one, or give this one another OPENPDS_DATA_DIR (or OPENPDS_DATABASE_URL for a PostgreSQL many processes can share). ` +
        `If no such process runs, delete ${file} (a lock not touched for ${LOCK_STALE_MS / 1000} s is taken over by itself).`,
    );
  });
}
