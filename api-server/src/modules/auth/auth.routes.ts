import { Router } from 'express';
import { z } from 'zod';
import { defineRpc, type RpcRegistry } from '../../shared/rpc';
import type { AuthService } from './auth.service';
import type { AuthContext } from './auth.types';

export function createAuthRouter(registry: RpcRegistry, auth: AuthService): Router {
  const router = Router();
  // app.ts checks the token's signature in a synchronous middleware, then mounts this router before every
  // other one, so each authenticated call passes here first: the caller is confirmed against the database
  // (deleted or disabled → 401, current role) before any handler sees res.locals.auth.
  router.use(async (_req, res, next) => {
    if (res.locals.auth) res.locals.auth = await auth.confirm(res.locals.auth as AuthContext);
    next();
  });
  defineRpc(router, registry, {
    path: '/v2/account/login',
    summary: 'Log in with user name and password; returns access and refresh tokens',
    auth: false,
    body: z.object({ username: z.string().min(1).max(255), password: z.string().min(1).max(256) }),
    handler: (input, { req }) => auth.login(input.username, input.password, req.ip),
  });
  defineRpc(router, registry, {
    path: '/v2/account/token',
    summary: 'Trade a refresh token for new tokens (the refresh token rotates)',
    auth: false,
    body: z.object({ refresh_token: z.string().min(1).max(512), grant_type: z.literal('refresh_token').default('refresh_token') }),
    handler: (input) => auth.refresh(input.refresh_token),
  });
  return router;
}
