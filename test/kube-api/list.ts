import { parseFieldSelector, parseLabelSelector } from './selectors';
import { badRequest } from './status';
import type { Store } from './store';
import { objectKey } from './store';
import { apiVersionOf, type KubeObject, type ResourceType } from './types';

// Lists with selectors and limit/continue. The continue token names the last key returned; the next page
// starts after it in the current state (the apiserver serves the page from the original snapshot, a
// difference no paging client can rely on anyway because its results may be outdated either way).
export interface ListQuery {
  namespace?: string;
  labelSelector?: string | null;
  fieldSelector?: string | null;
  limit?: number;
  continueToken?: string | null;
}

export function matcherFor(type: ResourceType, query: Pick<ListQuery, 'labelSelector' | 'fieldSelector' | 'namespace'>): (o: KubeObject) => boolean {
  const labels = parseLabelSelector(query.labelSelector);
  const fields = parseFieldSelector(query.fieldSelector, type);
  return (o) => (query.namespace === undefined || o.metadata.namespace === query.namespace) && labels(o) && fields(o);
}

export function withVersion(type: ResourceType, object: KubeObject): KubeObject {
  return { ...object, apiVersion: apiVersionOf(type), kind: type.kind };
}

// Stored objects are immutable, so one JSON text per (object, served version) serves every watch that sends
// it and the answer to the write that stored it: an informer per kind in the operator, the tests' own and
// the writer would otherwise each serialise it.
const serialized = new WeakMap<KubeObject, Map<string, string>>();

/** JSON.stringify(withVersion(type, object)) of a stored (never mutated) object, computed once. */
export function servedJson(type: ResourceType, object: KubeObject): string {
  let byVersion = serialized.get(object);
  if (!byVersion) serialized.set(object, (byVersion = new Map()));
  const key = `${type.group}/${type.version}/${type.kind}`;
  let json = byVersion.get(key);
  if (json === undefined) byVersion.set(key, (json = JSON.stringify(withVersion(type, object))));
  return json;
}

export function listObjects(store: Store, type: ResourceType, query: ListQuery) {
  const matches = matcherFor(type, query);
  // The stored objects themselves (no copies): withVersion below copies the top level of what is served.
  let items = store.peekList(type.storageKey, query.namespace).filter(matches);
  if (query.continueToken) {
    let after: string;
    try {
      after = (JSON.parse(Buffer.from(query.continueToken, 'base64url').toString('utf8')) as { after: string }).after;
    } catch {
      throw badRequest('continue key is not valid');
    }
    items = items.filter((o) => objectKey(o.metadata.namespace, o.metadata.name!) > after);
  }
  const metadata: Record<string, unknown> = { resourceVersion: String(store.currentResourceVersion()) };
  if (query.limit && query.limit > 0 && items.length > query.limit) {
    const remaining = items.length - query.limit;
    items = items.slice(0, query.limit);
    const last = items[items.length - 1]!;
    metadata.continue = Buffer.from(JSON.stringify({ after: objectKey(last.metadata.namespace, last.metadata.name!) })).toString('base64url');
    metadata.remainingItemCount = remaining;
  }
  return { items: items.map((o) => withVersion(type, o)), metadata };
}
