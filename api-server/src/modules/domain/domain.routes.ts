import { Router } from 'express';
import { z } from 'zod';
import { defineRpc, type RpcRegistry } from '../../shared/rpc';
import { domainInfoSchema } from './domain.schemas';
import type { DomainService } from './domain.service';

export function createDomainRouter(registry: RpcRegistry, domain: DomainService): Router {
  const router = Router();
  defineRpc(router, registry, {
    path: '/v2/domain/get',
    summary: "This domain's settings and usage (admin)",
    body: z.object({}),
    response: domainInfoSchema,
    handler: (_input, { auth }) => domain.get(auth),
  });
  defineRpc(router, registry, {
    path: '/v2/domain/update',
    summary: "Change this domain's settings, e.g. trash retention (admin)",
    body: z.object({ trash_retention_days: z.number().int().min(0).max(3650).optional() }),
    response: domainInfoSchema,
    handler: (input, { auth }) => domain.update(auth, input),
  });
  return router;
}
