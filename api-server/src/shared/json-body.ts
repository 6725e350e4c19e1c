/**
 * The body of a `/v2` RPC call: JSON, at most JSON_BODY_LIMIT_BYTES (SMALL_JSON_BODY_LIMIT_BYTES for login
 * and token refresh), nested at most MAX_BODY_NESTING deep, received within a time bound. Local
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
import express, { type Request, type RequestHandler } from 'express';
import { AppError } from './errors';
import { MAX_BODY_NESTING } from './rpc';

export const JSON_BODY_LIMIT_BYTES = 4 * 1024 * 1024;
/**
 * The limit for the calls anyone may make, whose fields are all short (a user name and password of at most
 * 255 and 256 characters, a refresh token of 512): a 4 MB body to /v2/account/login cost its JSON.parse
 * before any check of who sent it (red team, resources).
 */
export const SMALL_JSON_BODY_LIMIT_BYTES = 64 * 1024;
/** Paths under the `/v2` mount whose bodies are held to SMALL_JSON_BODY_LIMIT_BYTES. */
export const SMALL_BODY_PATHS = ['/account/login', '/account/token'];
/**
 * The whole JSON body must arrive within this long. The server's idle timeout (server-timeouts.ts) cuts a
 * connection on which nothing moves; this cuts one that trickles a byte now and then and would hold a
 * request (and its memory) open for ever. 4 MB in a minute is 70 kB/s.
 */
export const JSON_BODY_RECEIVE_TIMEOUT_MS = 60_000;

export interface JsonBodyOptions {
  limitBytes?: number;
  smallLimitBytes?: number;
  receiveTimeoutMs?: number;
}

/** The middlewares that parse a `/v2` call's body; mount them in order under `/v2`. */
export function createJsonBodyParser({
  limitBytes = JSON_BODY_LIMIT_BYTES,
  smallLimitBytes = SMALL_JSON_BODY_LIMIT_BYTES,
  receiveTimeoutMs = JSON_BODY_RECEIVE_TIMEOUT_MS,
}: JsonBodyOptions = {}): RequestHandler[] {
  const limitFor = (req: Request) => (isSmallBodyPath(req.path) ? Math.min(smallLimitBytes, limitBytes) : limitBytes);
  const guard: RequestHandler = (req, res, next) => {
    if (req.method !== 'POST' || !hasNonEmptyBody(req.headers)) return next();
    // body-parser refuses an announced length over the limit before reading, but then reads the whole body
    // off before answering. Answered here at once instead, the connection closed rather than drained.
    const length = Number(req.headers['content-length']);
    if (length > limitFor(req)) return next(new AppError('InvalidParameter.Body', 413, 'request body is too large', { headers: { Connection: 'close' } }));
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
  // POST only: what the guard bounds. The /v2 GETs (downloads) take no body. `verify` sees the bytes
  // (decompressed) before JSON.parse does.
  const parser = (limit: number) => express.json({ limit, type: (req) => req.method === 'POST', verify: refuseUnsafeStructure });
  const small = parser(Math.min(smallLimitBytes, limitBytes));
  const large = parser(limitBytes);
  const parse: RequestHandler = (req, res, next) => (isSmallBodyPath(req.path) ? small : large)(req, res, next);
  return [guard, parse];
}

/**
 * Express routes case-insensitively and with or without a trailing slash (`/V2/Account/Login/` is the
 * login), so the path is compared as it routes.
 */
function isSmallBodyPath(path: string): boolean {
  return SMALL_BODY_PATHS.includes(path.toLowerCase().replace(/\/+$/, ''));
}

/**
 * Refuses, before JSON.parse, what rpc.ts would refuse or silently lose, answered as rpc.ts answers,
 * InvalidParameter.<Field> named for the top-level field (`user_data` → InvalidParameter.UserData):
 * - a body nesting arrays and objects deeper than rpc.ts allows: parsing 690,000 levels took 0.4 s of the
 *   event loop (red team, resources), and rpc.ts refuses the result anyway. Counted as rpc.ts counts (the
 *   body's own object is level 0, so MAX_BODY_NESTING + 1 brackets may be open). One difference: rpc.ts
 *   checks what its schema keeps, so a deep field it does not know was dropped, and is now refused;
 * - a key named `__proto__`, at any depth and however escaped: JSON.parse makes it an own key, but the
 *   schema's copy of an object (z.record, z.object) sets the copy's prototype with it instead, so the key
 *   and its value were silently dropped from user_data (red team, session 21); kept deeper, it would reach
 *   every JavaScript client that copies the object. As Fastify answers it (onProtoPoisoning: 'error').
 */
function refuseUnsafeStructure(_req: unknown, _res: unknown, body: Buffer): void {
  const found = findUnsafeStructure(body, MAX_BODY_NESTING + 1);
  if (found === undefined) return;
  const field = found.field !== undefined && found.field !== PROTO && /^[A-Za-z0-9_]{1,64}$/.test(found.field) ? found.field : undefined;
  const problem = found.problem === 'deep' ? `nests arrays and objects deeper than ${MAX_BODY_NESTING} levels` : `has a key named ${PROTO}, which is not accepted`;
  throw new AppError(`InvalidParameter.${field ? pascal(field) : 'Body'}`, 400, `${field ?? 'body'}: ${problem}`);
}

/** As rpc.ts names a field's error code (not exported there). */
const pascal = (s: string) =>
  s
    .split('_')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const U = 0x75;

const PROTO = '__proto__';
/** `"__proto__"` as JSON text, unescaped: the quick test before any decoding. */
const PROTO_JSON = Buffer.from(JSON.stringify(PROTO));

/**
 * The first of these in the JSON text `bytes`, with the top-level object's field it happens in (undefined
 * in a top-level array): more than `maxOpen` arrays and objects open at once ('deep'), or a key that reads
 * `__proto__` ('proto'; escapes such as `\u005f` decode to it too, as JSON.parse decodes them). A byte scan:
 * brackets inside strings do not count, and a backslash in a string escapes the next byte (`\"`, `\\`);
 * UTF-8's multi-byte sequences hold no ASCII bytes. Only a key of `"__proto__"`'s bytes or one with a
 * backslash is compared, so an ordinary body costs no decoding. Malformed JSON may be miscounted, but
 * JSON.parse refuses it anyway.
 */
export function findUnsafeStructure(bytes: Uint8Array, maxOpen: number): { field: string | undefined; problem: 'deep' | 'proto' } | undefined {
  let open = 0;
  // The last string read, at any level ([stringStart, stringEnd), with a backslash or not) and at level 1,
  // and the field: the level-1 string a colon followed. Plain numbers: a string costs no allocation.
  let stringStart = -1;
  let stringEnd = -1;
  let stringEscaped = false;
  let topStart = -1;
  let topEnd = -1;
  let fieldStart = -1;
  let fieldEnd = -1;
  const fieldName = () => (fieldStart < 0 ? undefined : decodeJsonString(bytes.subarray(fieldStart, fieldEnd)));
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === QUOTE) {
      // Skip the string: to the next quote not escaped by a backslash.
      stringStart = i;
      stringEscaped = false;
      for (i++; i < bytes.length && bytes[i] !== QUOTE; i++) {
        if (bytes[i] !== BACKSLASH) continue;
        stringEscaped = true;
        i++;
      }
      stringEnd = i + 1;
      if (open === 1) {
        topStart = stringStart;
        topEnd = stringEnd;
      }
    } else if (b === COLON) {
      if (open === 1) {
        fieldStart = topStart;
        fieldEnd = topEnd;
      }
      if (stringStart >= 0 && isProtoKey(bytes, stringStart, stringEnd, stringEscaped)) return { field: fieldName(), problem: 'proto' };
    } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      if (++open > maxOpen) return { field: fieldName(), problem: 'deep' };
    } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
      open--;
    }
  }
  return undefined;
}

/**
 * Whether the JSON string at bytes[start, end) reads `__proto__`; `escaped` when it holds a backslash. An
 * escaped one is decoded only when it holds exactly 9 characters (an escape is one: `\uXXXX` or `\x`), so
 * a body of many short escaped keys costs a count, not a JSON.parse each (which doubled its scan).
 */
function isProtoKey(bytes: Uint8Array, start: number, end: number, escaped: boolean): boolean {
  if (!escaped) return end - start === PROTO_JSON.length && Buffer.compare(bytes.subarray(start, end), PROTO_JSON) === 0;
  let chars = 0;
  for (let i = start + 1; i < end - 1 && chars <= PROTO.length; chars++) i += bytes[i] !== BACKSLASH ? 1 : bytes[i + 1] === U ? 6 : 2;
  return chars === PROTO.length && decodeJsonString(bytes.subarray(start, end)) === PROTO;
}

function decodeJsonString(bytes: Uint8Array): string | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A body with bytes in it: a positive Content-Length, or chunked (its length unknown until it ends). */
function hasNonEmptyBody(headers: { 'content-length'?: string; 'transfer-encoding'?: string }): boolean {
  return headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
}
