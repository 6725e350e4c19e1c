/**
 * PDS-style RPC routes: `POST /v2/<group>/<action>` with a JSON body validated by a zod schema. Every route
 * is declared through `defineRpc`, which both mounts it and records it for the OpenAPI document, so the
 * document cannot list a route that does not exist or miss one that does. Its `response` schema is the
 * document's success body; under test the answer is checked against it (see checkResponse), so the
 * document cannot drift from what the handlers return either.
 */
import type { Request, RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import { AppError } from './errors';
import { responseStatuses } from './openapi';
import type { AuthContext } from '../modules/auth/auth.types';

export interface RpcDefinition<S extends z.ZodType> {
  path: string;
  summary: string;
  body: S;
  /** false for the few calls made before login (account/login, account/token). */
  auth?: boolean;
  /**
   * The success status: 200 by default; 201 where PDS answers Created; 204 for a call that answers no
   * body (a handler that returns nothing answers 204 whatever this says; declare it for the OpenAPI document).
   */
  status?: number;
  /** Error statuses the call answers besides the ones every call may (openapi.ts), e.g. 409 or 429. */
  errors?: number[];
  /**
   * What a success answers (the OpenAPI 2xx body): strict objects, so a field a handler adds without
   * documenting it fails the check under test. Every route but a 204 one has one (test/api/openapi-responses.int.test.ts).
   */
  response?: z.ZodType;
  handler: (input: z.infer<S>, ctx: RpcContext) => Promise<unknown>;
}

export interface RpcContext {
  auth: AuthContext;
  req: Request;
  res: Response;
}

export interface RpcRegistry {
  routes: {
    path: string;
    method?: 'get' | 'post' | 'put';
    summary: string;
    body: z.ZodType;
    auth: boolean;
    /** The success status (200 when absent). */
    status?: number;
    /** Error statuses besides the common ones. */
    errors?: number[];
    /** The success body (JSON); absent for a 204 and for the GET routes, which answer bytes. */
    response?: z.ZodType;
  }[];
  /** Check each answer against its route's response schema (checkResponse): tests only. */
  validateResponses: boolean;
}

/**
 * `validateResponses`: check each handler's answer against its route's response schema (a mismatch is a
 * 500 `InternalError.ResponseSchema` naming the route and field). main.ts turns it on under NODE_ENV=test,
 * which jest sets in every worker (and the processes the CLI suites spawn inherit), so every suite that
 * starts a server checks its answers and none has to remember to. Off in production: it is CPU on the hot
 * path (~0.5 ms for a 100-file list page, about three times what serialising it costs).
 */
export const createRpcRegistry = (options: { validateResponses?: boolean } = {}): RpcRegistry => ({
  routes: [],
  validateResponses: options.validateResponses ?? false,
});

export function defineRpc<S extends z.ZodType>(router: Router, registry: RpcRegistry, def: RpcDefinition<S>): void {
  const route = { path: def.path, summary: def.summary, body: def.body, auth: def.auth !== false, status: def.status ?? 200, errors: def.errors, response: def.response };
  registry.routes.push(route);
  const handler: RequestHandler = async (req, res) => {
    const input = parseBody(def.body, req.body ?? {});
    const result = await def.handler(input, { auth: res.locals.auth as AuthContext, req, res });
    if (res.headersSent) return;
    if (registry.validateResponses) checkResponse(def, result);
    if (result === undefined) res.status(204).end();
    else res.status(def.status ?? 200).json(result);
  };
  router.post(def.path, declaredStatusCheck(registry, route), handler);
}

/**
 * Under test (`validateResponses`): every answer from here on (the handler's, or the error middleware's
 * for what it threw) must have a status the route's OpenAPI entry declares (openapi.ts responseStatuses;
 * the 4XX catch-all does not count), so the document cannot fall behind the errors a route answers
 * either. A JSON answer with an undeclared status is replaced by a 500 `InternalError.UndeclaredStatus`
 * naming the route, the status and the error code; any other answer (a stream, a redirect, a 304) keeps
 * its body but goes out as a 500. Both go to stderr, so the suite that met it fails and says why. Mounted
 * after the route's own path matched, so the statuses answered before (auth's 401, a body the JSON
 * parser refused, an unknown path) are not checked here; they are declared on every route anyway.
 */
export function declaredStatusCheck(registry: RpcRegistry, route: RpcRegistry['routes'][number]): RequestHandler {
  let declared: Set<number> | undefined;
  return (_req, res, next) => {
    if (!registry.validateResponses) return next();
    declared ??= new Set(responseStatuses(route));
    const undeclared = (status: number) => !declared!.has(status);
    const describe = (status: number, code?: unknown) =>
      `${(route.method ?? 'post').toUpperCase()} ${route.path}: answered ${status}${typeof code === 'string' ? ` (${code})` : ''}, which its OpenAPI entry does not declare (declare it in the route's errors, or in openapi.ts if every such call answers it)`;
    const json = res.json.bind(res);
    res.json = ((body: unknown) => {
      if (!undeclared(res.statusCode)) return json(body);
      const message = describe(res.statusCode, (body as { code?: unknown } | null)?.code);
      console.error(`[status check] ${message}`);
      const requestId = (body as { request_id?: unknown } | null)?.request_id ?? res.locals.requestId ?? '';
      res.removeHeader('Retry-After');
      return res.status(500).json({ code: 'InternalError.UndeclaredStatus', message, request_id: requestId });
    }) as typeof res.json;
    const writeHead = res.writeHead;
    res.writeHead = function (this: Response, status: number, ...rest: unknown[]) {
      if (undeclared(status)) {
        console.error(`[status check] ${describe(status)}`);
        status = 500;
        this.statusCode = 500;
      }
      return (writeHead as (...args: unknown[]) => Response).call(this, status, ...rest);
    } as typeof res.writeHead;
    next();
  };
}

/**
 * Under test: the answer, as the client will read it (through JSON: undefined fields gone, dates as
 * strings), must be what the route's response schema says, and a route answers a body exactly when it
 * declares one. A mismatch is a 500 naming the route and the fields (the error middleware shows an
 * AppError's message), and goes to stderr, so the integration test that met it fails and says why.
 */
export function checkResponse(def: Pick<RpcDefinition<z.ZodType>, 'path' | 'status' | 'response'>, result: unknown): void {
  let problem: string | undefined;
  if (result === undefined) {
    if (def.response) problem = 'answered no body, but declares a response schema';
  } else if (!def.response) problem = 'answered a body, but declares no response schema';
  else if (def.status === 204) problem = 'answered a body, but declares 204';
  else {
    const checked = def.response.safeParse(JSON.parse(JSON.stringify(result)));
    if (!checked.success) problem = `the answer does not match its response schema:\n${z.prettifyError(checked.error)}`;
  }
  if (problem === undefined) return;
  const message = `${def.path}: ${problem}`;
  console.error(`[response check] ${message}`);
  throw new AppError('InternalError.ResponseSchema', 500, message);
}

/**
 * Validates a body: unknown fields are dropped, wrong types answer InvalidParameter.<Field>, and so does
 * any string the body keeps (at any depth, object keys too) that cannot be stored (see isStorableText).
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw invalidField(issue.path, issue.message);
  }
  const bad = findBadValue(result.data);
  if (bad) throw invalidField(bad.path, bad.message);
  return result.data;
}

function invalidField(path: readonly PropertyKey[], message: string): AppError {
  const joined = path.length ? path.map(String).join('.') : 'body';
  const field = joined.length > 200 ? `${joined.slice(0, 200)}…` : joined; // a deeply nested value's path
  const name = String(path.find((p) => typeof p === 'string') ?? 'body');
  return new AppError(`InvalidParameter.${pascal(name)}`, 400, `${field}: ${message}`);
}

/** A NUL, or a high surrogate not followed by a low one, or a low one not preceded by a high one. */
const UNSTORABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * False for text PostgreSQL cannot take as is: text and jsonb hold no NUL (SQLSTATE 22021, 22P05), jsonb
 * refuses an unpaired surrogate escape, and text would silently store U+FFFD in its place.
 */
export const isStorableText = (s: string): boolean => !UNSTORABLE.test(s);

/**
 * How deeply a body may nest arrays and objects (the body itself is level 0). JSON.parse takes any depth,
 * but JSON.stringify, which stores user_data, recurses: ~5,000 levels overflowed the stack (a 500 from
 * users.repository and set-clause, red team session 14). No client needs more than a handful of levels.
 */
export const MAX_BODY_NESTING = 64;

const UNSTORABLE_MESSAGE = 'must not contain NUL characters or unpaired UTF-16 surrogates';

/**
 * The first value of a parsed body that cannot be stored: a string PostgreSQL refuses, or a container
 * nested deeper than MAX_BODY_NESTING. A key that is unstorable is reported at its object's path (its own
 * text is not fit for a message). Iterative and depth-first, each level linked to its parent: a deeply
 * nested body costs neither stack nor a copy of its path per level, and the walk stops at the first level
 * past the limit, so a 100k-deep body is refused after 65 steps.
 */
function findBadValue(data: unknown): { path: PropertyKey[]; message: string } | undefined {
  type At = { key: PropertyKey; parent: At; depth: number } | null;
  const pathOf = (at: At): PropertyKey[] => {
    const path: PropertyKey[] = [];
    for (let a = at; a; a = a.parent) path.push(a.key);
    return path.reverse();
  };
  if (typeof data === 'string') return isStorableText(data) ? undefined : { path: [], message: UNSTORABLE_MESSAGE };
  const stack: [object, At][] = isContainer(data) ? [[data, null]] : [];
  while (stack.length) {
    const [value, parent] = stack.pop()!;
    const array = Array.isArray(value);
    const depth = (parent?.depth ?? 0) + 1;
    for (const [key, item] of Object.entries(value)) {
      if (!array && !isStorableText(key)) return { path: pathOf(parent), message: UNSTORABLE_MESSAGE };
      const at = { key: array ? Number(key) : key, parent, depth };
      if (typeof item === 'string' && !isStorableText(item)) return { path: pathOf(at), message: UNSTORABLE_MESSAGE };
      if (!isContainer(item)) continue;
      if (depth > MAX_BODY_NESTING) return { path: pathOf(at), message: `nests arrays and objects deeper than ${MAX_BODY_NESTING} levels` };
      stack.push([item, at]);
    }
  }
  return undefined;
}

/** Arrays and plain objects: what JSON and zod make; a Date or other class instance holds no body text. */
const isContainer = (v: unknown): v is object =>
  Array.isArray(v) || (v !== null && typeof v === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(v)));

const pascal = (s: string) =>
  s
    .split('_')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');

/** Shared field schemas. */
export const DEFAULT_PAGE_SIZE = 100;

/**
 * A whole number of a JSON body: a number, or a string of decimal digits (a marker the API answered as a
 * string, such as next_part_number_marker, comes back so), then checked by `inner`. Not z.coerce, which took
 * `[5]`, `true`, `"0x10"`, `" 5"` and `""` (as 0) for numbers too (red team, session 21).
 */
export const wholeNumber = <T extends z.ZodType>(inner: T) => z.preprocess((v) => (typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : v), inner);

/**
 * A list's `limit`, with the bounds its PDS reference call gives (they differ: file/revision/list takes
 * 1-200, drive/list 0-100). `zeroIsDefault`: 0 asks for the default page size, not an empty page (drive/list
 * and drive/list_my_drives allow 0 and a page of nothing helps no one: its marker could never move on).
 */
export function listLimitField(bounds: { min?: 0 | 1; max?: number; zeroIsDefault?: boolean } = {}) {
  const { min = 1, max = 100, zeroIsDefault = false } = bounds;
  const field = wholeNumber(z.number().int().min(min).max(max).default(DEFAULT_PAGE_SIZE));
  return zeroIsDefault ? field.transform((n) => (n === 0 ? DEFAULT_PAGE_SIZE : n)) : field;
}
/** 1-100, default 100: the limit of most lists (the PDS notes' "limit (1-100)"). */
export const limitField = listLimitField();
export const markerField = z.string().max(4096).default('');
export const idField = z.string().min(1).max(128);

/** A timestamp the API answers: ISO 8601 in UTC, as Date.toISOString writes it. */
export const timestampField = z.iso.datetime();

/**
 * The envelope every list answers, named for the OpenAPI document (`FileList`, ...). `next_marker` is ''
 * on the last page.
 */
export const listResponse = <T extends z.ZodType>(id: string, item: T) =>
  z.strictObject({ items: z.array(item), next_marker: z.string().describe("the next page's marker; '' on the last page") }).meta({ id });
