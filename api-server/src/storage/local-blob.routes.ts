/**
 * The two routes behind the local store's signed URLs (S3 serves its presigned URLs itself):
 *   PUT /v2/blob/part?key=&upload_id=&part_number=&expires=&signature=     one part's bytes
 *   GET /v2/blob/object?key=&name=&type=&disposition=&expires=&signature=  the object, with Range
 * The signature is the only authorization: these URLs are handed to clients by file/create and
 * file/get_download_url, which did the access checks.
 */
import { Router, type Request } from 'express';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, badRequest, forbidden, invalidParameter, notFound } from '../shared/errors';
import type { UrlSigner } from '../shared/url-signer';
import { MAX_PART_NUMBER, MIN_PART_NUMBER, UploadNotFoundError, type BlobStore } from './blob-store';
import { serveObject } from './serve-object';
import { BodySizeError } from './local-files';
import { LOCAL_OBJECT_PATH, LOCAL_PART_PATH } from './local.blob-store';

export function createLocalBlobRouter(deps: { store: BlobStore; signer: UrlSigner; maxPartSize: number }): Router {
  const { store, signer, maxPartSize } = deps;
  const router = Router();

  router.put(LOCAL_PART_PATH, async (req, res) => {
    const query = verifiedQuery(signer, 'PUT', LOCAL_PART_PATH, req);
    const partNumber = Number(query.part_number);
    if (!Number.isInteger(partNumber) || partNumber < MIN_PART_NUMBER || partNumber > MAX_PART_NUMBER)
      throw invalidParameter('part_number', `part_number must be an integer from ${MIN_PART_NUMBER} to ${MAX_PART_NUMBER}`);
    const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    // Refused before reading a byte when the length is announced; counted on the way for chunked bodies.
    if (declared !== undefined && declared > maxPartSize) throw partTooLarge(maxPartSize);
    const limited = new ByteLimit(maxPartSize);
    // pipeline (not pipe) so a client abort destroys `limited` too, which fails putPart and drops its temp file.
    pipeline(req, limited).catch(() => {});
    try {
      const part = await store.putPart(query.key!, query.upload_id!, partNumber, limited, declared);
      res.setHeader('ETag', `"${part.etag}"`);
      res.status(200).end();
    } catch (error) {
      if (error instanceof PartTooLargeError) throw partTooLarge(maxPartSize);
      if (error instanceof UploadNotFoundError) throw notFound('Upload', 'the multipart upload does not exist or has ended');
      if (error instanceof BodySizeError) throw badRequest('InvalidParameter.ContentLength', error.message);
      throw error;
    }
  });

  // Express routes HEAD to GET handlers too; the URL was signed for GET either way.
  router.get(LOCAL_OBJECT_PATH, async (req, res) => {
    const query = verifiedQuery(signer, 'GET', LOCAL_OBJECT_PATH, req);
    const info = await store.head(query.key!);
    if (!info) throw notFound('File', 'the file does not exist');
    await serveObject(req, res, store, {
      key: query.key!,
      size: info.size,
      etag: info.etag ?? '',
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
  // Signed parameters are plain strings: a repeated one would have broken the signature.
  return query as Record<string, string | undefined>;
}

function partTooLarge(max: number): AppError {
  return new AppError('InvalidParameter.PartSize', 413, `a part may be at most ${max} bytes`);
}

class PartTooLargeError extends Error {
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
