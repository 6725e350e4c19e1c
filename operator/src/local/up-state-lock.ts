/**
 * One run at a time per state dir. Two `openpds up` at once each ran their own data planes over the same
 * PGlite files (the second failed on the database's lock and retried forever, logging the whole error
 * every pass) while both rewrote drives.json and status.json, each undoing the other's bookkeeping. An
 * `openpds apply --state` beside a running `up` raced the same way: both reconciled the same Drives through
 * the same data planes (two creates of one drive), and apply's prunes and releases bypassed up's grace and
 * its records. A lock file in the state dir (`<state>/up.lock`) keeps the second out before it starts
 * anything: the one lock file of the data plane's data dirs (api-server/src/shared/lock-file.ts: host, pid,
 * heartbeat, taken over only from a holder surely gone), here also naming the holder's command and
 * manifests folder. `plan --state` does not wait for it: see plan-state.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LOCK_STALE_MS, lockFileProblem, takeLockFile, type LockHolder } from '../../../api-server/src/shared/lock-file';
import { describeErrno, StateDirError } from './state-dir';

export const STALE_MS = LOCK_STALE_MS;

/** The commands that hold a state dir: `up` for its life, `apply` and `plan` for one run. */
export type StateCommand = 'up' | 'apply' | 'plan';

/** Why a state dir cannot be taken: said as one line. `holder` is who holds it, when the lock could be read. */
export class StateDirBusyError extends Error {
  override name = 'StateDirBusyError';
  constructor(
    message: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(message);
  }
}

export function stateLockFile(stateDir: string): string {
  return path.join(path.resolve(stateDir), 'up.lock');
}

/** `openpds up (pid 12 on host, -f /work/upA)`: the holder as its lock records it. */
export function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return 'another openpds up';
  const held = typeof holder.folder === 'string' ? `, -f ${holder.folder}` : '';
  return `openpds ${typeof holder.command === 'string' ? holder.command : 'up'} (pid ${holder.pid} on ${holder.host}${held})`;
}

/**
 * Takes the lock of `stateDir` for a run of `command` over `folder`; the function returned releases it.
 * Throws StateDirBusyError when it is held; `hint` says what to do about it (default: up's words).
 */
export function lockStateDir(stateDir: string, folder: string, options: { command?: StateCommand; hint?: string; onLost?: (problem: string) => void } = {}): () => void {
  const dir = path.resolve(stateDir);
  const file = stateLockFile(dir);
  const command = options.command ?? 'up';
  const hint = options.hint ?? 'stop that one first, or give this one another --state-dir.';
  // `up` writes no command, as before: a lock without one is an up's (an older release's, too).
  const extra = { ...(command === 'up' ? {} : { command }), folder: path.resolve(folder) };
  // The owner's only: it holds the Domains' databases, blobs and admin passwords. (An existing one keeps
  // its mode: the user may have chosen it; below it, state-dir.ts makes `up/` the owner's only too.)
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    return takeLockFile(
      file,
      extra,
      (holder) =>
        new StateDirBusyError(
          `the state dir ${dir} is in use by ${describeHolder(holder)}: ${hint} ` +
            `If it no longer runs, delete ${file} (a lock not touched for ${STALE_MS / 1000} s is taken over by itself).`,
          holder,
        ),
      options.onLost ? { onLost: options.onLost } : {},
    );
  } catch (error) {
    if (error instanceof StateDirBusyError || !(error as NodeJS.ErrnoException).code) throw error;
    // One line, not a stack: a --state-dir naming a file, a folder of another user, a read-only mount.
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? `${dir} (or a folder above it) is a file, not a folder` : `${describeErrno(error)}; it must be a folder this user can write`;
    throw new StateDirError(`cannot use ${dir} as the state dir: ${why} (give another with ${options.command === undefined || options.command === 'up' ? '--state-dir' : '--state'})`);
  }
}

/**
 * Why the run no longer holds the state dir it locked (undefined while it does): the state dir (and its
 * lock with it) was deleted or moved, or the lock replaced. `up` then stops: its data planes' files went
 * with the dir, and going on re-created an empty Domain at the same URL.
 */
export function stateLockProblem(stateDir: string): string | undefined {
  return lockFileProblem(stateLockFile(stateDir));
}
