/**
 * `openpds plan/apply` against a cluster: every object of the folder goes through a server-side apply
 * (with dryRun=All for plan) under one field manager, and the answer is compared with the live object, so
 * the plan shows what the API server itself would do: its defaults, its validation, its admission.
 *
 * Objects this command applied earlier carry two labels, the manager and the apply set (by default the
 * folder's name). Objects of the set that left the folder are deleted, as `kubectl apply --prune` does;
 * nothing without both labels is ever touched.
 */
import type { KubeClient, KubeObject } from '../kube/kube-client';
import { createResourceResolver, isStatus, pathOf, serverMessage, type Resource, type ResourceResolver } from './cluster-resources';
import type { ManifestDocument } from './manifests';
import { diffObjects, type ObjectChange } from './object-diff';

export const CLI_FIELD_MANAGER = 'openpds-cli';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const APPLY_SET_LABEL = 'openpds.io/apply-set';

/** The openpds.io kinds are always searched for objects to prune, even when the folder holds none any more. */
const OPENPDS_KINDS = ['Domain', 'Drive', 'UserSystem', 'OAuthApp'].map((kind) => ({ apiVersion: 'openpds.io/v1alpha1', kind }));

/** Applied before the rest: the objects others live in or are made of. */
const FIRST_KINDS = new Set(['Namespace', 'CustomResourceDefinition']);

export type ClusterAction = 'create' | 'update' | 'unchanged' | 'delete' | 'error';

export interface ClusterPlanEntry {
  action: ClusterAction;
  kind: string;
  /** `namespace/name`, or the name of a cluster-scoped object. */
  name: string;
  changes: ObjectChange[];
  /** Why it failed (the server's message), or a remark on a create. */
  message?: string;
}

export interface ClusterPlanOptions {
  client: KubeClient;
  documents: ManifestDocument[];
  setName: string;
  /** For objects that name none (the kubeconfig context's namespace, or `-n`). */
  namespace: string;
  dryRun: boolean;
  /** Take over fields another manager owns (kubectl's --force-conflicts) instead of failing. */
  forceConflicts: boolean;
  /** Documents of the folder that could not even be parsed (counted, they hold back pruning). */
  unreadable?: number;
}

interface Desired {
  index: number;
  resource: Resource;
  namespace: string | undefined;
  object: KubeObject;
}

export interface ClusterPlan {
  entries: ClusterPlanEntry[];
  /** Why nothing was pruned, when something held it back. */
  pruneSkipped?: string;
}

export async function planCluster(options: ClusterPlanOptions): Promise<ClusterPlan> {
  const resolver = createResourceResolver(options.client);
  const entries: ClusterPlanEntry[] = new Array(options.documents.length);
  const desired: Desired[] = [];
  const seen = new Map<string, string>();
  for (const [index, { where, object }] of options.documents.entries()) {
    const kind = String(object.kind ?? '?');
    const name = object.metadata?.name;
    if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || typeof name !== 'string' || !name) {
      entries[index] = { action: 'error', kind, name: `${where}`, changes: [], message: 'apiVersion, kind and metadata.name are required' };
      continue;
    }
    const resolved = await resolver.resolve(object.apiVersion, object.kind);
    if ('error' in resolved) {
      entries[index] = { action: 'error', kind, name: displayName(object.metadata?.namespace ?? options.namespace, name), changes: [], message: resolved.error };
      continue;
    }
    const namespace = resolved.resource.namespaced ? (object.metadata?.namespace ?? options.namespace) : undefined;
    const key = identity(resolved.resource, namespace, name);
    const earlier = seen.get(key);
    if (earlier) {
      entries[index] = { action: 'error', kind, name: displayName(namespace, name), changes: [], message: `also defined in ${earlier}: one object, one manifest` };
      continue;
    }
    seen.set(key, where);
    desired.push({ index, resource: resolved.resource, namespace, object: stamp(object as KubeObject, namespace, options.setName) });
  }

  const unresolved = options.documents.length - desired.length;
  const creatingNamespaces = new Set<string>();
  const phases = [desired.filter((d) => FIRST_KINDS.has(d.resource.kind)), desired.filter((d) => !FIRST_KINDS.has(d.resource.kind))];
  for (const phase of phases) {
    for (const d of phase) {
      const entry = await applyOne(options, d, creatingNamespaces);
      entries[d.index] = entry;
      if (entry.action === 'create' && d.resource.kind === 'Namespace' && d.resource.apiVersion === 'v1') creatingNamespaces.add(d.object.metadata!.name!);
    }
  }

  // A manifest that could not be read or resolved is still in the folder, but its live object would look
  // removed: pruning now would delete what a YAML typo or a missing CRD merely hid. (A manifest the server
  // refuses is no such case: its identity is known, so its live object is never taken for removed.)
  const unread = (options.unreadable ?? 0) + unresolved;
  if (unread > 0) {
    return { entries: entries.filter(Boolean), pruneSkipped: `${unread} manifest${unread === 1 ? '' : 's'} of the folder could not be read or resolved, so nothing is deleted` };
  }
  const prunes = await findPrunable(options, resolver, desired);
  for (const p of prunes) entries.push(p.entry.action === 'error' || options.dryRun ? p.entry : await deleteOne(options.client, p));
  return { entries: entries.filter(Boolean) };
}

async function applyOne(options: ClusterPlanOptions, d: Desired, creatingNamespaces: Set<string>): Promise<ClusterPlanEntry> {
  const name = d.object.metadata!.name!;
  const base = { kind: d.resource.kind, name: displayName(d.namespace, name), changes: [] as ObjectChange[] };
  const path = pathOf(d.resource, d.namespace, name);
  try {
    const live = await options.client.request<KubeObject>('GET', path).catch((error: unknown) => {
      if (isStatus(error, 404)) return undefined;
      throw error;
    });
    let next: KubeObject;
    try {
      next = await options.client.request<KubeObject>('PATCH', path, {
        body: d.object,
        contentType: 'application/apply-patch+yaml',
        // Strict: a misspelt field is an error, as with `kubectl apply --server-side`, not silently pruned.
        query: { fieldManager: CLI_FIELD_MANAGER, force: options.forceConflicts, fieldValidation: 'Strict', ...(options.dryRun ? { dryRun: 'All' } : {}) },
      });
    } catch (error) {
      // A dry run cannot create an object in a namespace that the same plan only creates: the apply will.
      if (options.dryRun && !live && d.namespace && creatingNamespaces.has(d.namespace) && isStatus(error, 404)) {
        return { ...base, action: 'create', message: `namespace ${d.namespace} is created by this plan: the server checks this object on apply` };
      }
      throw error;
    }
    if (!live) return { ...base, action: 'create' };
    const changes = diffObjects(live, next);
    return { ...base, action: changes.length > 0 ? 'update' : 'unchanged', changes };
  } catch (error) {
    return { ...base, action: 'error', message: serverMessage(error) };
  }
}

/** The object as applied: in its namespace, labelled as a member of the set (that is how prune finds it). */
function stamp(object: KubeObject, namespace: string | undefined, setName: string): KubeObject {
  const metadata = { ...object.metadata };
  if (namespace) metadata.namespace = namespace;
  else delete metadata.namespace;
  metadata.labels = { ...metadata.labels, [MANAGED_BY_LABEL]: CLI_FIELD_MANAGER, [APPLY_SET_LABEL]: setName };
  return { ...object, metadata };
}

interface Prunable {
  entry: ClusterPlanEntry;
  resource: Resource;
  namespace: string | undefined;
  name: string;
}

/**
 * Members of the set that the folder no longer holds, across the kinds the folder holds and the openpds.io
 * kinds. A kind that left the folder entirely (its last ConfigMap removed) is not searched: list its
 * objects by the labels to find them (`kubectl get configmaps -A -l openpds.io/apply-set=NAME`).
 */
async function findPrunable(options: ClusterPlanOptions, resolver: ResourceResolver, desired: Desired[]): Promise<Prunable[]> {
  const wanted = new Set(desired.map((d) => identity(d.resource, d.namespace, d.object.metadata!.name!)));
  const resources = new Map<string, Resource>();
  for (const d of desired) resources.set(groupKind(d.resource), d.resource);
  for (const { apiVersion, kind } of OPENPDS_KINDS) {
    const resolved = await resolver.resolve(apiVersion, kind);
    if ('resource' in resolved && !resources.has(groupKind(resolved.resource))) resources.set(groupKind(resolved.resource), resolved.resource);
  }
  const namespaces = [...new Set([options.namespace, ...desired.flatMap((d) => (d.namespace ? [d.namespace] : []))])];
  const labelSelector = `${MANAGED_BY_LABEL}=${CLI_FIELD_MANAGER},${APPLY_SET_LABEL}=${options.setName}`;
  const out: Prunable[] = [];
  for (const resource of resources.values()) {
    let items: KubeObject[];
    try {
      items = await listMembers(options.client, resource, namespaces, labelSelector);
    } catch (error) {
      out.push({ entry: { action: 'error', kind: resource.kind, name: `(set ${options.setName})`, changes: [], message: `cannot list for pruning: ${serverMessage(error)}` }, resource, namespace: undefined, name: '' });
      continue;
    }
    for (const item of items) {
      const name = item.metadata?.name ?? '';
      const namespace = resource.namespaced ? item.metadata?.namespace : undefined;
      if (!name || item.metadata?.deletionTimestamp || wanted.has(identity(resource, namespace, name))) continue;
      out.push({ entry: { action: 'delete', kind: resource.kind, name: displayName(namespace, name), changes: [] }, resource, namespace, name });
    }
  }
  return out;
}

/** Across all namespaces; where that is forbidden (a namespaced role), in the namespaces the folder uses. */
async function listMembers(client: KubeClient, resource: Resource, namespaces: string[], labelSelector: string): Promise<KubeObject[]> {
  const list = (namespace: string | undefined) => client.request<{ items: KubeObject[] }>('GET', pathOf(resource, namespace), { query: { labelSelector } });
  try {
    return (await list(undefined)).items;
  } catch (error) {
    if (!resource.namespaced || !isStatus(error, 403)) throw error;
  }
  const items: KubeObject[] = [];
  for (const namespace of namespaces) items.push(...(await list(namespace)).items);
  return items;
}

async function deleteOne(client: KubeClient, p: Prunable): Promise<ClusterPlanEntry> {
  try {
    await client.request('DELETE', pathOf(p.resource, p.namespace, p.name), { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } });
    return p.entry;
  } catch (error) {
    if (isStatus(error, 404)) return p.entry; // gone already: the outcome asked for
    return { ...p.entry, action: 'error', message: `delete failed: ${serverMessage(error)}` };
  }
}

/** Group, kind, namespace and name: the same object whatever version of its API a manifest uses. */
function identity(resource: Resource, namespace: string | undefined, name: string): string {
  return `${groupKind(resource)}/${namespace ?? ''}/${name}`;
}

function groupKind(resource: Resource): string {
  const group = resource.apiVersion.includes('/') ? resource.apiVersion.split('/')[0] : '';
  return `${resource.kind}.${group}`;
}

function displayName(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}
