/**
 * The OpenAPI 3.1 document of every route declared through the RPC registry: request bodies, and each
 * route's success body from its response schema, with the API's objects (File, Drive, User, ...: schemas
 * given an id with zod's `.meta({ id })`) as named component schemas a client generator makes models of.
 */
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
  409: 'AlreadyExist.*, PreHashMatched, ContentReplaced or another conflict with the current state',
  408: 'RequestTimeout.Body: the JSON body did not arrive in full within 60 s',
  410: 'Gone: UploadExpired, the upload session is past OPENPDS_UPLOAD_MAX_AGE',
  412: 'Precondition Failed (If-Match)',
  413: 'InvalidParameter.Body: the JSON body is larger than 4 MB',
  415: 'InvalidParameter.ContentType / InvalidParameter.ContentEncoding: a charset other than UTF-8, or a Content-Encoding the server does not read',
  416: 'Range Not Satisfiable',
  429: 'TooManyRequests.* / LimitExceeded.*: retry after Retry-After seconds',
  500: 'InternalError: quote the request_id',
  503: 'ServiceUnavailable.*: the database or the blob store is unreachable or slow, or the store is not this instance\'s; retry after Retry-After',
  507: 'InsufficientStorage.Disk: the database\'s or the blob store\'s volume is full; no retry helps until an administrator frees space',
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
  // 507: any statement may need disk (a write, its WAL, a large sort's temp file: SQLSTATE 53100), and the
  // downloads seal content first (blob-sealing.ts), which writes; error-middleware.ts answers it for all.
  const statuses = new Set<number>([route.status ?? 200, 400, 500, 503, 507]);
  if (route.auth || route.path.startsWith('/v2/account/')) statuses.add(401); // a token, or the credentials
  if (route.auth) [403, 404].forEach((s) => statuses.add(s));
  if (method !== 'get') [408, 413, 415].forEach((s) => statuses.add(s)); // the JSON body (shared/json-body.ts)
  if (method === 'get') DOWNLOAD_STATUSES.forEach((s) => statuses.add(s));
  if (route.path === REDIRECTING_DOWNLOAD) statuses.add(302);
  route.errors?.forEach((s) => statuses.add(s));
  return [...statuses].sort((a, b) => a - b);
}

/** The bytes of a download (200, and a range of them, 206): any media type, the file's own. */
const DOWNLOAD_CONTENT = { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } };

function responses(route: Route, successSchema: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const success = route.status ?? 200;
  for (const status of responseStatuses(route)) {
    const description = STATUS_TEXT[status] ?? (status >= 400 ? 'Error' : 'OK');
    if (status >= 400) out[String(status)] = { description, content: ERROR_RESPONSE };
    else if (status === success && successSchema) out[String(status)] = { description, content: { 'application/json': { schema: successSchema } } };
    else if ((route.method ?? 'post') === 'get' && (status === 200 || status === 206)) out[String(status)] = { description, content: DOWNLOAD_CONTENT };
    else out[String(status)] = { description };
  }
  // Any other 4xx a call answers (e.g. a conflict or a throttle it does not declare) still has this body.
  out['4XX'] = { description: 'Error', content: ERROR_RESPONSE };
  return out;
}

const COMPONENTS = '#/components/schemas/';
/** Where z.toJSONSchema puts a schema with an id that is reached only through another (see responseSchemas). */
const SHARED_REF = /^#\/components\/schemas\/__shared#\/\$defs\/(.+)$/;

const operationIdOf = (path: string) => path.replace(/^\/v2\//, '').replace(/\//g, '_');
const pascal = (s: string) => s.split(/[_/]/).map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('');

/**
 * The response schemas as named components, and each route's reference to its own. A response schema with
 * an id (`File`) is that component; one without is named for its route (`FileCreateResponse`), so every
 * success body is a model in a generated client. Objects reached only inside another (UploadPartInfo)
 * come out of zod under `__shared`; they are lifted to components of their own here.
 */
function responseSchemas(routes: readonly Route[]): { refs: Map<Route, { $ref: string }>; schemas: Record<string, unknown> } {
  const registry = z.registry<{ id: string }>();
  const ids = new Map<z.ZodType, string>();
  const refs = new Map<Route, { $ref: string }>();
  for (const route of routes) {
    if (!route.response) continue;
    let id = ids.get(route.response);
    if (id === undefined) {
      id = (z.globalRegistry.get(route.response)?.id as string | undefined) ?? `${pascal(operationIdOf(route.path))}Response`;
      ids.set(route.response, id);
      registry.add(route.response, { id });
    }
    refs.set(route, { $ref: `${COMPONENTS}${id}` });
  }
  const converted = z.toJSONSchema(registry, { uri: (id) => `${COMPONENTS}${id}`, io: 'output', unrepresentable: 'any' }).schemas;
  const { __shared: shared, ...own } = converted as Record<string, Record<string, unknown>>;
  const schemas: Record<string, unknown> = { ...own, ...((shared?.$defs as Record<string, unknown> | undefined) ?? {}) };
  for (const [id, schema] of Object.entries(schemas)) schemas[id] = forDocument(schema);
  return { refs, schemas };
}

/**
 * One component as the document shows it: without the $schema and $id zod writes for a standalone schema,
 * references to a shared one pointed at its component, and without `additionalProperties: false`. The
 * response schemas are strict so that the test check catches a field the document lacks; a client reading
 * the document should still take a field a later version adds.
 */
function forDocument(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(forDocument);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  // z.number().int() says ±(2^53 - 1); the reference says int64, which generators map to a 64-bit integer.
  const safeInteger = 'minimum' in value && value.minimum === Number.MIN_SAFE_INTEGER && 'maximum' in value && value.maximum === Number.MAX_SAFE_INTEGER;
  for (const [key, v] of Object.entries(value)) {
    if (key === '$schema' || key === '$id' || (key === 'additionalProperties' && v === false)) continue;
    if (safeInteger && (key === 'minimum' || key === 'maximum')) continue;
    out[key] = key === '$ref' && typeof v === 'string' ? v.replace(SHARED_REF, `${COMPONENTS}$1`) : forDocument(v);
  }
  if (safeInteger) out.format = 'int64';
  return out;
}

export function buildOpenApi(registry: RpcRegistry, info: { version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  const components = responseSchemas(registry.routes);
  for (const route of registry.routes) {
    const method = route.method ?? 'post';
    const schema = z.toJSONSchema(route.body, { io: 'input', unrepresentable: 'any' });
    const operation: Record<string, unknown> = {
      summary: route.summary,
      operationId: operationIdOf(route.path),
      tags: [route.path.split('/')[2]],
      security: route.auth ? [{ bearer: [] }] : [],
      responses: responses(route, components.refs.get(route)),
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
        ...components.schemas,
        Error: {
          type: 'object',
          required: ['code', 'message'],
          properties: { code: { type: 'string', examples: ['NotFound.File'] }, message: { type: 'string' }, request_id: { type: 'string' } },
        },
      },
    },
  };
}
