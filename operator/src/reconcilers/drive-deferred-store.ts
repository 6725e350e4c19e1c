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
import { createHmac, timingSafeEqual } from 'node:crypto';
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

/**
 * The Domain a ConfigMap of ours waits for (undefined for one that is not ours). Only the one name the
 * operator writes counts: a labelled ConfigMap of another name is someone else's, whatever it says.
 */
export function domainOfConfigMap(configMap: KubeObject): string | undefined {
  if (configMap.metadata?.labels?.[DEFERRED_DELETES_LABEL] !== 'true') return undefined;
  const domain = configMap.metadata.annotations?.[DEFERRED_DELETES_DOMAIN_ANNOTATION];
  return domain && configMap.metadata.name === deferredDeletesName(domain) ? domain : undefined;
}

/**
 * Entries are signed: an HMAC-SHA256 keyed by the Domain's admin Secret (`<domain>-admin`, key secretKey,
 * which outlives the Domain; ADR 2). Whoever may write ConfigMaps in the namespace could otherwise write
 * an entry naming a Drive's uid and have the operator delete that drive and its files; reading the key
 * takes the Secret, and whoever can read it can log in to the data plane as its admin anyway.
 */
export interface DeferredDeleteKey {
  sign(entry: DeferredDriveDelete): string;
  verify(entry: DeferredDriveDelete, signature: string | undefined): boolean;
}

export function deferredDeleteKey(secretKey: string): DeferredDeleteKey {
  // A key of its own for this use, derived from the Domain's, which also signs the data plane's tokens.
  const key = createHmac('sha256', secretKey).update('openpds.io deferred-drive-delete v1').digest();
  const sign = (entry: DeferredDriveDelete) => createHmac('sha256', key).update(canonicalEntry(entry)).digest('base64url');
  return {
    sign,
    verify(entry, signature) {
      if (!signature) return false;
      const expected = Buffer.from(sign(entry));
      const given = Buffer.from(signature);
      return expected.length === given.length && timingSafeEqual(expected, given);
    },
  };
}

/** The Domain's signing key from its admin Secret, or undefined when the Secret (or its secretKey) is gone. */
export async function readDeferredDeleteKey(client: KubeClient, namespace: string, domain: string): Promise<DeferredDeleteKey | undefined> {
  const secret = await client.find<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', namespace, name: `${domain}-admin` });
  const secretKey = secret?.data?.secretKey ? Buffer.from(secret.data.secretKey, 'base64').toString('utf8') : '';
  return secretKey ? deferredDeleteKey(secretKey) : undefined;
}

/** Every field, in one order: what the signature covers. */
function canonicalEntry(e: DeferredDriveDelete): string {
  return JSON.stringify([e.uid, e.namespace, e.name, e.domain, e.driveId ?? null, e.owner.kind, e.owner.name, e.deleteAdopted, e.recordedAt]);
}

export function encodeEntry(entry: DeferredDriveDelete, key: DeferredDeleteKey): string {
  return JSON.stringify({ ...entry, signature: key.sign(entry) });
}

/**
 * The entries of a ConfigMap. One that does not parse (edited by hand) is answered as `invalid` with its
 * key, so the caller can drop it with an Event rather than retry it forever or act on a guess.
 */
export function decodeEntries(configMap: DeferredDeletesConfigMap, key?: DeferredDeleteKey): { entries: DeferredDriveDelete[]; invalid: string[]; unsigned: string[] } {
  const entries: DeferredDriveDelete[] = [];
  const invalid: string[] = [];
  const unsigned: string[] = [];
  const namespace = configMap.metadata?.namespace;
  const domain = domainOfConfigMap(configMap);
  for (const [uid, value] of Object.entries(configMap.data ?? {})) {
    const parsed = parseEntry(value);
    // An entry of another namespace or Domain than the ConfigMap's is not one the operator wrote there.
    if (!parsed || parsed.entry.uid !== uid || parsed.entry.namespace !== namespace || parsed.entry.domain !== domain) invalid.push(uid);
    else if (!key?.verify(parsed.entry, parsed.signature)) unsigned.push(uid);
    else entries.push(parsed.entry);
  }
  return { entries, invalid, unsigned };
}

function parseEntry(value: string): { entry: DeferredDriveDelete; signature?: string } | undefined {
  try {
    const e = JSON.parse(value) as Partial<DeferredDriveDelete> & { signature?: unknown };
    const owner = e.owner;
    const ok = typeof e.uid === 'string' && typeof e.namespace === 'string' && typeof e.name === 'string' && typeof e.domain === 'string' && typeof e.recordedAt === 'string' &&
      (e.driveId === undefined || typeof e.driveId === 'string') && (owner?.kind === 'User' || owner?.kind === 'Group') && typeof owner.name === 'string';
    if (!ok) return undefined;
    const entry: DeferredDriveDelete = { uid: e.uid!, namespace: e.namespace!, name: e.name!, domain: e.domain!, ...(e.driveId !== undefined ? { driveId: e.driveId } : {}), owner: { kind: owner!.kind, name: owner!.name }, deleteAdopted: e.deleteAdopted === true, recordedAt: e.recordedAt! };
    return { entry, ...(typeof e.signature === 'string' ? { signature: e.signature } : {}) };
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

/** Adds (or refreshes) the entry of one Drive, signed with `key`; creates the ConfigMap when it is the first. */
export async function recordDeferredDelete(client: KubeClient, entry: DeferredDriveDelete, key: DeferredDeleteKey): Promise<void> {
  const data = { [entry.uid]: encodeEntry(entry, key) };
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
