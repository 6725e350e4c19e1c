import { Router } from 'express';
import { z } from 'zod';
import { buildOpenApi, responseStatuses } from './openapi';
import { createRpcRegistry, defineRpc, listResponse } from './rpc';

type Doc = ReturnType<typeof buildOpenApi> & { paths: Record<string, { post: { responses: Record<string, { content?: Record<string, { schema: unknown }> }> } }> };

describe('buildOpenApi response bodies', () => {
  const Thing = z.strictObject({ thing_id: z.string(), size: z.number().int(), at: z.string().nullable(), note: z.string().optional() }).meta({ id: 'Thing', description: 'a thing' });
  const Part = z.strictObject({ part_number: z.number().int() }).meta({ id: 'Part' });
  const registry = createRpcRegistry({ validateResponses: false });
  const router = Router();
  const handler = async () => undefined;
  defineRpc(router, registry, { path: '/v2/thing/get', summary: 'get', body: z.object({}), response: Thing, handler });
  defineRpc(router, registry, { path: '/v2/thing/list', summary: 'list', body: z.object({}), response: listResponse('ThingList', Thing), handler });
  defineRpc(router, registry, { path: '/v2/thing/create', summary: 'create', status: 201, body: z.object({}), response: Thing.extend({ parts: z.array(Part) }), handler });
  defineRpc(router, registry, { path: '/v2/thing/delete', summary: 'delete', status: 204, body: z.object({}), handler });
  const doc = buildOpenApi(registry, { version: 'test' }) as Doc;
  const schemas = doc.components.schemas as Record<string, Record<string, unknown>>;
  const success = (path: string, status: string) => doc.paths[path]!.post.responses[status]!;

  it('answers a named object by reference to its component, and names a route-only body for its route', () => {
    expect(success('/v2/thing/get', '200').content).toEqual({ 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } });
    expect(success('/v2/thing/list', '200').content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/ThingList' });
    expect(success('/v2/thing/create', '201').content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/ThingCreateResponse' });
    expect(schemas.ThingList!.properties).toEqual({ items: { type: 'array', items: { $ref: '#/components/schemas/Thing' } }, next_marker: expect.objectContaining({ type: 'string' }) });
  });

  it('writes each component once, plainly: required fields, nullable types, no $schema, $id or closed objects', () => {
    expect(schemas.Thing).toEqual({
      type: 'object',
      description: 'a thing',
      properties: { thing_id: { type: 'string' }, size: { type: 'integer', format: 'int64' }, at: { type: ['string', 'null'] }, note: { type: 'string' } },
      required: ['thing_id', 'size', 'at'],
    });
    // Part is reached only inside ThingCreateResponse: lifted to a component, referenced there.
    expect(schemas.Part).toEqual({ type: 'object', properties: { part_number: expect.objectContaining({ type: 'integer' }) }, required: ['part_number'] });
    expect((schemas.ThingCreateResponse!.properties as Record<string, unknown>).parts).toEqual({ type: 'array', items: { $ref: '#/components/schemas/Part' } });
    expect(JSON.stringify(schemas)).not.toMatch(/__shared|\$defs|"\$schema"|"\$id"/);
    expect(schemas.Error).toBeDefined();
  });

  it('answers no body for a 204', () => {
    expect(success('/v2/thing/delete', '204')).toEqual({ description: expect.any(String) });
  });
});

describe('responseStatuses', () => {
  const route = { path: '/v2/thing/create', summary: 's', body: z.object({}), auth: true };
  it('declares a route\'s own errors, and 507 (a full volume) on every route besides the common errors', () => {
    expect(responseStatuses({ ...route, status: 201, errors: [409, 429] })).toEqual([201, 400, 401, 403, 404, 408, 409, 413, 415, 429, 500, 503, 507]);
    expect(responseStatuses({ ...route, path: '/v2/thing/download', method: 'get', errors: [409] })).toEqual([200, 206, 304, 400, 401, 403, 404, 409, 412, 416, 500, 503, 507]);
  });
});
