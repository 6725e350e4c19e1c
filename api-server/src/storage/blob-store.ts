/**
 * The one storage boundary for bytes. Local disk and S3 implement it and pass one contract suite
 * (blob-store.contract.ts). Keys are opaque strings chosen by the caller ("blobs/…", "uploads/…");
 * implementations add their own prefix. Everything streams: no method buffers a whole object.
 */
import type { Readable } from 'node:stream';

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive (HTTP Range semantics). */
  end: number;
}

export interface ObjectInfo {
  size: number;
  etag?: string;
}

export interface UploadedPart {
  partNumber: number;
  size: number;
  etag: string;
}

export interface DownloadUrlOptions {
  expiresInSeconds: number;
  /** Sent back as Content-Disposition: attachment; filename*=UTF-8''… */
  fileName?: string;
  contentType?: string;
  /** inline (preview) or attachment (download); default attachment. */
  disposition?: 'inline' | 'attachment';
  /**
   * The ETag (bare) the URL's responses carry and compare If-Match, If-None-Match and If-Range with, so
   * that every download path gives one validator for one content. Local disk signs it into the URL (its
   * default is its own inode-based ETag); S3 cannot be told one and always answers with its object's.
   */
  etag?: string;
}

/**
 * A guard around the rename that replaces an object on local disk: it calls `rename` while it holds what
 * must not change meanwhile (the one-part upload URL: its upload session, open, locked against
 * file/complete), or rejects without calling it, which drops the new bytes and leaves the object as it was.
 */
export type RenameWhile = (rename: () => Promise<void>) => Promise<void>;

export interface BlobStore {
  readonly kind: 'local' | 's3';
  /**
   * Streams body to key, replacing any object there. Resolves once the bytes are durable. `replaceWhile`,
   * on local disk, runs the replace of the key (once every byte is durable) inside the caller's guard: a
   * rejection drops the bytes, leaves the key as it was and fails the put with it (the one-part upload
   * URL holds its open upload session locked across the replace, local-blob.routes.ts). S3 ignores it: its
   * uploads go to presigned URLs, never through put.
   */
  put(key: string, body: Readable, options?: { size?: number; contentType?: string; replaceWhile?: RenameWhile }): Promise<ObjectInfo>;
  /** Streams the object, or the inclusive byte range of it. Rejects with BlobNotFoundError. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Size and etag, or null when the key does not exist. */
  head(key: string): Promise<ObjectInfo | null>;
  /**
   * Writes a small object only if the key does not exist yet, atomically: of two concurrent callers one
   * gets true, the other false (S3: PutObject with If-None-Match: *, which radosgw 16 honours with 412;
   * local disk: a hard link, which fails when the name exists). For the storage claim (storage-claim.ts).
   */
  putIfAbsent(key: string, body: Buffer): Promise<boolean>;
  /** Deletes the key; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Copies the object at `from` to `to` (replacing any object there) and resolves to the copy's size and
   * etag; rejects with BlobNotFoundError when `from` does not exist. The copy is a snapshot: a later write
   * to `from` does not reach it (S3: CopyObject; local disk: a hard link, since every write there replaces
   * the file instead of changing it).
   */
  copy(from: string, to: string): Promise<ObjectInfo>;
  /**
   * Every key under a prefix, for GC and tests, with when the object last appeared there (S3:
   * LastModified; local disk: the file's ctime, which a copy's hard link renews).
   */
  list(prefix: string): AsyncIterable<{ key: string; size: number; modifiedAt: Date }>;

  /** Starts a multipart upload that will become `key`; resolves to the store's upload id. */
  createMultipart(key: string): Promise<string>;
  /**
   * A URL the client PUTs one part's bytes to, valid for expiresInSeconds (S3: presigned, local: signed).
   * With `contentLength` the URL takes a body of exactly that many bytes and refuses any other (S3: the
   * content-length header is signed, 403; local disk: 400 InvalidParameter.ContentLength).
   */
  partUploadUrl(key: string, uploadId: string, partNumber: number, expiresInSeconds: number, contentLength?: number): Promise<string>;
  /** Uploads one part through the server (tests, proxies, the local signed-URL route). */
  putPart(key: string, uploadId: string, partNumber: number, body: Readable, size?: number): Promise<UploadedPart>;
  /** Parts uploaded so far, ascending by part number. Rejects with UploadNotFoundError when unknown. */
  listParts(key: string, uploadId: string): Promise<UploadedPart[]>;
  /**
   * Assembles the listed parts, in order, into `key` and ends the upload. Rejects with InvalidPartError
   * (see there) and UploadNotFoundError. Etags may be given with or without S3's quotes.
   */
  completeMultipart(key: string, uploadId: string, parts: readonly UploadedPart[]): Promise<ObjectInfo>;
  /** Drops an upload and its parts; aborting an unknown upload is not an error. */
  abortMultipart(key: string, uploadId: string): Promise<void>;
  /** Multipart uploads still open (for GC of abandoned sessions). */
  listMultipartUploads(): AsyncIterable<{ key: string; uploadId: string; initiated?: Date }>;

  /**
   * A URL the client PUTs a whole object's bytes to (S3: a presigned PutObject; local disk: a signed URL),
   * for uploads of one part: no multipart upload to open, list and assemble. Unlike a part URL it keeps
   * working after the upload completes, until it expires: whoever holds it can replace the object, so
   * content that others may share never stays at that key (see blob-hashing.ts, sealed copies).
   * `contentLength` holds the body to exactly that many bytes, as for partUploadUrl.
   */
  objectUploadUrl?(key: string, expiresInSeconds: number, contentLength?: number): Promise<string>;
  /** A URL that serves the object (with Range support) until it expires. */
  downloadUrl(key: string, options: DownloadUrlOptions): Promise<string>;
  /** Cheap check that the store is reachable (for /readyz). */
  ping(): Promise<void>;
}

export class BlobNotFoundError extends Error {
  override name = 'BlobNotFoundError';
  constructor(readonly key: string) {
    super(`blob not found: ${key}`);
  }
}

export class UploadNotFoundError extends Error {
  override name = 'UploadNotFoundError';
  constructor(readonly uploadId: string) {
    super(`multipart upload not found: ${uploadId}`);
  }
}

/**
 * completeMultipart was given a part that was not uploaded, a wrong etag, parts out of order, or a part
 * other than the last one smaller than MIN_PART_SIZE (S3's InvalidPart, InvalidPartOrder, EntityTooSmall).
 */
export class InvalidPartError extends Error {
  override name = 'InvalidPartError';
}

/** S3's limits, which both stores enforce so behaviour is the same everywhere. */
export const MIN_PART_NUMBER = 1;
export const MAX_PART_NUMBER = 10_000;
/** Every part but the last must be at least this big (checked at completeMultipart, as S3 does). */
export const MIN_PART_SIZE = 5 * 1024 ** 2;
export const MAX_PART_SIZE = 5 * 1024 ** 3;
