/**
 * Counts the blob store's failures in `openpds_storage_errors_total{operation, store}` (the chart's
 * OpenPDSStorageErrors alert), once, around whichever store create-blob-store.ts built, so S3 and local
 * disk are counted alike and no caller has to remember to.
 *
 * An answer is not a failure: a missing key (BlobNotFoundError; head's null), an unknown or ended multipart
 * upload, parts the client listed wrong, a bad key, range or part number (RangeError), and a body the
 * caller's client sized wrong or cut short are outcomes of the request, not the store breaking.
 *
 * Hot paths stay lean: each operation's counter child and rejection handler are made here, once; a call
 * adds one promise (`put` and `putPart` one closure, to look at the caller's body). Streams returned by
 * `get` get one shared 'error' listener, so a read that fails mid-object (EIO, S3 cutting the response)
 * counts too; a consumer giving up (pipeline destroys the source with ERR_STREAM_PREMATURE_CLOSE when the
 * downloading client leaves) does not.
 */
import type { Readable } from 'node:stream';
import type { Counter } from 'prom-client';
import { BlobNotFoundError, InvalidPartError, UploadNotFoundError, type BlobStore } from './blob-store';
import { BodySizeError } from './local-files';

/** Values of the `operation` label: the BlobStore method, in snake_case. */
export const STORAGE_OPERATIONS = [
  'put',
  'put_if_absent',
  'get',
  'head',
  'delete',
  'copy',
  'list',
  'create_multipart',
  'part_upload_url',
  'put_part',
  'list_parts',
  'complete_multipart',
  'abort_multipart',
  'list_multipart_uploads',
  'object_upload_url',
  'download_url',
  'ping',
] as const;
export type StorageOperation = (typeof STORAGE_OPERATIONS)[number];

/** True for a failure of the store itself, false for an answer or a failure of the caller's side. */
export function isStoreFailure(error: unknown): boolean {
  return !(
    error instanceof BlobNotFoundError ||
    error instanceof UploadNotFoundError ||
    error instanceof InvalidPartError ||
    error instanceof RangeError ||
    error instanceof BodySizeError ||
    consumerGaveUp(error)
  );
}

/** The reader of a stream went away (pipeline's premature close) or aborted it: not the store's doing. */
function consumerGaveUp(error: unknown): boolean {
  const e = error as { code?: unknown; name?: unknown } | null;
  return e?.code === 'ERR_STREAM_PREMATURE_CLOSE' || e?.name === 'AbortError';
}

/**
 * A write failed because its body did: the uploading client went away (Node fails the request stream with
 * ECONNRESET "aborted") or the body was refused upstream. Only the caller's body counts here, since an S3
 * connection reset has the same code: the body must itself have failed with this very error.
 */
function bodyFailed(body: Readable, error: unknown): boolean {
  if (body.errored !== error) return false;
  const { code, message } = error as NodeJS.ErrnoException;
  return code === 'ECONNRESET' && message === 'aborted';
}

export function countStorageErrors(inner: BlobStore, counter: Counter<'operation' | 'store'>): BlobStore {
  const rethrow = (operation: StorageOperation) => {
    const child = counter.labels({ operation, store: inner.kind });
    // Series at 0 from the start, so rate() has a baseline before the first failure.
    child.inc(0);
    return {
      child,
      onError: (error: unknown): never => {
        if (isStoreFailure(error)) child.inc();
        throw error;
      },
    };
  };
  const op = Object.fromEntries(STORAGE_OPERATIONS.map((name) => [name, rethrow(name)])) as Record<StorageOperation, ReturnType<typeof rethrow>>;
  const onBodyWriteError = (operation: 'put' | 'put_part', body: Readable) => (error: unknown): never => {
    if (!bodyFailed(body, error) && isStoreFailure(error)) op[operation].child.inc();
    throw error;
  };
  const getChild = op.get.child;
  const onStreamError = (error: unknown) => {
    if (isStoreFailure(error)) getChild.inc();
  };
  const onGet = (stream: Readable) => stream.on('error', onStreamError);

  async function* countIteration<T>(operation: StorageOperation, iterable: AsyncIterable<T>): AsyncGenerator<T> {
    try {
      yield* iterable;
    } catch (error) {
      op[operation].onError(error);
    }
  }

  const objectUploadUrl = inner.objectUploadUrl?.bind(inner);
  return {
    kind: inner.kind,
    put: (key, body, options) => inner.put(key, body, options).catch(onBodyWriteError('put', body)),
    putIfAbsent: (key, body) => inner.putIfAbsent(key, body).catch(op.put_if_absent.onError),
    get: (key, range) => inner.get(key, range).then(onGet, op.get.onError),
    head: (key) => inner.head(key).catch(op.head.onError),
    delete: (key) => inner.delete(key).catch(op.delete.onError),
    copy: (from, to) => inner.copy(from, to).catch(op.copy.onError),
    list: (prefix) => countIteration('list', inner.list(prefix)),
    createMultipart: (key) => inner.createMultipart(key).catch(op.create_multipart.onError),
    partUploadUrl: (key, uploadId, partNumber, expires, length) => inner.partUploadUrl(key, uploadId, partNumber, expires, length).catch(op.part_upload_url.onError),
    putPart: (key, uploadId, partNumber, body, size) => inner.putPart(key, uploadId, partNumber, body, size).catch(onBodyWriteError('put_part', body)),
    listParts: (key, uploadId) => inner.listParts(key, uploadId).catch(op.list_parts.onError),
    completeMultipart: (key, uploadId, parts) => inner.completeMultipart(key, uploadId, parts).catch(op.complete_multipart.onError),
    abortMultipart: (key, uploadId) => inner.abortMultipart(key, uploadId).catch(op.abort_multipart.onError),
    listMultipartUploads: () => countIteration('list_multipart_uploads', inner.listMultipartUploads()),
    // Optional in the interface: callers test for it, so it stays absent when the store lacks it.
    ...(objectUploadUrl && { objectUploadUrl: (key: string, expires: number, length?: number) => objectUploadUrl(key, expires, length).catch(op.object_upload_url.onError) }),
    downloadUrl: (key, options) => inner.downloadUrl(key, options).catch(op.download_url.onError),
    ping: () => inner.ping().catch(op.ping.onError),
  };
}
