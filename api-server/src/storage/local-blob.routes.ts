/**
 * The routes behind the local store's signed URLs (S3 serves its presigned URLs itself):
 *   PUT /v2/blob/part?key=&upload_id=&part_number=[&size=]&expires=&signature=     one part's bytes
 *   PUT /v2/blob/object_upload?key=[&size=]&expires=&signature=                    a whole object (one-part uploads)
 *   GET /v2/blob/object?key=&name=&type=&disposition=&etag=&expires=&signature=  the object, with Range
 * The signature is the only authorization: these URLs are handed to clients by file/create and
 * file/get_download_url, which did the access checks. A signed `size` takes a body of exactly that many
 * bytes, as S3 does for a URL that signs content-length: what the upload declared bounds what it stores.
 */
import { Router, type Request } from 'express';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, badRequest, conflict, forbidden, invalidParameter, notFound } from '../shared/errors';
import type { UrlSigner } from '../shared/url-signer';
import { MAX_PART_NUMBER, MIN_PART_NUMBER, UploadNotFoundError, type BlobStore } from './blob-store';
import { serveObject } from './serve-object';
import { BodySizeError } from './local-files';
import { LOCAL_OBJECT_PATH, LOCAL_OBJECT_UPLOAD_PATH, LOCAL_PART_PATH } from './local.blob-store';

export interface LocalBlobRouterDeps {
  store: BlobStore;
  signer: UrlSigner;
  maxPartSize: number;
  /**
   * Whether a one-part upload at this key still takes bytes (its session is open). Once completed, what a
   * file or a download link serves must not change under it, so a still unexpired upload URL is refused
   * (409). Without it (the store's own tests) every validly signed PUT is taken.
   */
  objectUploadOpen?: (key: string) => Promise<boolean>;
  /**
   * Runs `replace` (the PUT's rename onto the key) while the one-part upload at this key is open and held
   * so (its session row locked against file/complete's claim), and resolves true; false, without running
   * it, when the upload is no longer open.
   */
  whileObjectUploadOpen?: (key: string, replace: () => Promise<void>) => Promise<boolean>;
}

export function createLocalBlobRouter(deps: LocalBlobRouterDeps): Router {
  const { store, signer, maxPartSize } = deps;
  const router = Router();

  router.put(LOCAL_PART_PATH, async (req, res) => {
    const query = verifiedQuery(signer, 'PUT', LOCAL_PART_PATH, req);
    const partNumber = Number(query.part_number);
    if (!Number.isInteger(partNumber) || partNumber < MIN_PART_NUMBER || partNumber > MAX_PART_NUMBER)
      throw invalidParameter('part_number', `part_number must be an integer from ${MIN_PART_NUMBER} to ${MAX_PART_NUMBER}`);
    const body = limitedBody(req, maxPartSize, signedSize(query));
    const part = await store.putPart(query.key!, query.upload_id!, partNumber, body.stream, body.declared).catch((error: unknown) => {
      if (error instanceof UploadNotFoundError) throw notFound('Upload', 'the multipart upload does not exist or has ended');
      throw bodyError(error, maxPartSize);
    });
    res.setHeader('ETag', `"${part.etag}"`);
    res.status(200).end();
  });

  // A one-part upload's whole object, held to the same limit as a part (S3's PutObject allows 5 GiB, as
  // UploadPart does). store.put writes a temp file and renames it onto the key once fsynced, so an abort
  // leaves no object and a second PUT replaces the first, as on S3.
  router.put(LOCAL_OBJECT_UPLOAD_PATH, async (req, res) => {
    const query = verifiedQuery(signer, 'PUT', LOCAL_OBJECT_UPLOAD_PATH, req);
    const uploadCompleted = () => conflict('UploadCompleted', 'this upload is complete (or gone): its URL takes no more bytes');
    if (deps.objectUploadOpen && !(await deps.objectUploadOpen(query.key!))) throw uploadCompleted();
    // Checked again once the body is in, and held across the replace: a file/complete while the body was
    // still arriving completed the object as it was, and this PUT then replaced it after the 200, so the
    // completed file answered 409 ContentReplaced for good (red team). A check just before the rename
    // still left the moment between the two; the session row is now locked from the check through the
    // rename, so a complete claims the upload either before (this PUT is refused, keeping what was
    // completed) or after (it completes these bytes). (An UploadNotFoundError, so the store's error
    // counter does not count it.)
    const whileOpen = deps.whileObjectUploadOpen;
    const replaceWhile = whileOpen
      ? async (replace: () => Promise<void>) => {
          if (!(await whileOpen(query.key!, replace))) throw new UploadNotFoundError(query.key!);
        }
      : undefined;
    const body = limitedBody(req, maxPartSize, signedSize(query));
    const info = await store.put(query.key!, body.stream, { size: body.declared, ...(replaceWhile ? { replaceWhile } : {}) }).catch((error: unknown) => {
      if (error instanceof UploadNotFoundError) throw uploadCompleted();
      throw bodyError(error, maxPartSize);
    });
    // The object's own ETag (what head() and downloads report), as S3's PutObject answers the object's.
    res.setHeader('ETag', `"${info.etag}"`);
    res.status(200).end();
  });

  // Express routes HEAD to GET handlers too; the URL was signed for GET either way.
  router.get(LOCAL_OBJECT_PATH, async (req, res) => {
    const query = verifiedQuery(signer, 'GET', LOCAL_OBJECT_PATH, req);
    const info = await store.head(query.key!);
    if (!info) throw notFound('File', 'the file does not exist');
    await serveObject(req, res, store, {
      key: query.key!,
      size: info.size,
      // The revision's ETag that file/download gives too, signed in by get_download_url; a URL signed
      // without one (older, or a test's) has the store's own.
      etag: query.etag || info.etag || '',
      contentType: query.type,
      fileName: query.name,
      disposition: query.disposition === 'inline' ? 'inline' : 'attachment',
    });
  });

  return router;
}

function verifiedQuery(signer: UrlSigner, method: string, path: string, req: Request): Record<string, string | undefined> {
  const query = req.query as Record<string, unknown>;
  const verdict = signer.verify(method, path, query);
  if (verdict === 'expired') throw forbidden('UrlExpired', 'this URL has expired; ask for a new one');
  if (verdict === 'invalid') throw forbidden('InvalidSignature', 'the URL signature does not match');
  // Signed parameters are plain strings: verify() refuses a repeated or bracketed one.
  return query as Record<string, string | undefined>;
}

/** The exact body length the URL was signed for, if any (a number: the signature covers it). */
function signedSize(query: Record<string, string | undefined>): number | undefined {
  return query.size === undefined ? undefined : Number(query.size);
}

/**
 * The request body, failing as soon as it passes `max` bytes. An announced length over `max` is refused
 * before a byte is read; a chunked body is counted on the way. With `exact` (the URL's signed size) an
 * announced length other than it is refused before a byte is read, and a chunked body is held to it.
 */
function limitedBody(req: Request, max: number, exact?: number): { stream: Transform; declared?: number } {
  let declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
  if (exact !== undefined) {
    if (declared !== undefined && declared !== exact)
      throw badRequest('InvalidParameter.ContentLength', `this URL takes a body of exactly ${exact} bytes, not ${declared}`);
    declared = exact;
    max = Math.min(max, exact);
  }
  if (declared !== undefined && declared > max) throw partTooLarge(max);
  const stream = new ByteLimit(max);
  // pipeline (not pipe) so a client abort destroys `stream` too, which fails the write and drops its temp file.
  pipeline(req, stream).catch(() => {});
  return { stream, declared };
}

/** What a failed body write means to the client; anything else is the store's own failure. */
function bodyError(error: unknown, max: number): unknown {
  if (error instanceof PartTooLargeError) return partTooLarge(max);
  if (error instanceof BodySizeError) return badRequest('InvalidParameter.ContentLength', error.message);
  // The client went away mid-body: Node fails the request stream with ECONNRESET "aborted", which the
  // error middleware would log as an unreachable store (503). Nobody reads the answer; the log should
  // say what happened.
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'ECONNRESET' && message === 'aborted') return badRequest('InvalidParameter.ContentLength', 'the client aborted the body');
  return error;
}

function partTooLarge(max: number): AppError {
  return new AppError('InvalidParameter.PartSize', 413, `a part or one-part object may be at most ${max} bytes`);
}

/** A BodySizeError, so the store's error counter knows the client's body was refused, not the store. */
class PartTooLargeError extends BodySizeError {
  override name = 'PartTooLargeError';
}

/** Fails the stream as soon as more than `max` bytes went through. */
class ByteLimit extends Transform {
  private seen = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) return callback(new PartTooLargeError(`more than ${this.max} bytes`));
    callback(null, chunk);
  }
}
