/**
 * Pruning an apply set: its members (label `applyset.kubernetes.io/part-of=ID`) of every group-kind the
 * parent records or the folder holds, that the folder no longer holds. A kind that left the folder
 * entirely is still searched, because the parent recorded it when it was applied.
 *
 * As kubectl's ApplySet, members are looked for only in the namespaces the set records (its parent's
 * namespace, the recorded additional namespaces and those of the folder), never across the cluster: an
 * object copied into another namespace with its labels is not the set's. Within them, a labelled object is
 * a member only if this tool's field manager owns the label (managedFields): a copy that another manager
 * wrote with the label is reported as kept, never deleted.
 */
import type { KubeClient, KubeObject } from '../kube/kube-client';
import { APPLYSET_PART_OF_LABEL, splitGroupKind } from './cluster-applyset';
import { isStatus, pathOf, serverMessage, type Resource, type ResourceResolver } from './cluster-resources';
import type { ObjectChange } from './object-diff';

export interface PruneEntry {
  /** kept: carries the set's label but is not provably its member; reported, never deleted. */
  action: 'delete' | 'error' | 'kept';
  kind: string;
  name: string;
  changes: ObjectChange[];
  message?: string;
  /** Lines under the entry: what a cascading delete takes with it. */
  details?: string[];
}

export interface Prunable {
  entry: PruneEntry;
  /** `Kind.group`: kept in the parent's record while a member of it may still be live. */
  groupKind: string;
  resource?: Resource;
  namespace: string | undefined;
  name: string;
}

export interface PruneScope {
  id: string;
  setName: string;
  groupKinds: string[];
  /** The only namespaces namespaced members are looked for in. */
  namespaces: string[];
  /** Whether cluster-scoped members are looked for at all. */
  clusterScoped: boolean;
  /** The field manager that must own a member's part-of label. */
  fieldManager: string;
  /** Identities (see memberIdentity) of the objects the folder holds. */
  wanted: Set<string>;
}

export async function findPrunable(client: KubeClient, resolver: ResourceResolver, scope: PruneScope): Promise<Prunable[]> {
  const labelSelector = `${APPLYSET_PART_OF_LABEL}=${scope.id}`;
  const out: Prunable[] = [];
  for (const groupKind of [...new Set(scope.groupKinds)].sort()) {
    const failed = (message: string): Prunable => ({ entry: { action: 'error', kind: splitGroupKind(groupKind).kind, name: `(set ${scope.setName})`, changes: [], message: `cannot list for pruning: ${message}` }, groupKind, namespace: undefined, name: '' });
    const { group, kind } = splitGroupKind(groupKind);
    const resolved = await resolver.resolveGroupKind(group, kind);
    if ('gone' in resolved) continue;
    if ('error' in resolved) {
      out.push(failed(resolved.error));
      continue;
    }
    const resource = resolved.resource;
    if (!resource.namespaced && !scope.clusterScoped) continue;
    let items: KubeObject[];
    try {
      items = await listMembers(client, resource, [...new Set(scope.namespaces)].sort(), labelSelector);
    } catch (error) {
      out.push(failed(serverMessage(error)));
      continue;
    }
    for (const item of items) {
      const name = item.metadata?.name ?? '';
      const namespace = resource.namespaced ? item.metadata?.namespace : undefined;
      if (!name || item.metadata?.deletionTimestamp || scope.wanted.has(memberIdentity(groupKind, namespace, name))) continue;
      const entry: PruneEntry = ownsLabel(item, scope.fieldManager, APPLYSET_PART_OF_LABEL)
        ? { action: 'delete', kind: resource.kind, name: displayName(namespace, name), changes: [] }
        : { action: 'kept', kind: resource.kind, name: displayName(namespace, name), changes: [], message: `carries the label of set ${scope.setName} but ${scope.fieldManager} never applied it (a copy?): not deleted` };
      out.push({ entry, groupKind, resource, namespace, name });
    }
  }
  return out;
}

/** Cluster-scoped kinds in one list; namespaced ones in each namespace of the set, never across all. */
async function listMembers(client: KubeClient, resource: Resource, namespaces: string[], labelSelector: string): Promise<KubeObject[]> {
  const list = async (namespace: string | undefined) => (await client.request<{ items: KubeObject[] }>('GET', pathOf(resource, namespace), { query: { labelSelector } })).items;
  if (!resource.namespaced) return list(undefined);
  const items: KubeObject[] = [];
  for (const namespace of namespaces) items.push(...(await list(namespace)));
  return items;
}

/** Whether `manager` owns `metadata.labels[label]`, as the server's managedFields (fieldsV1) record it. */
export function ownsLabel(object: KubeObject, manager: string, label: string): boolean {
  const entries = (object.metadata?.managedFields ?? []) as { manager?: string; fieldsV1?: Record<string, unknown> }[];
  return entries.some((entry) => {
    if (entry.manager !== manager) return false;
    const labels = (entry.fieldsV1?.['f:metadata'] as Record<string, unknown> | undefined)?.['f:labels'] as Record<string, unknown> | undefined;
    return labels !== undefined && `f:${label}` in labels;
  });
}

export async function deleteOne(client: KubeClient, p: Prunable): Promise<PruneEntry> {
  if (!p.resource || p.entry.action !== 'delete') return p.entry;
  try {
    await client.request('DELETE', pathOf(p.resource, p.namespace, p.name), { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } });
    return p.entry;
  } catch (error) {
    if (isStatus(error, 404)) return p.entry; // gone already: the outcome asked for
    return { ...p.entry, action: 'error', message: `delete failed: ${serverMessage(error)}` };
  }
}

/** Group, kind, namespace and name: the same object whatever version of its API a manifest uses. */
export function memberIdentity(groupKind: string, namespace: string | undefined, name: string): string {
  return `${groupKind}/${namespace ?? ''}/${name}`;
}

export function displayName(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}
