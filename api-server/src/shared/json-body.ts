/**
 * The body of a `/v2` RPC call: JSON, at most JSON_BODY_LIMIT_BYTES, received within a time bound. Local
 * upload and download URLs (PUT and GET of bytes, storage/local-blob.routes.ts) are mounted before this
 * and never reach it.
 *
 * A non-empty POST body is read as JSON whatever its Content-Type (or none). body-parser's default skips a
 * body of another type, so the call ran with its defaults: a `text/plain` {"limit":1} listed 100 items
 * (red team session 14). Refusing such bodies with 415 broke callers that send JSON as a browser fetch does
 * with a string body (text/plain) or as `curl -d` does (application/x-www-form-urlencoded). Reading them
 * is neither: JSON is taken, anything else does not parse and answers 400 InvalidParameter.Body. Only a
 * charset other than UTF-8 or an unknown Content-Encoding answers 415 (error-middleware.ts).
 */
import express, { type RequestHandler } from 'express';
import { AppError } from './errors';

export const JSON_BODY_LIMIT_BYTES = 4 * 1024 * 1024;
/**
 * The whole JSON body must arrive within this long. The server's idle timeout (server-timeouts.ts) cuts a
 * connection on which nothing moves; this cuts one that trickles a byte now and then and would hold a
 * request (and its memory) open for ever. 4 MB in a minute is 70 kB/s.
 */
export const JSON_BODY_RECEIVE_TIMEOUT_MS = 60_000;

export interface JsonBodyOptions {
  limitBytes?: number;
  receiveTimeoutMs?: number;
}

/** The middlewares that parse a `/v2` call's body; mount them in order under `/v2`. */
export function createJsonBodyParser({ limitBytes = JSON_BODY_LIMIT_BYTES, receiveTimeoutMs = JSON_BODY_RECEIVE_TIMEOUT_MS }: JsonBodyOptions = {}): RequestHandler[] {
  const guard: RequestHandler = (req, res, next) => {
    if (req.method !== 'POST' || !hasNonEmptyBody(req.headers)) return next();
    // body-parser refuses an announced length over the limit before reading, but then reads the whole body
    // off before answering. Answered here at once instead, the connection closed rather than drained.
    const length = Number(req.headers['content-length']);
    if (length > limitBytes) return next(new AppError('InvalidParameter.Body', 413, 'request body is too large', { headers: { Connection: 'close' } }));
    const timer = setTimeout(() => {
      if (res.headersSent) return void req.socket.destroy();
      // Closed after the answer: the rest of the body is not worth waiting for. body-parser then sees the
      // request aborted and hands that to the error middleware, which finds the answer sent.
      res.setHeader('Connection', 'close');
      res.status(408).json({ code: 'RequestTimeout.Body', message: `the request body did not arrive within ${Math.round(receiveTimeoutMs / 1000)} s`, request_id: res.locals.requestId });
    }, receiveTimeoutMs);
    const clear = () => clearTimeout(timer);
    req.once('end', clear);
    res.once('close', clear);
    next();
  };
  // POST only: what the guard bounds. The /v2 GETs (downloads) take no body.
  return [guard, express.json({ limit: limitBytes, type: (req) => req.method === 'POST' })];
}

/** A body with bytes in it: a positive Content-Length, or chunked (its length unknown until it ends). */
function hasNonEmptyBody(headers: { 'content-length'?: string; 'transfer-encoding'?: string }): boolean {
  return headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
}
