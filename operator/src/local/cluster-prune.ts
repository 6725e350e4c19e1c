/**
 * Pruning an apply set: its members (label `applyset.kubernetes.io/part-of=ID`) of every group-kind the
 * parent records or the folder holds, that the folder no longer holds. A kind that left the folder
 * entirely is still searched, because the parent recorded it when it was applied.
 */
import type { KubeClient, KubeObject } from '../kube/kube-client';
import { APPLYSET_PART_OF_LABEL, splitGroupKind } from './cluster-applyset';
import { isStatus, pathOf, serverMessage, type Resource, type ResourceResolver } from './cluster-resources';
import type { ObjectChange } from './object-diff';

export interface PruneEntry {
  action: 'delete' | 'error';
  kind: string;
  name: string;
  changes: ObjectChange[];
  message?: string;
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
  /** Where to list when listing across all namespaces is forbidden. */
  namespaces: string[];
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
    let items: KubeObject[];
    try {
      items = await listMembers(client, resource, scope.namespaces, labelSelector);
    } catch (error) {
      out.push(failed(serverMessage(error)));
      continue;
    }
    for (const item of items) {
      const name = item.metadata?.name ?? '';
      const namespace = resource.namespaced ? item.metadata?.namespace : undefined;
      if (!name || item.metadata?.deletionTimestamp || scope.wanted.has(memberIdentity(groupKind, namespace, name))) continue;
      out.push({ entry: { action: 'delete', kind: resource.kind, name: displayName(namespace, name), changes: [] }, groupKind, resource, namespace, name });
    }
  }
  return out;
}

/** Across all namespaces; where that is forbidden (a namespaced role), in the namespaces of the set. */
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

export async function deleteOne(client: KubeClient, p: Prunable): Promise<PruneEntry> {
  if (!p.resource) return p.entry;
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
