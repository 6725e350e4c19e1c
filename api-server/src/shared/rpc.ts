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
  /** 200 by default; 201 where PDS answers Created. */
  status?: number;
  handler: (input: z.infer<S>, ctx: RpcContext) => Promise<unknown>;
}

export interface RpcContext {
  auth: AuthContext;
  req: Request;
  res: Response;
}

export interface RpcRegistry {
  routes: { path: string; method?: 'get' | 'post' | 'put'; summary: string; body: z.ZodType; auth: boolean }[];
}

export const createRpcRegistry = (): RpcRegistry => ({ routes: [] });

export function defineRpc<S extends z.ZodType>(router: Router, registry: RpcRegistry, def: RpcDefinition<S>): void {
  registry.routes.push({ path: def.path, summary: def.summary, body: def.body, auth: def.auth !== false });
  const handler: RequestHandler = async (req, res) => {
    const input = parseBody(def.body, req.body ?? {});
    const result = await def.handler(input, { auth: res.locals.auth as AuthContext, req, res });
    if (res.headersSent) return;
    if (result === undefined) res.status(204).end();
    else res.status(def.status ?? 200).json(result);
  };
  router.post(def.path, handler);
}

/** Validates a body: unknown fields are dropped, wrong types answer InvalidParameter.<Field>. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length ? issue.path.join('.') : 'body';
  const name = String(issue.path.find((p) => typeof p === 'string') ?? 'body');
  throw new AppError(`InvalidParameter.${pascal(name)}`, 400, `${field}: ${issue.message}`);
}

const pascal = (s: string) =>
  s
    .split('_')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');

/** Shared field schemas. */
export const limitField = z.coerce.number().int().min(1).max(100).default(100);
export const markerField = z.string().max(4096).default('');
export const idField = z.string().min(1).max(128);
