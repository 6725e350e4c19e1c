/**
 * BlobStore on local disk (the embedded default). Layout under root:
 *   objects/<key>                 one file per object, replaced atomically by rename
 *   uploads/<upload id>/…         multipart uploads (see local-multipart.ts)
 *   tmp/                          temp files; same file system as objects/ so rename is atomic
 * Part upload, object upload and download URLs are HMAC-signed URLs served by local-blob.routes.ts.
 */
import type { BigIntStats } from 'node:fs';
import { createReadStream } from 'node:fs';
import { open, opendir, rm, stat, access, constants } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { UrlSigner } from '../shared/url-signer';
import { BlobNotFoundError, type BlobStore, type ByteRange, type ObjectInfo } from './blob-store';
import { createFileExclusively, keyToPath, linkOnto, makeDirsUnder, sweepTempFiles, writeFileAtomically } from './local-files';
import { createLocalMultipart } from './local-multipart';
import { createRootGuard } from './local-root';

/** Paths of the routes in local-blob.routes.ts; the signature covers them. */
export const LOCAL_PART_PATH = '/v2/blob/part';
export const LOCAL_OBJECT_PATH = '/v2/blob/object';
/** PUT of a whole object (objectUploadUrl): its own path, so a part or download URL never opens it. */
export const LOCAL_OBJECT_UPLOAD_PATH = '/v2/blob/object_upload';

/** Unset tempMaxAgeMs: a day, the GC's default grace (create-blob-store.ts passes the configured one). */
const TEMP_MAX_AGE_MS = 86_400_000;

export function createLocalBlobStore(options: {
  root: string;
  signer: UrlSigner;
  /**
   * Temp files and half-created uploads unchanged for this long are a crashed process's and go when the
   * store is first used and on every GC run (see sweepTemp). The GC's grace, which is above the longest
   * upload: no live write is that old.
   */
  tempMaxAgeMs?: number;
}): BlobStore & { sweepTemp(olderThanMs: number): Promise<number> } {
  const { signer } = options;
  const root = path.resolve(options.root);
  const dirs = { objects: path.join(root, 'objects'), uploads: path.join(root, 'uploads'), tmp: path.join(root, 'tmp') };
  const tempMaxAgeMs = options.tempMaxAgeMs ?? TEMP_MAX_AGE_MS;
  const rootGuard = createRootGuard(root);
  /**
   * Deletes what a crash (kill -9, power loss) left mid-write: temp files (local-files.ts sweepTempFiles)
   * and half-created multipart uploads (local-multipart.ts sweepLeftovers); how many went.
   */
  const sweepTemp = async (olderThanMs: number) => (await sweepTempFiles(dirs.tmp, olderThanMs)) + (await sweepUploadLeftovers(olderThanMs));
  let ready: Promise<unknown> | undefined;
  // A failure is not remembered: a volume mounted late or fixed by hand is used once it works.
  // Once the directories are there, the leftovers of a crash go. Best effort: a sweep that fails leaves
  // them to a later one, and the store works meanwhile. The root is made only under a parent that exists
  // (local-root.ts): a data dir moved away is not made again, empty, where it was.
  const ensureDirs = () =>
    (ready ??= Promise.all(Object.values(dirs).map((d) => makeDirsUnder(rootGuard.makeUnder(), d)))
      .then(() => rootGuard.markSeen())
      .then(() => sweepTemp(tempMaxAgeMs).catch(() => 0))
      .catch((error: unknown) => {
        ready = undefined;
        throw error;
      }));
  const objectPath = (key: string) => keyToPath(dirs.objects, key);

  const { sweepLeftovers: sweepUploadLeftovers, ...multipart } = createLocalMultipart({ root, uploadsDir: dirs.uploads, tmpDir: dirs.tmp, objectPath, ensureDirs, infoOf });

  return guardRoot(rootGuard, {
    kind: 'local',
    sweepTemp,

    async put(key, body, opts) {
      const target = objectPath(key);
      await ensureDirs();
      await writeFileAtomically(body, target, dirs.tmp, { expectedSize: opts?.size, createParentUnder: root, renameWhile: opts?.replaceWhile });
      return infoOf(await stat(target, { bigint: true }));
    },

    async get(key, range) {
      const file = objectPath(key);
      const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
        throw isMissing(error) ? new BlobNotFoundError(key) : error;
      });
      try {
        const stats = await handle.stat();
        // A key that names a directory ("blobs" when "blobs/x" exists) is not an object.
        if (!stats.isFile()) throw new BlobNotFoundError(key);
        return handle.createReadStream(range ? clampRange(range, stats.size) : {});
      } catch (error) {
        await handle.close();
        throw error;
      }
    },

    async head(key) {
      const stats = await stat(objectPath(key), { bigint: true }).catch(async (error: NodeJS.ErrnoException) => {
        if (!isMissing(error)) throw error;
        await rootGuard.assertThere(); // the key is missing, or the whole store is
        return null;
      });
      return stats?.isFile() ? infoOf(stats) : null;
    },

    async copy(from, to) {
      const source = objectPath(from);
      const target = objectPath(to);
      await ensureDirs();
      let linked: boolean;
      try {
        linked = await linkOnto(source, target, dirs.tmp, root);
      } catch (error) {
        if (isMissing(error as NodeJS.ErrnoException)) throw new BlobNotFoundError(from);
        throw error;
      }
      if (!linked) await writeFileAtomically(createReadStream(source), target, dirs.tmp, { createParentUnder: root });
      return infoOf(await stat(target, { bigint: true }));
    },

    async putIfAbsent(key, body) {
      const target = objectPath(key);
      await ensureDirs();
      return createFileExclusively(target, body, dirs.tmp, root);
    },

    async delete(key) {
      // Empty parent directories are left behind on purpose: removing them races with a concurrent put
      // that has just created the directory and is about to rename its temp file into it. A missing key is
      // no error, a missing store is.
      await rm(objectPath(key)).catch(async (error: NodeJS.ErrnoException) => {
        if (!isMissing(error)) throw error;
        await rootGuard.assertThere();
      });
    },

    async *list(prefix) {
      const slash = prefix.lastIndexOf('/');
      // keyToPath refuses "..", so a prefix cannot walk out of the store.
      const base = slash < 0 ? dirs.objects : keyToPath(dirs.objects, prefix.slice(0, slash));
      const basePrefix = slash < 0 ? '' : prefix.slice(0, slash + 1);
      for await (const entry of walk(base, basePrefix)) if (entry.key.startsWith(prefix)) yield entry;
    },

    ...multipart,

    async *listMultipartUploads() {
      // The blob GC lists the uploads on every run (blob-gc.service.ts): the local store sweeps its crash
      // leftovers then too. Swept only at start, those of a crash stayed for as long as the restarted
      // process ran (they were younger than the grace at that start); the GC has no other way to reach them.
      await ensureDirs();
      await sweepTemp(tempMaxAgeMs).catch(() => 0);
      yield* multipart.listMultipartUploads();
    },

    async partUploadUrl(key, uploadId, partNumber, expiresInSeconds, contentLength) {
      const params = { key, upload_id: uploadId, part_number: String(partNumber), ...sizeParam(contentLength) };
      return signer.sign('PUT', LOCAL_PART_PATH, params, expiresInSeconds);
    },

    async objectUploadUrl(key, expiresInSeconds, contentLength) {
      objectPath(key); // refuses a bad key now, as createMultipart does, not when the client PUTs
      return signer.sign('PUT', LOCAL_OBJECT_UPLOAD_PATH, { key, ...sizeParam(contentLength) }, expiresInSeconds);
    },

    async downloadUrl(key, opts) {
      const params: Record<string, string> = { key, disposition: opts.disposition ?? 'attachment' };
      if (opts.fileName !== undefined) params.name = opts.fileName;
      if (opts.contentType !== undefined) params.type = opts.contentType;
      if (opts.etag !== undefined) params.etag = opts.etag;
      return signer.sign('GET', LOCAL_OBJECT_PATH, params, opts.expiresInSeconds);
    },

    async ping() {
      await ensureDirs();
      await access(dirs.tmp, constants.W_OK);
    },
  });
}

type LocalBlobStore = BlobStore & { sweepTemp(olderThanMs: number): Promise<number> };

/**
 * Every operation that touches the disk, failing with LocalStoreGoneError when the root has gone: one that
 * fails on something missing (a key, an upload, a directory), and one that answers "nothing there" whose
 * root is gone (a listing, an abort; head and delete look themselves). A store whose data dir was moved
 * answered 404 for every file and an empty listing; now the one error says what happened. One stat of the
 * root, on those answers only (and on each listing and abort, which are rare).
 *
 * Each member is named here, none spread from `store`, and `satisfies` wants every key of the store,
 * optional ones too: a method added to BlobStore does not compile until it is guarded here or said to touch
 * no disk. Spread, it passed through unguarded. local-root.int.test.ts calls each one with the root gone.
 */
function guardRoot(guard: ReturnType<typeof createRootGuard>, store: LocalBlobStore): LocalBlobStore {
  const guarded = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => (...args: A) => fn(...args).catch(guard.explain);
  async function* guardedList<T>(items: () => AsyncIterable<T>): AsyncGenerator<T> {
    await guard.assertThere(); // a listing of a missing root is otherwise empty
    try {
      yield* items();
    } catch (error) {
      await guard.explain(error);
    }
  }
  return {
    kind: store.kind,
    put: guarded(store.put),
    get: guarded(store.get),
    head: guarded(store.head),
    copy: guarded(store.copy),
    putIfAbsent: guarded(store.putIfAbsent),
    delete: guarded(store.delete),
    list: (prefix) => guardedList(() => store.list(prefix)),
    createMultipart: guarded(store.createMultipart),
    putPart: guarded(store.putPart),
    listParts: guarded(store.listParts),
    completeMultipart: guarded(store.completeMultipart),
    abortMultipart: guarded(async (key: string, uploadId: string) => {
      await store.abortMultipart(key, uploadId);
      await guard.assertThere();
    }),
    listMultipartUploads: () => guardedList(() => store.listMultipartUploads()),
    ping: guarded(store.ping),
    // Touch no disk: they sign a URL, and the route that serves it (local-blob.routes.ts) goes through the
    // guarded methods when the URL is used.
    partUploadUrl: store.partUploadUrl,
    objectUploadUrl: store.objectUploadUrl,
    downloadUrl: store.downloadUrl,
    // Best effort (ensureDirs and the GC's listing ignore its failures): a gone root has nothing to sweep.
    sweepTemp: store.sweepTemp,
  } satisfies LocalBlobStore & Record<keyof LocalBlobStore, unknown>;
}

/** The signed `size` of an upload URL: local-blob.routes.ts takes a body of exactly that many bytes. */
function sizeParam(contentLength: number | undefined): { size?: string } {
  return contentLength === undefined ? {} : { size: String(contentLength) };
}

/**
 * The local ETag is derived from the inode, size and nanosecond mtime: every put creates a new file,
 * so it changes whenever the bytes may have, without hashing the file on each head().
 */
function infoOf(stats: BigIntStats): ObjectInfo {
  return { size: Number(stats.size), etag: [stats.ino, stats.size, stats.mtimeNs].map((n) => n.toString(16)).join('-') };
}

/** S3 semantics: an end past the object is clamped; a start past it is unsatisfiable. */
function clampRange(range: ByteRange, size: number): ByteRange {
  if (range.start < 0 || range.end < range.start || range.start >= size)
    throw new RangeError(`range ${range.start}-${range.end} not satisfiable for ${size} bytes`);
  return { start: range.start, end: Math.min(range.end, size - 1) };
}

async function* walk(dir: string, keyPrefix: string): AsyncGenerator<{ key: string; size: number; modifiedAt: Date }> {
  const entries = await opendir(dir).catch((error: NodeJS.ErrnoException) => {
    if (isMissing(error)) return null;
    throw error;
  });
  if (!entries) return;
  for await (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full, `${keyPrefix}${entry.name}/`);
    if (!entry.isFile()) continue;
    const stats = await stat(full).catch(() => null); // deleted meanwhile
    if (stats) yield { key: keyPrefix + entry.name, size: stats.size, modifiedAt: stats.ctime };
  }
}

export function isMissing(error: NodeJS.ErrnoException): boolean {
  return error.code === 'ENOENT' || error.code === 'ENOTDIR';
}
