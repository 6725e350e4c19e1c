/** The OpenAPI 3.1 document of every route declared through the RPC registry. */
import { z } from 'zod';
import type { RpcRegistry } from './rpc';

export function buildOpenApi(registry: RpcRegistry, info: { version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of registry.routes) {
    const method = route.method ?? 'post';
    const schema = z.toJSONSchema(route.body, { io: 'input', unrepresentable: 'any' });
    const operation: Record<string, unknown> = {
      summary: route.summary,
      operationId: route.path.replace(/^\/v2\//, '').replace(/\//g, '_'),
      tags: [route.path.split('/')[2]],
      security: route.auth ? [{ bearer: [] }] : [],
      responses: {
        '200': { description: 'OK' },
        '4XX': { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
    if (method === 'get') {
      const props = (schema as { properties?: Record<string, unknown>; required?: string[] }).properties ?? {};
      operation.parameters = Object.entries(props).map(([name, s]) => ({ name, in: 'query', required: (schema as { required?: string[] }).required?.includes(name) ?? false, schema: s }));
    } else {
      operation.requestBody = { required: true, content: { 'application/json': { schema } } };
    }
    paths[route.path] = { ...paths[route.path], [method]: operation };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'OpenPDS API', version: info.version, description: 'PDS-compatible Drive and Photo Service API' },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['code', 'message'],
          properties: { code: { type: 'string', examples: ['NotFound.File'] }, message: { type: 'string' }, request_id: { type: 'string' } },
        },
      },
    },
  };
}
