/**
 * REST paths for any kind a folder of manifests may hold, found through API discovery as kubectl does
 * (`/api/v1`, `/apis/GROUP/VERSION`). The operator's kube client keeps a static table of the kinds its
 * charts write; `openpds plan/apply` takes whatever the user wrote, CRD kinds included.
 */
import { KubeApiError, type KubeClient } from '../kube/kube-client';

export interface Resource {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export type Resolved = { resource: Resource } | { error: string };

interface ApiResourceList {
  resources?: { name: string; kind: string; namespaced: boolean }[];
}

export interface ResourceResolver {
  resolve(apiVersion: string, kind: string): Promise<Resolved>;
  /** A kind the apply set recorded by group only: found in the group's preferred version. */
  resolveGroupKind(group: string, kind: string): Promise<Resolved | { gone: true }>;
  /** Ask discovery again next time (a CustomResourceDefinition was just applied). */
  forget(apiVersion: string): void;
}

/** One discovery request per group version, however many objects use it. */
export function createResourceResolver(client: KubeClient): ResourceResolver {
  const lists = new Map<string, Promise<ApiResourceList | { error: string }>>();
  const load = (apiVersion: string) => {
    let list = lists.get(apiVersion);
    if (!list) {
      list = client.request<ApiResourceList>('GET', groupVersionPath(apiVersion)).catch((error: unknown) => ({
        error: isStatus(error, 404) ? `the server does not serve ${apiVersion} (is its CustomResourceDefinition installed?)` : serverMessage(error),
      }));
      lists.set(apiVersion, list);
    }
    return list;
  };
  return {
    async resolve(apiVersion, kind) {
      const list = await load(apiVersion);
      if ('error' in list) return list;
      // Subresources (`deployments/status`) carry their parent's kind: only the top-level entry names the resource.
      const found = (list.resources ?? []).find((r) => r.kind === kind && !r.name.includes('/'));
      if (!found) return { error: `the server has no kind ${kind} in ${apiVersion} (is its CustomResourceDefinition installed?)` };
      return { resource: { apiVersion, kind, plural: found.name, namespaced: found.namespaced } };
    },
    async resolveGroupKind(group, kind) {
      if (!group) return this.resolve('v1', kind);
      let version: string | undefined;
      try {
        version = (await client.request<{ preferredVersion?: { version?: string } }>('GET', `/apis/${group}`)).preferredVersion?.version;
      } catch (error) {
        // The group is served no more (its CRD deleted): its objects went with it, nothing to prune.
        if (isStatus(error, 404)) return { gone: true };
        return { error: serverMessage(error) };
      }
      if (!version) return { gone: true };
      const resolved = await this.resolve(`${group}/${version}`, kind);
      return 'error' in resolved && resolved.error.startsWith('the server has no kind') ? { gone: true } : resolved;
    },
    forget(apiVersion) {
      lists.delete(apiVersion);
    },
  };
}

function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** The collection (across all namespaces when `namespace` is undefined) or one object. */
export function pathOf(resource: Resource, namespace: string | undefined, name?: string): string {
  const ns = resource.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${groupVersionPath(resource.apiVersion)}${ns}/${resource.plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export function isStatus(error: unknown, status: number): boolean {
  return error instanceof KubeApiError && error.status === status;
}

/**
 * The API server's own message: the kube client prefixes it with the method, path and status, which
 * says nothing a user of plan/apply needs. Anything else (a refused connection) keeps its text.
 */
export function serverMessage(error: unknown): string {
  if (error instanceof KubeApiError) return error.message.replace(/^[A-Z]+ \S+: \d+ /, '');
  return error instanceof Error ? error.message : String(error);
}
