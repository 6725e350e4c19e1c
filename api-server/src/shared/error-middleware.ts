import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { AppError, isAppError, notFound } from './errors';
import type { Metrics } from './metrics';

/**
 * The one error renderer: AppError → its status and `{code, message, request_id}`; a body that cannot be
 * read (malformed JSON, too large, an unsupported charset or Content-Encoding, aborted) → its 4xx; a value PostgreSQL refuses as malformed → 400 InvalidParameter; a database or blob store that is
 * unreachable, timing out, throttling, failing or short of memory or connections → 503 ServiceUnavailable
 * with Retry-After; a full disk (the blob volume's or the database's) → 507 InsufficientStorage.Disk; anything else → a logged 500 with no stack trace or internals in the body.
 */
export function createErrorMiddleware(logger: Logger, busyAnswers?: Pick<Metrics['busyAnswers'], 'inc'>): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const requestId = String(res.locals.requestId ?? '');
    let error: AppError;
    const bodyError = isAppError(err) ? undefined : requestBodyError(err);
    if (isAppError(err)) {
      error = err;
      // A 5xx that wraps a failure underneath (the local store's directory gone, LocalStoreGoneError) is
      // logged with it: the answer's body names no path or cause, so without this line an outage showed
      // only as statuses in the request log. Answers without a cause (Busy, a drive disabled) say it all.
      if (err.status >= 500 && err.options.cause !== undefined) logger.error({ err, req_id: requestId, path: req.path }, err.message);
    } else if (bodyError) {
      error = bodyError;
      // A client that hung up mid-body is no server fault; the request line in the log shows it anyway.
      if ((err as { type?: unknown }).type === 'request.aborted') logger.debug({ req_id: requestId, path: req.path }, 'client aborted the request body');
    } else if (isBadValue(err)) {
      // A value that should have been refused at validation: still the caller's input, so a 400, but
      // logged (it names a check to add) and answered without the database's text.
      logger.warn({ err, req_id: requestId, path: req.path }, 'database refused a value');
      error = new AppError('InvalidParameter', 400, 'a value in the request cannot be stored or compared (NUL character, invalid Unicode, or malformed value)');
    } else if (goneParent(err)) {
      // An insert whose drive or file was deleted by a concurrent request after this one checked it (the
      // write paths lock the drive row first so this should not happen; this keeps any path left from a 500).
      logger.warn({ err, req_id: requestId, path: req.path }, 'insert lost its parent row to a concurrent delete');
      error = goneParent(err)!;
    } else if ((err as { code?: unknown }).code === '40P01' || (err as { code?: unknown }).code === '40001') {
      // A deadlock or serialization failure: PostgreSQL rolled the transaction back; the same call retried
      // a moment later succeeds.
      logger.warn({ err, req_id: requestId, path: req.path }, 'transaction aborted by a concurrent one');
      error = new AppError('ServiceUnavailable.Conflict', 503, 'a concurrent change got in the way; retry', { headers: { 'Retry-After': '1' } });
    } else if ((err as { code?: unknown }).code === '57014') {
      // statement_timeout (pg.db.ts): the query ran too long and was cancelled; nothing was written by it.
      logger.error({ err, req_id: requestId, path: req.path }, 'database statement timed out');
      error = new AppError('ServiceUnavailable.Timeout', 503, 'the database did not finish this request in time; retry later', { headers: { 'Retry-After': '5' } });
    } else if (isStoreUnavailable(err)) {
      // S3 throttling (503 SlowDown) or a server error after the SDK's own retries: S3's fault, and
      // transient. The same code as an unreachable store, so clients have one 503 to retry on.
      logger.error({ err, req_id: requestId, path: req.path }, 'blob store throttling or failing');
      error = new AppError('ServiceUnavailable', 503, 'the blob store is busy or failing; retry later', { headers: { 'Retry-After': '5' } });
    } else if (isDiskFull(err)) {
      // 507 (RFC 4918), not 503: no retry succeeds until an administrator frees or adds space, and clients
      // and alerts can tell that apart from an outage. Nothing was stored (writes go to a temp file first;
      // the database rolled the statement back).
      logger.error({ err, req_id: requestId, path: req.path }, (err as { code?: unknown }).code === DB_DISK_FULL ? 'database volume full' : 'blob volume full');
      error = new AppError('InsufficientStorage.Disk', 507, 'the server has no space left to store this; ask an administrator');
    } else if (isDbShortOfResources(err)) {
      // Out of memory, of connections (max_connections), or another resource: PostgreSQL's own refusal of
      // this statement, which a retry a moment later can get past. A 503 to retry, not a 500 that is a bug.
      logger.error({ err, req_id: requestId, path: req.path }, 'database short of resources');
      error = new AppError('ServiceUnavailable', 503, 'the database is short of resources; retry later', { headers: { 'Retry-After': '5' } });
    } else if ((err as { code?: unknown }).code === DB_FILE_GONE) {
      // The database's own files are gone: PGlite's data dir moved or removed under a running server
      // (PostgreSQL's "could not open file \"base/5/2620\""). An outage until it is put back, not a bug.
      logger.error({ err, req_id: requestId, path: req.path }, 'database files missing (data dir moved or removed?)');
      error = new AppError('ServiceUnavailable', 503, 'the database is unavailable: its files are missing; ask an administrator', { headers: { 'Retry-After': '5' } });
    } else if (isUnreachable(err)) {
      logger.error({ err, req_id: requestId, path: req.path }, 'dependency unreachable');
      error = new AppError('ServiceUnavailable', 503, 'the database or the blob store is unreachable; retry later', { headers: { 'Retry-After': '5' } });
    } else {
      logger.error({ err, req_id: requestId, path: req.path }, 'unhandled error');
      error = new AppError('InternalError', 500, 'internal error; quote the request_id when reporting it');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error.code === 'ServiceUnavailable.Busy') busyAnswers?.inc({ reason: error.options.reason ?? 'unknown' });
    for (const [k, v] of Object.entries(error.options.headers ?? {})) res.setHeader(k, v);
    res.status(error.status).json({ code: error.code, message: error.message, request_id: requestId, ...error.options.data });
  };
}

/**
 * body-parser's (http-errors) refusals of a request body: a 4xx with `expose`, and a `type` saying what was
 * wrong. Each gets a stable code and a message of ours; any other exposed 4xx keeps its status (never a
 * 500: it is the caller's input). Without this an unsupported charset, a Content-Encoding other than
 * gzip/deflate/br, a body that does not decompress, or a client hanging up mid-body were 500s.
 */
function requestBodyError(err: unknown): AppError | undefined {
  const e = err as { expose?: unknown; status?: unknown; type?: unknown; code?: unknown; charset?: unknown } | null;
  if (e?.expose !== true || typeof e.status !== 'number' || e.status < 400 || e.status > 499) return undefined;
  switch (e.type) {
    case 'entity.parse.failed':
      return new AppError('InvalidParameter.Body', 400, 'request body is not valid JSON');
    case 'entity.too.large':
      return new AppError('InvalidParameter.Body', 413, 'request body is too large');
    case 'request.size.invalid':
      return new AppError('InvalidParameter.Body', 400, 'request body length does not match its Content-Length');
    case 'request.aborted':
      return new AppError('InvalidParameter.Body', 400, 'the request was aborted before its body arrived');
    case 'charset.unsupported':
      return new AppError('InvalidParameter.ContentType', 415, `unsupported charset "${String(e.charset ?? '').slice(0, 40)}": send JSON as UTF-8`);
    case 'encoding.unsupported':
      return new AppError('InvalidParameter.ContentEncoding', 415, 'unsupported Content-Encoding: send the body as is, or with gzip, deflate or br');
  }
  // zlib's errors (Z_DATA_ERROR, Z_BUF_ERROR) for a body that is not what its Content-Encoding says.
  if (typeof e.code === 'string' && e.code.startsWith('Z_')) return new AppError('InvalidParameter.Body', 400, 'request body does not decode as its Content-Encoding says');
  const code = e.status === 415 ? 'InvalidParameter.ContentType' : e.status === 408 ? 'RequestTimeout.Body' : 'InvalidParameter.Body';
  return new AppError(code, e.status, 'request body cannot be read');
}

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', '57P01', '57P03', '08006', '08001']);

/** The database or the store cannot be reached: the caller should retry, it did nothing wrong (503, not 500). */
function isUnreachable(err: unknown): boolean {
  const e = err as { code?: string; name?: string; cause?: { code?: string } };
  return NETWORK_ERRORS.has(e?.code ?? '') || NETWORK_ERRORS.has(e?.cause?.code ?? '') || e?.name === 'TimeoutError';
}

/** HTTP statuses of S3 (and radosgw, MinIO) answers that mean "the service is failing or throttling, retry". */
const STORE_UNAVAILABLE_STATUSES = new Set([500, 502, 503, 504]);
const STORE_UNAVAILABLE_CODES = new Set(['SlowDown', 'ServiceUnavailable', 'InternalError']);

/** An AWS SDK error (it carries `$metadata`) for an S3 answer that is a server error or throttling. */
function isStoreUnavailable(err: unknown): boolean {
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: number } } | null;
  if (typeof e?.$metadata !== 'object' || e.$metadata === null) return false;
  return STORE_UNAVAILABLE_STATUSES.has(e.$metadata.httpStatusCode ?? 0) || STORE_UNAVAILABLE_CODES.has(String(e.name));
}

/** SQLSTATE undefined_file: a data file of the database could not be opened. */
const DB_FILE_GONE = '58P01';

/**
 * SQLSTATE disk_full: PostgreSQL or PGlite could not extend a table or WAL file ("could not extend file
 * ...: No space left on device"). PGlite's data dir is usually on the blob volume, so both fill together.
 */
const DB_DISK_FULL = '53100';

/** The local store's volume is full (ENOSPC) or its user's quota is (EDQUOT), or the database's is (53100). */
function isDiskFull(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  return ['ENOSPC', 'EDQUOT', DB_DISK_FULL].some((code) => e?.code === code || e?.cause?.code === code);
}

/**
 * The rest of SQLSTATE class 53 (insufficient resources) but for 53100 (disk full, above) and 53400
 * (configuration_limit_exceeded: a setting such as max_locks_per_transaction is too low, which a retry does
 * not cure): 53000 the class's generic code, 53200 out_of_memory, 53300 too_many_connections.
 */
const DB_SHORT_OF_RESOURCES = new Set(['53000', '53200', '53300']);

function isDbShortOfResources(err: unknown): boolean {
  const e = err as { code?: unknown; name?: string } | null;
  return typeof e?.code === 'string' && DB_SHORT_OF_RESOURCES.has(e.code) && e.name !== 'AppError';
}

/**
 * SQLSTATEs for a malformed value (not a server fault): 22021 a byte sequence the encoding lacks (NUL in
 * text), 22P05 an untranslatable character (NUL or a lone surrogate escape in jsonb), 22P02 invalid text
 * for the type (e.g. a non-number cast), 22007 / 22008 a malformed or out-of-range date.
 */
const BAD_VALUE_ERRORS = new Set(['22021', '22P05', '22P02', '22007', '22008']);

function isBadValue(err: unknown): boolean {
  const e = err as { code?: unknown; name?: string };
  return typeof e?.code === 'string' && BAD_VALUE_ERRORS.has(e.code) && e.name !== 'AppError';
}

/**
 * A foreign key violation (23503) on a drive or file key: the drive or file was deleted meanwhile, so the
 * answer is the 404 a request arriving a moment later gets. Other foreign keys stay 500 (a bug). PGlite
 * does not always fill `constraint`; its message names it.
 */
function goneParent(err: unknown): AppError | undefined {
  const e = err as { code?: unknown; constraint?: string; message?: string; name?: string };
  if (e?.code !== '23503' || e.name === 'AppError') return undefined;
  const names = `${e.constraint ?? ''} ${e.message ?? ''}`;
  if (/\b\w+_drive_id_fkey\b/.test(names)) return notFound('Drive', 'the drive was deleted meanwhile');
  if (/\b\w+_file_id_fkey\b/.test(names)) return notFound('File', 'the file was deleted meanwhile');
  return undefined;
}
