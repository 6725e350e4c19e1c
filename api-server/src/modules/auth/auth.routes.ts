import { Router } from 'express';
import { z } from 'zod';
import { defineRpc, type RpcRegistry } from '../../shared/rpc';
import { tokenResponseSchema } from './auth.schemas';
import type { AuthService } from './auth.service';

export function createAuthRouter(registry: RpcRegistry, auth: AuthService): Router {
  const router = Router();
  defineRpc(router, registry, {
    path: '/v2/account/login',
    summary: 'Log in with user name and password; returns access and refresh tokens',
    errors: [403, 429], // Forbidden.UserDisabled, TooManyRequests.Login
    auth: false,
    body: z.object({ username: z.string().min(1).max(255), password: z.string().min(1).max(256) }),
    response: tokenResponseSchema,
    handler: (input, { req }) => auth.login(input.username, input.password, req.ip),
  });
  defineRpc(router, registry, {
    path: '/v2/account/token',
    summary: 'Trade a refresh token for new tokens (the refresh token rotates)',
    errors: [403], // Forbidden.UserDisabled
    auth: false,
    body: z.object({ refresh_token: z.string().min(1).max(512), grant_type: z.literal('refresh_token').default('refresh_token') }),
    response: tokenResponseSchema,
    handler: (input) => auth.refresh(input.refresh_token),
  });
  return router;
}
