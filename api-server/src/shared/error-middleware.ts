import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { AppError, isAppError } from './errors';

/**
 * The one error renderer: AppError → its status and `{code, message, request_id}`; a malformed JSON body →
 * 400; anything else → a logged 500 with no stack trace or internals in the body.
 */
export function createErrorMiddleware(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const requestId = String(res.locals.requestId ?? '');
    let error: AppError;
    if (isAppError(err)) error = err;
    else if ((err as { type?: string }).type === 'entity.parse.failed') error = new AppError('InvalidParameter.Body', 400, 'request body is not valid JSON');
    else if ((err as { type?: string }).type === 'entity.too.large') error = new AppError('InvalidParameter.Body', 413, 'request body is too large');
    else if (isUnreachable(err)) {
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
    for (const [k, v] of Object.entries(error.options.headers ?? {})) res.setHeader(k, v);
    res.status(error.status).json({ code: error.code, message: error.message, request_id: requestId, ...error.options.data });
  };
}

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', '57P01', '57P03', '08006', '08001']);

/** The database or the store cannot be reached: the caller should retry, it did nothing wrong (503, not 500). */
function isUnreachable(err: unknown): boolean {
  const e = err as { code?: string; name?: string; cause?: { code?: string } };
  return NETWORK_ERRORS.has(e?.code ?? '') || NETWORK_ERRORS.has(e?.cause?.code ?? '') || e?.name === 'TimeoutError';
}
