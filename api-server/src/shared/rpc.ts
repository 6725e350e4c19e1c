/**
 * PDS-style RPC routes: `POST /v2/<group>/<action>` with a JSON body validated by a zod schema. Every route
 * is declared through `defineRpc`, which both mounts it and records it for the OpenAPI document, so the
 * document cannot list a route that does not exist or miss one that does.
 */
import type { Request, RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import { AppError } from './errors';
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
  }[];
}

export const createRpcRegistry = (): RpcRegistry => ({ routes: [] });

export function defineRpc<S extends z.ZodType>(router: Router, registry: RpcRegistry, def: RpcDefinition<S>): void {
  registry.routes.push({ path: def.path, summary: def.summary, body: def.body, auth: def.auth !== false, status: def.status ?? 200, errors: def.errors });
  const handler: RequestHandler = async (req, res) => {
    const input = parseBody(def.body, req.body ?? {});
    const result = await def.handler(input, { auth: res.locals.auth as AuthContext, req, res });
    if (res.headersSent) return;
    if (result === undefined) res.status(204).end();
    else res.status(def.status ?? 200).json(result);
  };
  router.post(def.path, handler);
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
 * A list's `limit`, with the bounds its PDS reference call gives (they differ: file/revision/list takes
 * 1-200, drive/list 0-100). `zeroIsDefault`: 0 asks for the default page size, not an empty page (drive/list
 * and drive/list_my_drives allow 0 and a page of nothing helps no one: its marker could never move on).
 */
export function listLimitField(bounds: { min?: 0 | 1; max?: number; zeroIsDefault?: boolean } = {}) {
  const { min = 1, max = 100, zeroIsDefault = false } = bounds;
  const field = z.coerce.number().int().min(min).max(max).default(DEFAULT_PAGE_SIZE);
  return zeroIsDefault ? field.transform((n) => (n === 0 ? DEFAULT_PAGE_SIZE : n)) : field;
}
/** 1-100, default 100: the limit of most lists (the PDS notes' "limit (1-100)"). */
export const limitField = listLimitField();
export const markerField = z.string().max(4096).default('');
export const idField = z.string().min(1).max(128);
