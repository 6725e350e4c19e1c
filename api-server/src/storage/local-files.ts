/**
 * File-system helpers of the local blob store: safe key → path mapping and crash-safe writes
 * (temp file in the same file system, fsync, rename, fsync of the directory).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, lstat, mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RenameWhile } from './blob-store';

/**
 * Keys are opaque to callers but become paths here, so anything that could leave the root or alias
 * another key ("a//b", "./a", "a/../b", absolute paths, NUL) is refused.
 */
export function keyToPath(root: string, key: string): string {
  const segments = key.split('/');
  const bad = key === '' || key.includes('\0') || key.includes('\\') || segments.some((s) => s === '' || s === '.' || s === '..');
  if (bad) throw new RangeError(`invalid blob key: ${JSON.stringify(key)}`);
  return path.join(root, ...segments);
}

/**
 * `mkdir -p dir`, making no level at or above `base` (the store's root): when base is gone (the data dir
 * moved or removed under a running server) it rejects with ENOENT. Node's recursive mkdir made the whole
 * chain again at the old place, an empty store there that took the writes: the data split in two.
 */
export async function makeDirsUnder(base: string, dir: string): Promise<void> {
  const relative = path.relative(base, dir);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) throw new RangeError(`${dir} is not under ${base}`);
  try {
    await mkdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT' || path.dirname(dir) === base) throw error;
    await makeDirsUnder(base, path.dirname(dir));
    await mkdir(dir).catch((again: NodeJS.ErrnoException) => {
      if (again.code !== 'EEXIST') throw again; // EEXIST: made meanwhile by a concurrent write
    });
  }
}

export interface WrittenFile {
  size: number;
  md5: string;
}

/**
 * Streams `source` into a temp file under tmpDir and renames it to `target` once the bytes are on disk,
 * so readers see either the old file or the whole new one, never a prefix, even after a crash.
 * On any error (including the source being destroyed mid-stream) the temp file is removed.
 * `target` may be computed from the written bytes (part files are named after their MD5). Its missing
 * parent directories are made when `createParentUnder` names a directory above them (makeDirsUnder).
 * `renameWhile`, once every byte is durable, runs the rename onto `target` inside a guard of the caller's
 * (RenameWhile).
 */
export async function writeFileAtomically(
  source: Readable,
  target: string | ((written: WrittenFile) => string),
  tmpDir: string,
  options: { expectedSize?: number; maxSize?: number; createParentUnder?: string; renameWhile?: RenameWhile } = {},
): Promise<WrittenFile & { path: string }> {
  const tmp = path.join(tmpDir, `${TEMP_PREFIX}${randomBytes(12).toString('hex')}`);
  const counter = new CountingHash(options);
  let written: WrittenFile;
  let final: string;
  try {
    await pipeline(source, counter, createWriteStream(tmp, { flags: 'wx' }));
    await fsyncPath(tmp);
    written = { size: counter.size, md5: counter.md5() };
    final = typeof target === 'string' ? target : target(written);
    if (options.createParentUnder !== undefined) await makeDirsUnder(options.createParentUnder, path.dirname(final));
    const replace = () => rename(tmp, final);
    if (options.renameWhile) {
      let renamed = false;
      await options.renameWhile(async () => {
        await replace();
        renamed = true;
      });
      // Resolved without renaming: a guard that refuses must reject (the temp file is then removed).
      if (!renamed) throw new Error('writeFileAtomically: renameWhile resolved without renaming');
    } else {
      await replace();
    }
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  // The rename itself is only durable once the directory entry is flushed.
  await fsyncPath(path.dirname(final));
  return { ...written, path: final };
}

/** Names of the temp files this module writes; nothing else lives in a tmp dir. */
const TEMP_PREFIX = '.tmp-';

/**
 * Deletes the temp files in tmpDir that have not changed for `olderThanMs`: the ones a crash (SIGKILL,
 * power loss) left behind mid-write, which nothing else ever removes. Age is the inode's ctime, which every
 * write and link() renews, so a live write (bytes flowing) or a hard link being renamed into place
 * (linkOnto: its mtime is the old source's) is never taken; the caller picks an age no live write can reach.
 * Resolves to how many went; a file that vanished meanwhile is no error, a missing tmpDir neither.
 */
export async function sweepTempFiles(tmpDir: string, olderThanMs: number, now = Date.now()): Promise<number> {
  const names = await readdir(tmpDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  let removed = 0;
  for (const name of names) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const file = path.join(tmpDir, name);
    const stats = await lstat(file).catch(() => null);
    if (!stats?.isFile() || now - stats.ctimeMs < olderThanMs) continue;
    await rm(file, { force: true });
    removed++;
  }
  return removed;
}

export async function fsyncPath(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Thrown when a body is longer or shorter than the size the caller announced or allowed. */
export class BodySizeError extends Error {
  override name = 'BodySizeError';
}

/** Passes bytes through while counting them and hashing them with MD5 (S3's ETag of a part). */
class CountingHash extends Transform {
  size = 0;
  private readonly hash = createHash('md5');

  constructor(private readonly limits: { expectedSize?: number; maxSize?: number }) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    const max = Math.min(this.limits.maxSize ?? Infinity, this.limits.expectedSize ?? Infinity);
    if (this.size > max) return callback(new BodySizeError(`body is larger than ${max} bytes`));
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const expected = this.limits.expectedSize;
    if (expected !== undefined && this.size !== expected)
      return callback(new BodySizeError(`body has ${this.size} bytes, ${expected} were announced`));
    callback();
  }

  md5(): string {
    return this.hash.digest('hex');
  }
}

/**
 * Gives `target` the bytes of `source` without copying them: `source` is hard-linked to a temp name and
 * that is renamed onto the target (atomic replace; `source` must already be durable). `source` keeps its
 * name: a one-part upload's part stays listed until its upload directory goes, so a completion that
 * crashes in between finds the upload whole and redoes this. Since every write here replaces a file
 * instead of changing it, the target is a snapshot: a later write to `source` does not reach it. False
 * when the file system has no hard links (the caller copies instead). The target's missing parents are
 * made under `base` (makeDirsUnder).
 */
export async function linkOnto(source: string, target: string, tmpDir: string, base: string): Promise<boolean> {
  const tmp = path.join(tmpDir, `${TEMP_PREFIX}${randomBytes(12).toString('hex')}`);
  try {
    await link(source, tmp);
  } catch (error) {
    if (NO_HARD_LINKS.has((error as NodeJS.ErrnoException).code ?? '')) return false;
    throw error;
  }
  try {
    await makeDirsUnder(base, path.dirname(target));
    await rename(tmp, target);
  } finally {
    // rename() of two links to one inode (a retry after a crash that had already renamed) succeeds and
    // leaves tmp in place.
    await rm(tmp, { force: true });
  }
  await fsyncPath(path.dirname(target));
  return true;
}

/** link(2) errors of file systems without hard links (FAT, some FUSE and network mounts). */
/**
 * Creates `target` with `bytes` unless it exists; false when it does. The bytes go to a durable temp file
 * first and are hard-linked to the name (link() fails with EEXIST, atomically), so a crash never leaves a
 * half-written target. Without hard links: an exclusive create (O_EXCL), still atomic against a rival.
 * The target's missing parents are made under `base` (makeDirsUnder).
 */
export async function createFileExclusively(target: string, bytes: Buffer, tmpDir: string, base: string): Promise<boolean> {
  await makeDirsUnder(base, path.dirname(target));
  const tmp = path.join(tmpDir, `${TEMP_PREFIX}${randomBytes(12).toString('hex')}`);
  try {
    await writeFile(tmp, bytes, { flag: 'wx' });
    await fsyncPath(tmp);
    await link(tmp, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(code)) throw error;
    try {
      await writeFile(target, bytes, { flag: 'wx' });
    } catch (fallbackError) {
      if ((fallbackError as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw fallbackError;
    }
  } finally {
    await rm(tmp, { force: true });
  }
  await fsyncPath(path.dirname(target));
  return true;
}

const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);
