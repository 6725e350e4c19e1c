/**
 * The local store's root going away under a running server: the data dir moved or removed (`openpds up`'s
 * state dir moved, a volume unmounted). The store made its directories with `mkdir -p` on first use, so it
 * made the whole path again at the old place: an empty store where the data had been, taking new writes
 * (the data split in two). Now the root is made only when its parent exists (the start makes the data dir),
 * and an operation that finds nothing where the root was fails with LocalStoreGoneError.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../shared/errors';
import { BlobNotFoundError, UploadNotFoundError } from './blob-store';

/**
 * 503 ServiceUnavailable, the answer of every blob store outage (error-middleware.ts): no retry succeeds
 * until an administrator puts the data dir back, and then the store works again without a restart. The body
 * names no path; `root` is for the log (readiness logs the failed ping with it) and the message of `cause`.
 */
export class LocalStoreGoneError extends AppError {
  constructor(
    readonly root: string,
    cause: unknown,
  ) {
    super('ServiceUnavailable', 503, 'the blob store is unavailable: its directory is gone (moved or removed while the server ran); ask an administrator', {
      cause,
      headers: { 'Retry-After': '5' },
    });
  }
}

/** What a missing root shows up as: a missing path, or a key or upload that is not there. */
function lookedMissing(error: unknown): boolean {
  if (error instanceof BlobNotFoundError || error instanceof UploadNotFoundError) return true;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Whether `dir` is missing: its path, or a level of it, not there. Any other stat failure is not this. */
const isMissingDir = (dir: string) =>
  stat(dir).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ENOENT' || error.code === 'ENOTDIR',
  );

/** Whether `dir` is a directory now (false when missing, or something else is at its path). */
const isDir = (dir: string) =>
  stat(dir).then(
    (stats) => stats.isDirectory(),
    () => false,
  );

export function createRootGuard(root: string) {
  // Before first use a missing root under a data dir that exists is a new, empty store, made at the first
  // write. Once the root has been there as a directory (made, or found), its absence is its going away. A
  // file at its path (a mistake an administrator removes) is not a store: removed, the root is made.
  let seen = false;
  const isGone = async () => {
    if (!(await isMissingDir(root))) {
      if (!seen && (await isDir(root))) seen = true;
      return false;
    }
    return seen || isMissingDir(path.dirname(root));
  };
  const gone = (cause: unknown) => new LocalStoreGoneError(root, cause);
  return {
    /** The root is there (ensureDirs made or found it). */
    markSeen(): void {
      seen = true;
    },
    /**
     * Where directories may be made from: the root's parent until the root has been seen (a new store),
     * then only below the root, so a root gone later is never made again, even by a retried ensureDirs.
     */
    makeUnder(): string {
      return seen ? root : path.dirname(root);
    },
    isGone,
    /** Throws LocalStoreGoneError when the root is gone; for answers of "nothing there" (head's null, a listing). */
    async assertThere(): Promise<void> {
      if (await isGone()) throw gone(new Error(`${root} is gone`));
    },
    /** Rethrows `error`, as LocalStoreGoneError when it was something missing and the root is what is. */
    async explain(error: unknown): Promise<never> {
      if (lookedMissing(error) && (await isGone())) throw gone(error);
      throw error;
    },
  };
}
