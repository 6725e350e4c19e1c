/** The OpenAPI 3.1 document of every route declared through the RPC registry. */
import { z } from 'zod';
import type { RpcRegistry } from './rpc';

const ERROR_RESPONSE = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };

/** What each status means here; an error status answers the Error body. */
const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content: done, no body',
  206: 'Partial Content: the requested Range',
  302: 'Found: a short-lived presigned URL of the content on S3 (Location)',
  304: 'Not Modified (If-None-Match)',
  400: 'InvalidParameter.*: the body or query does not validate',
  401: 'Unauthorized: no token, an invalid or expired one, or wrong credentials',
  403: 'Forbidden.* (or QuotaExhausted.Drive): the caller may not do this',
  404: 'NotFound.*: it does not exist or the caller cannot see it',
  409: 'AlreadyExist.* or another conflict with the current state',
  408: 'RequestTimeout.Body: the JSON body did not arrive in full within 60 s',
  410: 'Gone: UploadExpired, the upload session is past OPENPDS_UPLOAD_MAX_AGE',
  412: 'Precondition Failed (If-Match)',
  413: 'InvalidParameter.Body: the JSON body is larger than 4 MB',
  415: 'InvalidParameter.ContentType / InvalidParameter.ContentEncoding: a charset other than UTF-8, or a Content-Encoding the server does not read',
  416: 'Range Not Satisfiable',
  429: 'TooManyRequests.* / LimitExceeded.*: retry after Retry-After seconds',
  500: 'InternalError: quote the request_id',
  503: 'ServiceUnavailable.*: the database or the blob store is unreachable or slow, or the store is not this instance\'s; retry after Retry-After',
};

/**
 * GET routes (the registry's GET routes are the downloads, served by storage/serve-object.ts) answer
 * ranges and conditional requests, 403 and 404 (a signed link too: a bad signature, a disabled drive, a
 * trashed file); the bearer-token one redirects to the store on S3.
 */
const DOWNLOAD_STATUSES = [206, 304, 403, 404, 412, 416];
const REDIRECTING_DOWNLOAD = '/v2/file/download';

type Route = RpcRegistry['routes'][number];

/** The success status, the statuses any such call may answer, and the route's own. */
export function responseStatuses(route: Route): number[] {
  const method = route.method ?? 'post';
  const statuses = new Set<number>([route.status ?? 200, 400, 500, 503]);
  if (route.auth || route.path.startsWith('/v2/account/')) statuses.add(401); // a token, or the credentials
  if (route.auth) [403, 404].forEach((s) => statuses.add(s));
  if (method !== 'get') [408, 413, 415].forEach((s) => statuses.add(s)); // the JSON body (shared/json-body.ts)
  if (method === 'get') DOWNLOAD_STATUSES.forEach((s) => statuses.add(s));
  if (route.path === REDIRECTING_DOWNLOAD) statuses.add(302);
  route.errors?.forEach((s) => statuses.add(s));
  return [...statuses].sort((a, b) => a - b);
}

function responses(route: Route): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const status of responseStatuses(route))
    out[String(status)] = status >= 400 ? { description: STATUS_TEXT[status] ?? 'Error', content: ERROR_RESPONSE } : { description: STATUS_TEXT[status] ?? 'OK' };
  // Any other 4xx a call answers (e.g. a conflict or a throttle it does not declare) still has this body.
  out['4XX'] = { description: 'Error', content: ERROR_RESPONSE };
  return out;
}

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
      responses: responses(route),
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
