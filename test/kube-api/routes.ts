import type { Registry } from './registry';
import type { ResourceType } from './types';

// URL → what is asked for. Resource paths follow the apiserver's layout:
//   /api/v1[/watch][/namespaces/{ns}]/{plural}[/{name}[/{subresource}]]
//   /apis/{group}/{version}[/watch][/namespaces/{ns}]/{plural}[/{name}[/{subresource}]]
// `/api/v1/namespaces/{name}` is the Namespace itself, told apart by whether segment 3 names a namespaced kind.
export type Route =
  | { kind: 'version' | 'health' | 'api' | 'apis' | 'openapi-root' }
  | { kind: 'group'; group: string }
  | { kind: 'resource-list'; group: string; version: string }
  | { kind: 'openapi'; group: string; version: string }
  | { kind: 'resource'; type: ResourceType; namespace?: string; name?: string; subresource?: string; watchPath: boolean }
  | { kind: 'not-found' };

export function parseRoute(pathname: string, registry: Registry): Route {
  const s = pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  const [first, second] = s;
  if (s.length === 1 && first === 'version') return { kind: 'version' };
  if (s.length === 1 && (first === 'healthz' || first === 'readyz' || first === 'livez')) return { kind: 'health' };
  if (first === 'openapi' && second === 'v3') {
    if (s.length === 2) return { kind: 'openapi-root' };
    if (s[2] === 'api' && s.length === 4) return { kind: 'openapi', group: '', version: s[3]! };
    if (s[2] === 'apis' && s.length === 5) return { kind: 'openapi', group: s[3]!, version: s[4]! };
    return { kind: 'not-found' };
  }
  let group: string;
  let version: string;
  let rest: string[];
  if (first === 'api') {
    if (s.length === 1) return { kind: 'api' };
    [group, version, rest] = ['', second!, s.slice(2)];
  } else if (first === 'apis') {
    if (s.length === 1) return { kind: 'apis' };
    if (s.length === 2) return { kind: 'group', group: second! };
    [group, version, rest] = [second!, s[2]!, s.slice(3)];
  } else {
    return { kind: 'not-found' };
  }
  if (rest.length === 0) return { kind: 'resource-list', group, version };
  const watchPath = rest[0] === 'watch';
  if (watchPath) rest = rest.slice(1);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && registry.find(group, version, rest[2]!)?.namespaced) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, extra] = rest;
  const type = plural === undefined ? undefined : registry.find(group, version, plural);
  if (!type || extra !== undefined) return { kind: 'not-found' };
  if (namespace !== undefined && !type.namespaced) return { kind: 'not-found' };
  if (type.namespaced && namespace === undefined && name !== undefined) return { kind: 'not-found' };
  return { kind: 'resource', type, ...(namespace !== undefined ? { namespace } : {}), ...(name !== undefined ? { name } : {}), ...(subresource !== undefined ? { subresource } : {}), watchPath };
}
