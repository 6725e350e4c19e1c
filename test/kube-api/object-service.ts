import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { admit, type FieldValidation } from './admission';
import { clone, deepEqual, isObject, type Json, type JsonObject } from './json';
import { listTypesFor } from './list-semantics';
import { applyJsonPatch } from './patch/json-patch';
import { applyMergePatch } from './patch/merge-patch';
import { readOwnership, trackUpdate, writeOwnership, type Ownership } from './patch/managed-fields';
import { serverSideApply } from './patch/server-side-apply';
import { applyStrategicMergePatch } from './patch/strategic-merge-patch';
import type { Store } from './store';
import { alreadyExists, badRequest, conflict, forbidden, invalid, KubeApiError, methodNotAllowed, notFound, STALE_OBJECT, unsupportedMediaType } from './status';
import { apiVersionOf, qualifiedResource, type KubeObject, type ResourceType } from './types';

// Create, update, patch and delete with the apiserver's semantics: preconditions, status subresource,
// generation, managedFields, finalizers and deletionTimestamp, dryRun. One pipeline (`commitUpdate`) ends
// every write so the rules hold whichever verb or patch type was used.
export interface WriteRequest {
  type: ResourceType;
  namespace?: string;
  dryRun: boolean;
  fieldManager?: string;
  userAgent?: string;
  fieldValidation: FieldValidation;
  warnings: string[];
  subresource?: 'status';
}

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface ObjectServiceDeps {
  store: Store;
  now(): string;
  /** Called after every committed change (controllers run from it). */
  changed(): void;
  isTerminating(storageKey: string): boolean;
}

const SYSTEM_METADATA = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink'] as const;

/** The manager of a write without ?fieldManager: the user agent's product name, as the apiserver does. */
function managerOf(req: WriteRequest): string {
  return (req.fieldManager ?? req.userAgent?.split('/')[0] ?? 'unknown').slice(0, 128) || 'unknown';
}

export function blockingFinalizers(type: ResourceType, object: KubeObject): string[] {
  const spec = isObject(object.spec) ? object.spec : {};
  const namespaceFinalizers = type.kind === 'Namespace' && type.group === '' && Array.isArray(spec.finalizers) ? (spec.finalizers as string[]) : [];
  return [...(object.metadata.finalizers ?? []), ...namespaceFinalizers];
}

export function createObjectService(deps: ObjectServiceDeps) {
  const { store } = deps;

  /** `owned`: the caller hands `body` over (a fresh parse nobody else holds), so it need not be copied. */
  function decode(req: WriteRequest, body: unknown, owned = false): KubeObject {
    if (!isObject(body)) throw badRequest('the body of the request must be a JSON or YAML object');
    const object = (owned ? body : clone(body)) as unknown as KubeObject;
    const expected = apiVersionOf(req.type);
    object.apiVersion ??= expected;
    object.kind ??= req.type.kind;
    if (object.apiVersion !== expected || object.kind !== req.type.kind) {
      throw badRequest(`the API version in the data (${object.apiVersion}) does not match the expected API version (${expected}) or kind (${object.kind} != ${req.type.kind})`);
    }
    if (!isObject(object.metadata)) object.metadata = {};
    if (req.type.namespaced) {
      if (object.metadata.namespace && object.metadata.namespace !== req.namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      object.metadata.namespace = req.namespace;
    } else {
      delete object.metadata.namespace;
    }
    return object;
  }

  function current(req: WriteRequest, name: string): KubeObject {
    const found = store.get(req.type.storageKey, req.namespace, name);
    if (!found) throw notFound(req.type, name);
    found.apiVersion = apiVersionOf(req.type);
    return found;
  }

  /** A GET: the stored object itself, read-only (the handler serialises it); no copy as `current` makes for a write. */
  function read(type: ResourceType, namespace: string | undefined, name: string): Readonly<KubeObject> {
    const found = store.peek(type.storageKey, namespace, name);
    if (!found) throw notFound(type, name);
    return found;
  }

  function checkNamespace(req: WriteRequest, name: string): void {
    if (!req.type.namespaced) return;
    const ns = store.peek('/namespaces', undefined, req.namespace ?? '');
    if (!ns) throw new KubeApiError(404, 'NotFound', `namespaces "${req.namespace}" not found`, { name: req.namespace ?? '', kind: 'namespaces' });
    if (ns.metadata.deletionTimestamp) {
      throw forbidden(`${req.type.plural} "${name}" is forbidden: unable to create new content in namespace ${req.namespace} because it is being terminated`);
    }
  }

  function create(req: WriteRequest, body: unknown, owners?: Ownership[], owned = false): KubeObject {
    if (deps.isTerminating(req.type.storageKey)) throw methodNotAllowed(`create not allowed while custom resource definition is terminating`);
    let object = decode(req, body, owned);
    const meta = object.metadata;
    for (const key of SYSTEM_METADATA) delete meta[key];
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomUUID().replace(/-/g, '').slice(0, 5)}`;
    checkNamespace(req, meta.name ?? '');
    if (meta.name && store.peek(req.type.storageKey, req.namespace, meta.name)) throw alreadyExists(req.type, meta.name);
    if (req.type.statusSubresource) delete object.status; // status is written only through /status
    object = admit(req.type, object, { fieldValidation: req.fieldValidation, warnings: req.warnings, creating: true });
    object.metadata.uid = randomUUID();
    object.metadata.creationTimestamp = deps.now();
    if (req.type.generation) object.metadata.generation = 1;
    const ctx = { manager: managerOf(req), apiVersion: apiVersionOf(req.type), time: deps.now(), listTypeOf: listTypesFor(req.type) };
    const ownership = owners ?? trackUpdate(undefined, object as unknown as JsonObject, [], ctx);
    object.metadata.managedFields = writeOwnership(ownership);
    if (req.dryRun) return object;
    const created = store.commit(req.type.storageKey, 'ADDED', object);
    deps.changed();
    return created;
  }

  /** The end of every update: subresource rules, admission, ownership, no-op detection, generation. */
  function commitUpdate(req: WriteRequest, live: KubeObject, candidate: KubeObject, owners: Ownership[] | 'track'): KubeObject {
    const { type } = req;
    const name = live.metadata.name!;
    const requested = candidate.metadata.resourceVersion;
    if (requested && requested !== live.metadata.resourceVersion) throw conflict(type, name, STALE_OBJECT);
    // `live` is the caller's own copy (store.get), never stored: `next` may share its parts (a merge patch
    // result already does), as long as nothing below changes a shared part in place.
    let next: KubeObject;
    if (req.subresource === 'status') {
      next = { ...live, metadata: { ...live.metadata } };
      if (candidate.status === undefined) delete next.status;
      else next.status = candidate.status;
    } else {
      next = candidate;
      if (type.statusSubresource) {
        if (live.status === undefined) delete next.status;
        else next.status = live.status;
      }
      if (next.metadata.name !== name) throw badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`);
      for (const key of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'namespace'] as const) {
        if (live.metadata[key] === undefined) delete next.metadata[key];
        else (next.metadata as Record<string, unknown>)[key] = live.metadata[key];
      }
    }
    next.apiVersion = live.apiVersion;
    next.kind = live.kind;
    if (live.metadata.deletionTimestamp) {
      const added = (next.metadata.finalizers ?? []).filter((f) => !(live.metadata.finalizers ?? []).includes(f));
      if (added.length > 0) {
        throw invalid(type, name, [{ reason: 'FieldValueForbidden', message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`, field: 'metadata.finalizers' }]);
      }
    }
    next = admit(type, next, { fieldValidation: req.fieldValidation, warnings: req.warnings, creating: false, old: live });
    const ctx = { manager: managerOf(req), apiVersion: apiVersionOf(type), time: deps.now(), listTypeOf: listTypesFor(type), ...(req.subresource ? { subresource: req.subresource } : {}) };
    const liveOwners = readOwnership(live.metadata.managedFields);
    // A client that sends managedFields back unchanged (GET then PUT) keeps the server's; sending
    // different ones replaces them, as on a real server.
    const sent = candidate.metadata.managedFields;
    const base = sent === undefined || deepEqual(sent, live.metadata.managedFields) ? liveOwners : readOwnership(sent);
    const ownership = owners === 'track' ? trackUpdate(strip(live), strip(next), base, ctx) : owners;
    next.metadata.managedFields = writeOwnership(ownership);
    next.metadata.resourceVersion = live.metadata.resourceVersion;
    if (deepEqual(withoutTimes(next), withoutTimes(live))) return live; // no-op writes keep the resourceVersion
    if (type.generation && specChanged(type, live, next)) next.metadata.generation = (live.metadata.generation ?? 0) + 1;
    if (req.dryRun) return next;
    if (next.metadata.deletionTimestamp && blockingFinalizers(type, next).length === 0) {
      const gone = store.commit(type.storageKey, 'DELETED', next, live);
      deps.changed();
      return gone;
    }
    const updated = store.commit(type.storageKey, 'MODIFIED', next, live);
    deps.changed();
    return updated;
  }

  function update(req: WriteRequest, name: string, body: unknown): KubeObject {
    const live = current(req, name);
    const candidate = decode(req, body);
    if (!candidate.metadata.resourceVersion && req.type.custom && req.subresource !== 'status') {
      throw invalid(req.type, name, [{ reason: 'FieldValueInvalid', message: 'Invalid value: 0x0: must be specified for an update', field: 'metadata.resourceVersion' }]);
    }
    return commitUpdate(req, live, candidate, 'track');
  }

  function patch(req: WriteRequest, name: string, contentType: string, raw: string, force: boolean): KubeObject {
    const mediaType = contentType.split(';')[0]!.trim();
    if (mediaType === 'application/apply-patch+yaml' || mediaType === 'application/apply-patch+json') return apply(req, name, raw, force);
    const live = store.get(req.type.storageKey, req.namespace, name);
    if (!live) throw notFound(req.type, name);
    live.apiVersion = apiVersionOf(req.type);
    const body = parseJson(raw);
    let patched: Json;
    if (mediaType === 'application/merge-patch+json') patched = applyMergePatch(live as unknown as Json, body);
    else if (mediaType === 'application/json-patch+json') patched = applyJsonPatch(live as unknown as Json, body);
    else if (mediaType === 'application/strategic-merge-patch+json' && !req.type.custom) {
      if (!isObject(body)) throw badRequest('strategic merge patch must be an object');
      patched = applyStrategicMergePatch(live as unknown as JsonObject, body, listTypesFor(req.type));
    } else throw unsupportedMediaType(contentType);
    if (!isObject(patched) || !isObject(patched.metadata)) throw badRequest('the patch removed the object metadata');
    return commitUpdate(req, live, patched as unknown as KubeObject, 'track');
  }

  function apply(req: WriteRequest, name: string, raw: string, force: boolean): KubeObject {
    if (!req.fieldManager) throw badRequest('PATCH, application/apply-patch+yaml requires fieldManager to be set');
    const parsed = parseApplyBody(raw);
    if (!isObject(parsed)) throw badRequest('the apply configuration must be an object');
    const applied = parsed; // a fresh parse: ours to change
    if (!applied.apiVersion || !applied.kind) throw badRequest('invalid object type: apiVersion and kind are required');
    const meta = isObject(applied.metadata) ? applied.metadata : (applied.metadata = {});
    if (meta.name !== undefined && meta.name !== name) throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
    meta.name = name;
    delete meta.namespace; // the URL decides; create() and commitUpdate() set it
    // Only the subresource's own part of the configuration counts (status for /status, the rest otherwise).
    if (req.subresource === 'status') for (const key of Object.keys(applied)) if (!['apiVersion', 'kind', 'metadata', 'status'].includes(key)) delete applied[key];
    if (req.subresource !== 'status' && req.type.statusSubresource) delete applied.status;
    const ctx = { manager: req.fieldManager, force, apiVersion: apiVersionOf(req.type), time: deps.now(), listTypeOf: listTypesFor(req.type), describe: `${qualifiedResource(req.type)} "${name}"`, ...(req.subresource ? { subresource: req.subresource } : {}) };
    const live = store.get(req.type.storageKey, req.namespace, name);
    if (!live) {
      if (req.subresource === 'status') throw notFound(req.type, name);
      const { owners } = serverSideApply({}, applied, [], ctx);
      return create(req, applied, owners, true);
    }
    live.apiVersion = apiVersionOf(req.type);
    const result = serverSideApply(live as unknown as JsonObject, applied, readOwnership(live.metadata.managedFields), ctx);
    const candidate = result.object as unknown as KubeObject;
    // The resourceVersion only acts as a precondition when the applier sent one.
    candidate.metadata.resourceVersion = typeof meta.resourceVersion === 'string' ? meta.resourceVersion : live.metadata.resourceVersion;
    return commitUpdate(req, live, candidate, result.owners);
  }

  function remove(req: WriteRequest, name: string, options: DeleteOptions): KubeObject {
    const live = current(req, name);
    const pre = options.preconditions ?? {};
    if (pre.uid && pre.uid !== live.metadata.uid) throw conflict(req.type, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${live.metadata.uid}`);
    if (pre.resourceVersion && pre.resourceVersion !== live.metadata.resourceVersion) {
      throw conflict(req.type, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${live.metadata.resourceVersion}`);
    }
    const policy = options.propagationPolicy ?? (options.orphanDependents === true ? 'Orphan' : 'Background');
    const next = clone(live);
    const finalizer = policy === 'Foreground' ? 'foregroundDeletion' : policy === 'Orphan' ? 'orphan' : undefined;
    if (finalizer && !(next.metadata.finalizers ?? []).includes(finalizer)) next.metadata.finalizers = [...(next.metadata.finalizers ?? []), finalizer];
    if (blockingFinalizers(req.type, next).length === 0) {
      if (req.dryRun) return live;
      const gone = store.commit(req.type.storageKey, 'DELETED', next, live);
      deps.changed();
      return gone;
    }
    // Finalizers hold the object: it stays, marked for deletion, until its finalizers are all removed.
    if (!next.metadata.deletionTimestamp) {
      next.metadata.deletionTimestamp = deps.now();
      next.metadata.deletionGracePeriodSeconds = 0;
      if (req.type.generation) next.metadata.generation = (next.metadata.generation ?? 0) + 1;
      if (req.type.kind === 'Namespace' && req.type.group === '') next.status = { ...(isObject(next.status) ? next.status : {}), phase: 'Terminating' };
    }
    if (deepEqual(next, live) || req.dryRun) return next;
    const marked = store.commit(req.type.storageKey, 'MODIFIED', next, live);
    deps.changed();
    return marked;
  }

  return { create, update, patch, remove, get: current, read };
}

export type ObjectService = ReturnType<typeof createObjectService>;

function parseJson(raw: string): Json {
  try {
    return JSON.parse(raw) as Json;
  } catch (error) {
    throw badRequest(`error decoding patch: ${(error as Error).message}`);
  }
}

/**
 * An apply configuration is YAML, but clients (client-node, the operator) send JSON, which the YAML parser
 * handles some fifty times slower than JSON.parse. JSON is YAML, with one catch: YAML rejects a duplicate
 * key where JSON.parse keeps the last, so JSON with a duplicate key still goes through the YAML parser
 * (and gets its error, as on a real apiserver).
 */
function parseApplyBody(raw: string): unknown {
  if (/^\s*\{/.test(raw)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined; // not JSON after all (flow-style YAML): the YAML parser decides
    }
    if (parsed !== undefined && !hasDuplicateKey(raw)) return parsed;
  }
  return parseYaml(raw);
}

/** Whether a valid JSON text repeats a key within one object: one linear scan over its tokens. */
function hasDuplicateKey(json: string): boolean {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const open: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      if (expectKey) {
        // Escapes decoded, so "a" and "\u0061" are the same key, as both parsers see them.
        const text = json.slice(i + 1, end);
        const key = text.includes('\\') ? (JSON.parse(json.slice(i, end + 1)) as string) : text;
        const keys = open[open.length - 1]!;
        if (keys.has(key)) return true;
        keys.add(key);
        expectKey = false;
      }
      i = end;
    } else if (c === '{') {
      open.push(new Set());
      expectKey = true;
    } else if (c === '[') open.push(null);
    else if (c === '}' || c === ']') open.pop();
    else if (c === ',') expectKey = open[open.length - 1] instanceof Set;
  }
  return false;
}

function strip(object: KubeObject): JsonObject {
  return object as unknown as JsonObject;
}

/** The object with every managedFields time blanked, for no-op detection; shares everything else (no deep copy). */
function withoutTimes(object: KubeObject): unknown {
  const entries = object.metadata.managedFields;
  if (!Array.isArray(entries)) return object;
  return { ...object, metadata: { ...object.metadata, managedFields: entries.map((entry) => ({ ...entry, time: '' })) } };
}

function specChanged(type: ResourceType, before: KubeObject, after: KubeObject): boolean {
  const rest = (o: KubeObject) => {
    const { metadata: _m, status, ...others } = o;
    return type.statusSubresource ? others : { ...others, status };
  };
  return !deepEqual(rest(before), rest(after));
}
