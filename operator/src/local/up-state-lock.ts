/**
 * One `openpds up` per state dir. Two at once each ran their own data planes over the same PGlite files
 * (the second failed on the database's lock and retried forever, logging the whole error every pass)
 * while both rewrote drives.json and status.json, each undoing the other's bookkeeping. A lock file in
 * the state dir (`<state>/up.lock`) keeps the second out before it starts anything: the one lock file of
 * the data plane's data dirs (api-server/src/shared/lock-file.ts: host, pid, heartbeat, taken over only
 * from a holder surely gone), here also naming the holder's manifests folder.
 */
import path from 'node:path';
import { LOCK_STALE_MS, takeLockFile } from '../../../api-server/src/shared/lock-file';

export const STALE_MS = LOCK_STALE_MS;

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
  return takeLockFile(file, { folder: path.resolve(folder) }, (holder) => {
    const held = typeof holder?.folder === 'string' ? `, -f ${holder.folder}` : '';
    const who = holder ? `openpds up (pid ${holder.pid} on ${holder.host}${held})` : 'another openpds up';
    return new StateDirBusyError(
      `the state dir ${dir} is in use by ${who}: stop that one first, or give this one another --state-dir. ` +
        `If it no longer runs, delete ${file} (a lock not touched for ${STALE_MS / 1000} s is taken over by itself).`,
    );
  });
}
