/**
 * Server-side apply of desired manifests with one field manager, and pruning by generation label.
 *
 * force=true: the operator is the sole owner of the fields it sets; a conflict with a hand edit (kubectl
 * edit, another tool) is resolved in the operator's favour, which is what "level-based" means. Fields no
 * manifest sets any more are dropped by the apiserver, because this manager owned them.
 */
import { isNotFound, KubeApiError, refOf, type KubeClient, type KubeObject } from './kube-client';

export const FIELD_MANAGER = 'openpds-operator';

export interface ApplyOptions {
  fieldManager?: string;
  /** Which live objects the caller reads; the others' answers are not parsed (undefined in the result). */
  keep?: (manifest: KubeObject) => boolean;
  /**
   * Objects to delete and create again when the apiserver refuses the apply because the live object is
   * immutable (`immutable: true` ConfigMaps and Secrets) with other data: one deleted and re-created by hand
   * under the same name. Without this every apply fails the same way, for ever.
   */
  recreateImmutable?: (manifest: KubeObject) => boolean;
}

/** 422 naming a field that `immutable: true` fixes (ValidateConfigMapUpdate, ValidateSecretUpdate). */
const refusedAsImmutable = (error: unknown): boolean => error instanceof KubeApiError && error.status === 422 && error.message.includes('field is immutable when `immutable` is set');

/** What other objects read (mounted, referenced by name): applied before everything else. */
const REFERENCED_KINDS = new Set(['ConfigMap', 'Secret', 'PersistentVolumeClaim']);

/**
 * Applies configuration (ConfigMaps, Secrets, claims) first, then everything else, each group's requests
 * at once, and returns the live objects in the order given. Within a group nothing depends on anything:
 * a Deployment and its Service, HPA or PodDisruptionBudget may appear in any order on any apiserver.
 */
export async function applyManifests(client: KubeClient, manifests: readonly KubeObject[], options: ApplyOptions = {}): Promise<(KubeObject | undefined)[]> {
  const applied: (KubeObject | undefined)[] = new Array(manifests.length);
  const fieldManager = options.fieldManager ?? FIELD_MANAGER;
  const applyAt = async (index: number) => {
    const manifest = manifests[index]!;
    const discardResponse = options.keep ? !options.keep(manifest) : false;
    const apply = () => client.patch<KubeObject | undefined>(refOf(manifest), 'apply', manifest, { fieldManager, force: true, ...(discardResponse ? { discardResponse } : {}) });
    try {
      applied[index] = await apply();
    } catch (error) {
      if (!refusedAsImmutable(error) || !options.recreateImmutable?.(manifest)) throw error;
      await client.delete(refOf(manifest)).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
      applied[index] = await apply();
    }
  };
  const indexes = manifests.map((_, i) => i);
  const first = indexes.filter((i) => REFERENCED_KINDS.has(manifests[i]!.kind ?? ''));
  await Promise.all(first.map(applyAt));
  await Promise.all(indexes.filter((i) => !first.includes(i)).map(applyAt));
  return applied;
}

export interface PruneOptions {
  namespace: string;
  /** Selects the owner's objects, e.g. `openpds.io/domain=acme`. */
  ownerSelector: string;
  /**
   * The owner's uid: only objects whose controller ownerReference names it are the owner's. A label is
   * anyone's to set (kustomize's commonLabels copy one onto everything), and deleting an object that
   * merely carries it would delete someone else's ConfigMap or NetworkPolicy.
   */
  ownerUid: string;
  generationLabel: string;
  /** Objects carrying a different value of generationLabel are stale. */
  generation: string;
  /** Kinds to look through (apiVersion + kind). */
  kinds: readonly { apiVersion: string; kind: string }[];
  /** Objects never deleted even when stale (e.g. a data volume's claim). */
  keep?: (object: KubeObject) => boolean;
}

/** Deletes the owner's objects whose generation label is stale; returns `Kind/name` of what it deleted. */
export async function pruneStale(client: KubeClient, options: PruneOptions): Promise<string[]> {
  const deleted: string[] = [];
  // `label!=value` also matches objects without the label, which we never created: require it too.
  const labelSelector = `${options.ownerSelector},${options.generationLabel},${options.generationLabel}!=${options.generation}`;
  for (const { apiVersion, kind } of options.kinds) {
    const list = await listServed(client, { apiVersion, kind, namespace: options.namespace }, labelSelector);
    for (const item of list) {
      const object = { ...item, apiVersion, kind };
      if (!controlledBy(object, options.ownerUid) || options.keep?.(object)) continue;
      await client.delete(refOf(object));
      deleted.push(`${kind}/${object.metadata?.name}`);
    }
  }
  return deleted;
}

/** Lists every object of the owner (any generation), e.g. to wait for garbage collection on deletion. */
export async function listOwned(client: KubeClient, options: Pick<PruneOptions, 'namespace' | 'ownerSelector' | 'ownerUid' | 'kinds' | 'keep'>): Promise<KubeObject[]> {
  const found: KubeObject[] = [];
  for (const { apiVersion, kind } of options.kinds) {
    const list = await listServed(client, { apiVersion, kind, namespace: options.namespace }, options.ownerSelector);
    for (const item of list) {
      const object = { ...item, apiVersion, kind };
      if (controlledBy(object, options.ownerUid) && !options.keep?.(object)) found.push(object);
    }
  }
  return found;
}

/**
 * The kind's objects matching `labelSelector`; none when the cluster does not serve the kind (404): its CRD
 * removed, or never installed. A kind that is not served holds no objects, and a prune or a deletion must
 * not fail on it for good (a Domain's finalizer would then never be removed).
 */
async function listServed(client: KubeClient, ref: { apiVersion: string; kind: string; namespace: string }, labelSelector: string): Promise<KubeObject[]> {
  try {
    return (await client.list(ref, { labelSelector })).items;
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

/** The object's controller ownerReference names `uid`. */
function controlledBy(object: KubeObject, uid: string): boolean {
  return (object.metadata?.ownerReferences ?? []).some((ref) => ref.uid === uid && ref.controller === true);
}
