/**
 * Where the operator keeps the deletions it owes (DeferredDriveDelete): one ConfigMap per Domain,
 * `<domain>-deferred-drive-deletes`, one data entry per deleted Drive, keyed by its uid.
 *
 * Why a ConfigMap: the promise must outlive the Drive (its finalizer is released so a namespace can go),
 * the Domain (deleted: that is why the drive could not be deleted) and the operator process (a restart
 * must not forget it). It carries no ownerReference and not the Domain's `openpds.io/domain` label, so
 * neither garbage collection nor the Domain's own prune and deletion (which list children by that label)
 * take it away with the Domain it waits for.
 *
 * Entries are added and removed with JSON merge patches of one key each, so two Drives recording at once
 * (or a recording during a removal) never overwrite each other; the empty ConfigMap is deleted with a
 * resourceVersion precondition, so an entry added meanwhile is never lost with it.
 */
import type { DeferredDriveDelete } from './drive-context';
import { isConflict, isNotFound, KubeApiError, resourcePath, type KubeClient, type KubeObject } from '../kube/kube-client';

/** Selects the operator's deferred-deletion ConfigMaps (the watch's label selector). */
export const DEFERRED_DELETES_LABEL = 'openpds.io/deferred-drive-deletes';
/** The Domain a ConfigMap waits for (an annotation: a Domain name may be longer than a label value). */
export const DEFERRED_DELETES_DOMAIN_ANNOTATION = 'openpds.io/deferred-drive-deletes-domain';
const SUFFIX = '-deferred-drive-deletes';

export type DeferredDeletesConfigMap = KubeObject & { data?: Record<string, string> };

export function deferredDeletesName(domain: string): string {
  return `${domain}${SUFFIX}`;
}

/** The Domain a ConfigMap of ours waits for (undefined for one that is not ours). */
export function domainOfConfigMap(configMap: KubeObject): string | undefined {
  if (configMap.metadata?.labels?.[DEFERRED_DELETES_LABEL] !== 'true') return undefined;
  return configMap.metadata.annotations?.[DEFERRED_DELETES_DOMAIN_ANNOTATION];
}

export function encodeEntry(entry: DeferredDriveDelete): string {
  return JSON.stringify(entry);
}

/**
 * The entries of a ConfigMap. One that does not parse (edited by hand) is answered as `invalid` with its
 * key, so the caller can drop it with an Event rather than retry it forever or act on a guess.
 */
export function decodeEntries(configMap: DeferredDeletesConfigMap): { entries: DeferredDriveDelete[]; invalid: string[] } {
  const entries: DeferredDriveDelete[] = [];
  const invalid: string[] = [];
  for (const [key, value] of Object.entries(configMap.data ?? {})) {
    const entry = parseEntry(value);
    if (entry && entry.uid === key) entries.push(entry);
    else invalid.push(key);
  }
  return { entries, invalid };
}

function parseEntry(value: string): DeferredDriveDelete | undefined {
  try {
    const e = JSON.parse(value) as Partial<DeferredDriveDelete>;
    const owner = e.owner;
    const ok = typeof e.uid === 'string' && typeof e.namespace === 'string' && typeof e.name === 'string' && typeof e.domain === 'string' &&
      (e.driveId === undefined || typeof e.driveId === 'string') && (owner?.kind === 'User' || owner?.kind === 'Group') && typeof owner.name === 'string';
    return ok ? ({ ...e, deleteAdopted: e.deleteAdopted === true } as DeferredDriveDelete) : undefined;
  } catch {
    return undefined;
  }
}

function ref(namespace: string, domain: string) {
  return { apiVersion: 'v1', kind: 'ConfigMap', namespace, name: deferredDeletesName(domain) };
}

/**
 * The apiserver refuses new objects in a namespace being deleted (403, NamespaceTerminating). The promise
 * cannot be kept there, and would go with the namespace anyway: the caller lets the Drive go and says so.
 */
export function isNamespaceTerminating(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 403 && /because it is being terminated/.test(error.message);
}

/** Adds (or refreshes) the entry of one Drive; creates the ConfigMap when it is the first. */
export async function recordDeferredDelete(client: KubeClient, entry: DeferredDriveDelete): Promise<void> {
  const data = { [entry.uid]: encodeEntry(entry) };
  for (let attempt = 0; ; attempt++) {
    try {
      await client.patch(ref(entry.namespace, entry.domain), 'merge', { data }, { discardResponse: true });
      return;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    try {
      await client.create({
        ...ref(entry.namespace, entry.domain),
        metadata: {
          name: deferredDeletesName(entry.domain),
          namespace: entry.namespace,
          labels: { [DEFERRED_DELETES_LABEL]: 'true', 'app.kubernetes.io/managed-by': 'openpds-operator' },
          annotations: { [DEFERRED_DELETES_DOMAIN_ANNOTATION]: entry.domain },
        },
        data,
      }, { discardResponse: true });
      return;
    } catch (error) {
      // Another Drive created it a moment ago: patch that one.
      if (!isConflict(error) || attempt > 2) throw error;
    }
  }
}

/**
 * Removes one entry; deletes the ConfigMap when that was the last one (and nothing was added since).
 * Answers the ConfigMap as it is afterwards (undefined: gone).
 */
export async function removeDeferredDelete(client: KubeClient, namespace: string, domain: string, uid: string): Promise<DeferredDeletesConfigMap | undefined> {
  let after: DeferredDeletesConfigMap;
  try {
    after = await client.patch<DeferredDeletesConfigMap>(ref(namespace, domain), 'merge', { data: { [uid]: null } });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  if (Object.keys(after.data ?? {}).length > 0) return after;
  try {
    await client.request('DELETE', resourcePath(ref(namespace, domain)), {
      body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: after.metadata?.resourceVersion } },
      discardResponse: true,
    });
    return undefined;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    if (isConflict(error)) return after; // an entry was added meanwhile: its own watch event brings it
    throw error;
  }
}
