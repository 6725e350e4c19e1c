/**
 * Multipart uploads of the local blob store. One directory per upload:
 *   uploads/<upload id>/upload.json      { key, initiated }
 *   uploads/<upload id>/00001.<md5 hex>  one file per part, named after its number and ETag
 *   uploads/<upload id>/.tmp-…           a part being received
 * A part appears under its final name only by rename after fsync, so a crash or a client abort never
 * leaves a half part that looks complete, and the name alone carries number and ETag (no sidecar that
 * could disagree with the bytes). An upload's directory is made with its record in tmp/ (`.upload-<id>`)
 * and renamed into uploads/, so uploads/ never holds one without its record.
 */
import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  InvalidPartError,
  MAX_PART_NUMBER,
  MAX_PART_SIZE,
  MIN_PART_NUMBER,
  MIN_PART_SIZE,
  UploadNotFoundError,
  type BlobStore,
  type ObjectInfo,
  type UploadedPart,
} from './blob-store';
import { fsyncPath, linkOnto, writeFileAtomically } from './local-files';

type MultipartMethods = Pick<
  BlobStore,
  'createMultipart' | 'putPart' | 'listParts' | 'completeMultipart' | 'abortMultipart' | 'listMultipartUploads'
>;

interface UploadRecord {
  key: string;
  initiated: string;
}

const UPLOAD_ID = /^[0-9a-f]{32}$/;
const PART_FILE = /^(\d{5})\.([0-9a-f]{32})$/;
/** An upload's directory being made in tmp/: `.upload-<upload id>`. */
const STAGING_PREFIX = '.upload-';

export function createLocalMultipart(deps: {
  /** The store's root: missing parents of a completed object are made under it, never it (makeDirsUnder). */
  root: string;
  uploadsDir: string;
  tmpDir: string;
  objectPath: (key: string) => string;
  ensureDirs: () => Promise<unknown>;
  infoOf: (stats: BigIntStats) => ObjectInfo;
}): MultipartMethods & { sweepLeftovers(olderThanMs: number, now?: number): Promise<number> } {
  const { uploadsDir } = deps;
  const uploadDir = (uploadId: string) => {
    if (!UPLOAD_ID.test(uploadId)) throw new UploadNotFoundError(uploadId);
    return path.join(uploadsDir, uploadId);
  };

  /** The upload's directory, after checking it exists and belongs to `key` (S3 answers NoSuchUpload too). */
  async function openUpload(key: string, uploadId: string): Promise<string> {
    const dir = uploadDir(uploadId);
    const record = await readRecord(dir);
    if (record?.key !== key) throw new UploadNotFoundError(uploadId);
    return dir;
  }

  async function readParts(dir: string): Promise<(UploadedPart & { file: string; mtimeNs: bigint })[]> {
    const newest = new Map<number, UploadedPart & { file: string; mtimeNs: bigint }>();
    for (const name of await readdir(dir)) {
      const match = PART_FILE.exec(name);
      if (!match) continue;
      const file = path.join(dir, name);
      const stats = await stat(file, { bigint: true }).catch(() => null); // replaced meanwhile
      if (!stats) continue;
      const part = { partNumber: Number(match[1]), etag: match[2]!, size: Number(stats.size), file, mtimeNs: stats.mtimeNs };
      const seen = newest.get(part.partNumber);
      // Two files for one number exist only briefly while a re-upload replaces a part: the newer wins.
      if (!seen || seen.mtimeNs < part.mtimeNs || (seen.mtimeNs === part.mtimeNs && seen.file < file))
        newest.set(part.partNumber, part);
    }
    return [...newest.values()].sort((a, b) => a.partNumber - b.partNumber);
  }

  return {
    async createMultipart(key) {
      deps.objectPath(key); // validates the key now rather than at completion
      await deps.ensureDirs();
      const uploadId = randomBytes(16).toString('hex');
      // Made in tmp/ and renamed into place with its record: a kill between the mkdir and the record used
      // to leave a directory in uploads/ that no listing shows, so no GC ever removed it.
      const staging = path.join(deps.tmpDir, `${STAGING_PREFIX}${uploadId}`);
      await mkdir(staging);
      try {
        const record: UploadRecord = { key, initiated: new Date().toISOString() };
        await writeFileAtomically(Readable.from([JSON.stringify(record)]), path.join(staging, 'upload.json'), staging);
        await rename(staging, path.join(uploadsDir, uploadId));
      } catch (error) {
        await rm(staging, { recursive: true, force: true });
        throw error;
      }
      await fsyncPath(uploadsDir); // the rename itself
      return uploadId;
    },

    async putPart(key, uploadId, partNumber, body, size) {
      if (!Number.isInteger(partNumber) || partNumber < MIN_PART_NUMBER || partNumber > MAX_PART_NUMBER)
        throw new RangeError(`part number must be an integer from ${MIN_PART_NUMBER} to ${MAX_PART_NUMBER}`);
      const dir = await openUpload(key, uploadId);
      const prefix = String(partNumber).padStart(5, '0');
      // The temp file lives in the upload's directory, so an abort meanwhile removes it too and the
      // final rename fails instead of resurrecting the upload.
      const written = await writeFileAtomically(body, ({ md5 }) => path.join(dir, `${prefix}.${md5}`), dir, {
        expectedSize: size,
        maxSize: MAX_PART_SIZE,
      }).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' && !(await readRecord(dir))) throw new UploadNotFoundError(uploadId);
        throw error;
      });
      const mine = await stat(written.path, { bigint: true });
      for (const name of await readdir(dir)) {
        if (!name.startsWith(`${prefix}.`) || path.join(dir, name) === written.path) continue;
        // Only older copies go: two concurrent uploads of one part must not delete each other.
        const other = await stat(path.join(dir, name), { bigint: true }).catch(() => null);
        if (other && other.mtimeNs < mine.mtimeNs) await rm(path.join(dir, name), { force: true });
      }
      return { partNumber, size: written.size, etag: written.md5 };
    },

    async listParts(key, uploadId) {
      const parts = await readParts(await openUpload(key, uploadId));
      return parts.map(({ partNumber, size, etag }) => ({ partNumber, size, etag }));
    },

    async completeMultipart(key, uploadId, parts) {
      const dir = await openUpload(key, uploadId);
      const uploaded = new Map((await readParts(dir)).map((p) => [p.partNumber, p]));
      const files = checkParts(parts, uploaded).map((p) => p.file);
      const target = deps.objectPath(key);
      const linked = files.length === 1 && (await linkOnto(files[0]!, target, deps.tmpDir, deps.root));
      if (!linked) await writeFileAtomically(Readable.from(concatFiles(files)), target, deps.tmpDir, { createParentUnder: deps.root });
      await rm(dir, { recursive: true, force: true });
      return deps.infoOf(await stat(target, { bigint: true }));
    },

    async abortMultipart(key, uploadId) {
      if (!UPLOAD_ID.test(uploadId)) return;
      const dir = path.join(uploadsDir, uploadId);
      const record = await readRecord(dir);
      if (record && record.key !== key) return; // someone else's upload: "unknown" for this key
      await rm(dir, { recursive: true, force: true });
    },

    async *listMultipartUploads() {
      await deps.ensureDirs();
      for (const uploadId of await readdir(uploadsDir)) {
        if (!UPLOAD_ID.test(uploadId)) continue;
        const record = await readRecord(path.join(uploadsDir, uploadId));
        // A directory without a record (an older version's createMultipart killed halfway, or one being
        // removed) is never listed: sweepLeftovers removes it once old.
        if (record) yield { key: record.key, uploadId, initiated: new Date(record.initiated) };
      }
    },

    /**
     * Removes what killed createMultipart calls left, once unchanged for `olderThanMs` (the GC's grace, far
     * above the milliseconds a create takes): directories still in tmp/, and directories in uploads/ without
     * a record (made by versions that created them in place). Resolves to how many went.
     */
    async sweepLeftovers(olderThanMs, now = Date.now()) {
      const isOld = async (dir: string) => {
        const stats = await lstat(dir).catch(() => null);
        return !!stats?.isDirectory() && now - Math.max(stats.mtimeMs, stats.ctimeMs) >= olderThanMs;
      };
      const leftovers: string[] = [];
      for (const name of await readdirIfAny(deps.tmpDir)) {
        if (name.startsWith(STAGING_PREFIX) && (await isOld(path.join(deps.tmpDir, name)))) leftovers.push(path.join(deps.tmpDir, name));
      }
      for (const name of await readdirIfAny(uploadsDir)) {
        const dir = path.join(uploadsDir, name);
        // An unreadable record is kept: only a missing one marks a leftover.
        if (UPLOAD_ID.test(name) && (await isOld(dir)) && !(await readRecord(dir).catch(() => true))) leftovers.push(dir);
      }
      for (const dir of leftovers) await rm(dir, { recursive: true, force: true });
      return leftovers.length;
    },
  };
}

async function readdirIfAny(dir: string): Promise<string[]> {
  return readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
}

/** The same checks S3 makes at CompleteMultipartUpload (InvalidPart, InvalidPartOrder, EntityTooSmall). */
function checkParts<P extends UploadedPart>(requested: readonly UploadedPart[], uploaded: Map<number, P>): P[] {
  if (requested.length === 0) throw new InvalidPartError('a multipart upload needs at least one part');
  return requested.map((want, i) => {
    const have = uploaded.get(want.partNumber);
    if (i > 0 && want.partNumber <= requested[i - 1]!.partNumber)
      throw new InvalidPartError('parts must be listed in ascending part number order');
    if (!have || have.etag !== want.etag.replace(/"/g, '').toLowerCase())
      throw new InvalidPartError(`part ${want.partNumber} was not uploaded with etag ${want.etag}`);
    if (i < requested.length - 1 && have.size < MIN_PART_SIZE)
      throw new InvalidPartError(`part ${want.partNumber} is ${have.size} bytes; all parts but the last need ${MIN_PART_SIZE}`);
    return have;
  });
}

async function* concatFiles(files: string[]): AsyncGenerator<Buffer> {
  for (const file of files) yield* createReadStream(file) as AsyncIterable<Buffer>;
}

async function readRecord(dir: string): Promise<UploadRecord | null> {
  try {
    return JSON.parse(await readFile(path.join(dir, 'upload.json'), 'utf8')) as UploadRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw error;
  }
}
