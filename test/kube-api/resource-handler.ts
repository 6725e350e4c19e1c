import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { FieldValidation } from './admission';
import { readBody, sendJson, sendJsonText } from './http-io';
import { listObjects, matcherFor, servedJson, withVersion } from './list';
import type { DeleteOptions, ObjectService, WriteRequest } from './object-service';
import { badRequest, methodNotAllowed, notFound, unsupportedMediaType } from './status';
import type { Store } from './store';
import { toTable, wantsTable } from './table';
import { apiVersionOf, type ResourceType } from './types';
import { serveWatch } from './watch';
import type { WatchHub } from './watch-hub';

// Verb dispatch for resource URLs: GET (get, list, watch), POST (create), PUT (update), PATCH (patch and
// server-side apply), DELETE (delete, deletecollection), on the object or its status subresource.
export interface ResourceRoute {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  watchPath: boolean;
}

export interface ResourceHandlerDeps {
  store: Store;
  hub: WatchHub;
  objects: ObjectService;
  bookmarkIntervalMs: number;
}

const FIELD_VALIDATION = new Set(['Ignore', 'Warn', 'Strict']);

function writeRequest(route: ResourceRoute, req: IncomingMessage, query: URLSearchParams): WriteRequest {
  const dryRun = query.getAll('dryRun');
  if (dryRun.some((d) => d !== 'All')) throw badRequest(`Invalid value: "${dryRun.join(',')}": supported values: "All"`);
  const fieldValidation = query.get('fieldValidation') ?? 'Warn';
  if (!FIELD_VALIDATION.has(fieldValidation)) throw badRequest(`fieldValidation must be one of Ignore, Warn, Strict; got ${fieldValidation}`);
  const fieldManager = query.get('fieldManager');
  return {
    type: route.type,
    ...(route.namespace !== undefined ? { namespace: route.namespace } : {}),
    dryRun: dryRun.length > 0,
    ...(fieldManager ? { fieldManager } : {}),
    ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}),
    fieldValidation: fieldValidation as FieldValidation,
    warnings: [],
    ...(route.subresource === 'status' ? { subresource: 'status' as const } : {}),
  };
}

function parseBody(raw: string, contentType: string | undefined): unknown {
  const media = (contentType ?? 'application/json').split(';')[0]!.trim();
  if (raw.trim() === '') return undefined;
  if (media === 'application/json' || media === '*/*') {
    try {
      return JSON.parse(raw);
    } catch (error) {
      throw badRequest(`couldn't get version/kind; json parse error: ${(error as Error).message}`);
    }
  }
  if (media === 'application/yaml') return parseYaml(raw);
  throw unsupportedMediaType(media);
}

function deleteOptions(body: unknown, query: URLSearchParams): DeleteOptions {
  const options = (body ?? {}) as DeleteOptions & { dryRun?: string[] };
  const policy = query.get('propagationPolicy');
  if (policy === 'Background' || policy === 'Foreground' || policy === 'Orphan') options.propagationPolicy = policy;
  if (query.get('orphanDependents') !== null) options.orphanDependents = query.get('orphanDependents') === 'true';
  return options;
}

export async function handleResource(deps: ResourceHandlerDeps, route: ResourceRoute, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const { type, name } = route;
  const method = req.method ?? 'GET';
  if (route.subresource !== undefined && route.subresource !== 'status') throw notFound(type, `${name}/${route.subresource}`);
  if (route.subresource === 'status' && !type.statusSubresource) throw notFound(type, `${name}/status`);

  if (method === 'GET') {
    const accept = req.headers.accept;
    const watching = route.watchPath || query.get('watch') === 'true' || query.get('watch') === '1';
    const selection = {
      ...(route.namespace !== undefined ? { namespace: route.namespace } : {}),
      labelSelector: query.get('labelSelector'),
      // A watch on a named object (legacy /watch/.../name path) is a watch with a name field selector.
      fieldSelector: [query.get('fieldSelector'), name && watching ? `metadata.name=${name}` : ''].filter(Boolean).join(',') || null,
    };
    if (watching) {
      const rv = query.get('resourceVersion');
      const timeout = query.get('timeoutSeconds');
      return serveWatch(res, deps.hub, deps.store, {
        type,
        matches: matcherFor(type, selection),
        ...(rv ? { resourceVersion: rv } : {}),
        ...(timeout ? { timeoutSeconds: Number(timeout) } : {}),
        allowBookmarks: query.get('allowWatchBookmarks') === 'true',
        sendInitialEvents: query.get('sendInitialEvents') === 'true',
        bookmarkIntervalMs: deps.bookmarkIntervalMs,
      });
    }
    if (name !== undefined) {
      const stored = deps.objects.read(type, route.namespace, name);
      if (!wantsTable(accept)) return sendJsonText(res, 200, servedJson(type, stored));
      const object = withVersion(type, stored);
      return sendJson(res, 200, toTable(type, [object], { resourceVersion: object.metadata.resourceVersion }, query.get('includeObject')));
    }
    const limit = query.get('limit');
    const list = listObjects(deps.store, type, { ...selection, ...(limit ? { limit: Number(limit) } : {}), continueToken: query.get('continue') });
    const body = wantsTable(accept) ? toTable(type, list.items, list.metadata, query.get('includeObject')) : { kind: type.listKind, apiVersion: apiVersionOf(type), metadata: list.metadata, items: list.items };
    return sendJson(res, 200, body);
  }

  const write = writeRequest(route, req, query);
  const raw = await readBody(req);
  const contentType = req.headers['content-type'];
  if (method === 'POST' && name === undefined) {
    const created = deps.objects.create(write, parseBody(raw, contentType));
    // The stored object, serialised once for this answer and every watch that sends it.
    return sendJsonText(res, 201, servedJson(type, created), write.warnings);
  }
  if (method === 'PUT' && name !== undefined) {
    const updated = deps.objects.update(write, name, parseBody(raw, contentType));
    return sendJsonText(res, 200, servedJson(type, updated), write.warnings);
  }
  if (method === 'PATCH' && name !== undefined) {
    const existed = deps.store.peek(type.storageKey, route.namespace, name) !== undefined;
    const patched = deps.objects.patch(write, name, contentType ?? '', raw, query.get('force') === 'true');
    return sendJsonText(res, existed ? 200 : 201, servedJson(type, patched), write.warnings);
  }
  if (method === 'DELETE') {
    const options = deleteOptions(parseBody(raw, contentType), query);
    if (Array.isArray((options as { dryRun?: unknown }).dryRun)) write.dryRun = true;
    if (name !== undefined) return sendJson(res, 200, withVersion(type, deps.objects.remove(write, name, options)));
    const selection = { ...(route.namespace !== undefined ? { namespace: route.namespace } : {}), labelSelector: query.get('labelSelector'), fieldSelector: query.get('fieldSelector') };
    const doomed = listObjects(deps.store, type, selection).items;
    const items = doomed.map((o) => withVersion(type, deps.objects.remove({ ...write, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) }, o.metadata.name!, options)));
    return sendJson(res, 200, { kind: type.listKind, apiVersion: apiVersionOf(type), metadata: { resourceVersion: String(deps.store.currentResourceVersion()) }, items });
  }
  throw methodNotAllowed(`the server does not allow this method on the requested resource`);
}

