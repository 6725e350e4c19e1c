import { createHash } from 'node:crypto';
import type { JsonObject } from './json';
import type { Registry } from './registry';
import type { ResourceType } from './types';

// OpenAPI v3, one document per group/version, as `kubectl apply` reads it: it looks for the PATCH operation
// carrying x-kubernetes-group-version-kind and checks that it declares a `fieldValidation` parameter
// (server-side field validation). The PATCH request bodies deliberately omit the strategic-merge media type:
// kubectl then builds strategic patches for built-in kinds from its compiled-in types (exact patch
// metadata) instead of from these schemas, which carry none.
function schemaName(t: ResourceType): string {
  const group = t.group ? t.group.split('.').reverse().join('.') : 'io.k8s.api.core';
  return `${group}.${t.version}.${t.kind}`;
}

function objectSchema(t: ResourceType): JsonObject {
  const gvk = [{ group: t.group, version: t.version, kind: t.kind }];
  const base: JsonObject = t.schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  const properties = { ...((base.properties as JsonObject | undefined) ?? {}), apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' } };
  return { ...base, properties, 'x-kubernetes-group-version-kind': gvk };
}

function operations(t: ResourceType, item: boolean, subresource: boolean): JsonObject {
  const gvk = { group: t.group, version: t.version, kind: t.kind };
  const ref = { $ref: `#/components/schemas/${schemaName(t)}` };
  const ok = { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } };
  const query = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });
  const op = (action: string, extra: JsonObject = {}): JsonObject => ({ 'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvk, responses: ok, ...extra });
  if (!item) {
    return {
      get: op('list', { parameters: ['labelSelector', 'fieldSelector', 'limit', 'continue', 'resourceVersion', 'watch'].map(query) }),
      ...(subresource ? {} : { post: op('post', { parameters: ['dryRun', 'fieldManager', 'fieldValidation'].map(query), requestBody: { content: { 'application/json': { schema: ref } } } }) }),
    };
  }
  const patchBody = { content: Object.fromEntries(['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'].map((m) => [m, { schema: { type: 'object' } }])) };
  return {
    get: op('get'),
    put: op('put', { parameters: ['dryRun', 'fieldManager', 'fieldValidation'].map(query), requestBody: { content: { 'application/json': { schema: ref } } } }),
    patch: op('patch', { parameters: ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map(query), requestBody: patchBody }),
    ...(subresource ? {} : { delete: op('delete', { parameters: ['dryRun', 'gracePeriodSeconds', 'propagationPolicy'].map(query) }) }),
  };
}

export function groupVersionDocument(registry: Registry, group: string, version: string): JsonObject | undefined {
  const types = registry.all().filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const paths: JsonObject = {};
  const schemas: JsonObject = {};
  for (const t of types) {
    const collection = t.namespaced ? `${prefix}/namespaces/{namespace}/${t.plural}` : `${prefix}/${t.plural}`;
    paths[collection] = operations(t, false, false);
    paths[`${collection}/{name}`] = operations(t, true, false);
    if (t.statusSubresource) paths[`${collection}/{name}/status`] = operations(t, true, true);
    if (t.namespaced) paths[`${prefix}/${t.plural}`] = { get: operations(t, false, true).get! };
    schemas[schemaName(t)] = objectSchema(t);
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas } };
}

export function openApiRoot(registry: Registry): JsonObject {
  const paths: JsonObject = {};
  for (const g of registry.groups()) {
    for (const version of g.versions) {
      const doc = groupVersionDocument(registry, g.name, version)!;
      const key = g.name ? `apis/${g.name}/${version}` : `api/${version}`;
      // The hash makes the URL change with the content, which is what kubectl's disk cache keys on.
      const hash = createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();
      paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
    }
  }
  return { paths };
}
