import { establishedStatus, resourceTypesOfCrd } from './crd';
import { isObject } from './json';
import { type ObjectService, type WriteRequest } from './object-service';
import type { Registry } from './registry';
import type { Store } from './store';
import type { KubeObject, ResourceType } from './types';

// The few controllers whose effects a client can observe through the API, run after every committed
// change (on the next tick, like the real ones run asynchronously): CRD establishment and cleanup,
// garbage collection through ownerReferences (background, foreground, orphan) and namespace deletion.
export const CRD_STORAGE_KEY = 'apiextensions.k8s.io/customresourcedefinitions';
const CRD_CLEANUP = 'customresourcecleanup.apiextensions.k8s.io';

export interface ControllerDeps {
  store: Store;
  registry: Registry;
  objects: ObjectService;
  now(): string;
  onError?(error: unknown): void;
}

export function createControllers(deps: ControllerDeps) {
  const { store, registry, objects } = deps;
  let scheduled = false;

  const request = (type: ResourceType, namespace: string | undefined, subresource?: 'status'): WriteRequest => ({
    type,
    ...(namespace ? { namespace } : {}),
    dryRun: false,
    fieldManager: subresource ? 'kube-apiserver' : 'kube-controller-manager',
    fieldValidation: 'Ignore',
    warnings: [],
    ...(subresource ? { subresource } : {}),
  });
  const typeOf = (storageKey: string) => registry.byStorageKey(storageKey);
  const write = (storageKey: string, object: KubeObject, subresource?: 'status') => {
    const type = typeOf(storageKey);
    if (type) objects.update(request(type, object.metadata.namespace, subresource), object.metadata.name!, object);
  };
  const del = (storageKey: string, object: KubeObject) => {
    const type = typeOf(storageKey);
    if (type && !object.metadata.deletionTimestamp) objects.remove(request(type, object.metadata.namespace), object.metadata.name!, { propagationPolicy: 'Background' });
  };
  const withoutFinalizer = (object: KubeObject, finalizer: string): KubeObject => ({
    ...object,
    metadata: { ...object.metadata, finalizers: (object.metadata.finalizers ?? []).filter((f) => f !== finalizer) },
  });

  // What changed since the last pass, fed by every commit: the controllers look at these objects only.
  // Scanning every stored object after every write made a fleet of thousands quadratic.
  let crdsChanged = true;
  let dirty = new Map<string, { storageKey: string; namespace: string | undefined; name: string }>();
  const markDirty = (storageKey: string, object: KubeObject) =>
    dirty.set(`${storageKey}\0${object.metadata.namespace ?? ''}/${object.metadata.name}`, { storageKey, namespace: object.metadata.namespace, name: object.metadata.name! });
  const markOwnerUid = (uid: string) => {
    const owner = store.peekByUid(uid);
    if (owner) markDirty(owner.storageKey, owner.object);
  };
  store.onCommit(({ storageKey, type, object, previous }) => {
    if (storageKey === CRD_STORAGE_KEY) crdsChanged = true;
    // The object itself: its ownerReferences may name owners that are gone, or it may now be deleting
    // with the orphan or foregroundDeletion finalizer.
    if (type !== 'DELETED') markDirty(storageKey, object);
    // Its owners, old and new: a foreground deletion waits on its (blocking) dependents.
    for (const ref of [...(previous?.metadata.ownerReferences ?? []), ...(object.metadata.ownerReferences ?? [])]) markOwnerUid(ref.uid);
    // Its dependents: a deleted owner leaves them to be collected or trimmed.
    if (type === 'DELETED') for (const dep of store.peekDependents(object.metadata.uid!)) markDirty(dep.storageKey, dep.object);
  });

  /** Keeps the registry in step with stored CRDs; synchronous so a created CRD is served at once. */
  function syncCrdTypes(): void {
    if (!crdsChanged) return;
    crdsChanged = false;
    const crds = store.peekList(CRD_STORAGE_KEY);
    const names = new Set(crds.map((c) => c.metadata.name!));
    for (const t of registry.all()) if (t.custom && !names.has(`${t.plural}.${t.group}`)) registry.unregister(`${t.plural}.${t.group}`);
    for (const crd of crds) registry.register(resourceTypesOfCrd(crd), crd.metadata.name!);
  }

  function reconcileCrds(): void {
    for (const crd of store.peekList(CRD_STORAGE_KEY)) {
      const finalizers = crd.metadata.finalizers ?? [];
      if (crd.metadata.deletionTimestamp) {
        const storageKey = resourceTypesOfCrd(crd)[0]?.storageKey;
        const remaining = storageKey ? store.peekList(storageKey) : [];
        remaining.forEach((cr) => del(storageKey!, cr));
        if (remaining.length === 0 && finalizers.includes(CRD_CLEANUP)) write(CRD_STORAGE_KEY, withoutFinalizer(crd, CRD_CLEANUP));
        continue;
      }
      const status = isObject(crd.status) ? crd.status : {};
      if (!Array.isArray(status.conditions) || !status.conditions.some((c) => isObject(c) && c.type === 'Established')) {
        write(CRD_STORAGE_KEY, { ...crd, status: establishedStatus(crd, deps.now()) }, 'status');
      } else if (!finalizers.includes(CRD_CLEANUP)) {
        write(CRD_STORAGE_KEY, { ...crd, metadata: { ...crd.metadata, finalizers: [...finalizers, CRD_CLEANUP] } });
      }
    }
  }

  /** Ownership rules for one object, as the garbage collector applies them after a change to it or its owners. */
  function collectObject(storageKey: string, object: KubeObject): void {
    const refs = object.metadata.ownerReferences ?? [];
    if (refs.length > 0) {
      const live = refs.filter((r) => store.hasUid(r.uid));
      if (live.length === 0) del(storageKey, object);
      else if (live.length < refs.length) write(storageKey, { ...object, metadata: { ...object.metadata, ownerReferences: live } });
    }
    if (!object.metadata.deletionTimestamp) return;
    const finalizers = object.metadata.finalizers ?? [];
    const uid = object.metadata.uid!;
    if (finalizers.includes('orphan')) {
      for (const dep of store.peekDependents(uid)) {
        const ownerReferences = (dep.object.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
        write(dep.storageKey, { ...dep.object, metadata: { ...dep.object.metadata, ownerReferences } });
      }
      write(storageKey, withoutFinalizer(store.peek(storageKey, object.metadata.namespace, object.metadata.name!)!, 'orphan'));
    } else if (finalizers.includes('foregroundDeletion')) {
      const dependents = store.peekDependents(uid);
      dependents.forEach((dep) => del(dep.storageKey, dep.object));
      // Only dependents that block owner deletion hold the owner back, as in the real garbage collector.
      const blocking = dependents.filter((dep) => (dep.object.metadata.ownerReferences ?? []).some((r) => r.uid === uid && r.blockOwnerDeletion));
      if (blocking.length === 0) write(storageKey, withoutFinalizer(object, 'foregroundDeletion'));
    }
  }

  function collectGarbage(): void {
    const batch = [...dirty.entries()];
    dirty = new Map(); // changes made by this pass are the next pass's work (they schedule it)
    for (let i = 0; i < batch.length; i++) {
      const { storageKey, namespace, name } = batch[i]![1];
      // Read now: an earlier step of this pass may have changed or removed it (e.g. orphaning cleared its refs).
      const object = store.peek(storageKey, namespace, name);
      if (!object) continue;
      try {
        collectObject(storageKey, object);
      } catch (error) {
        // Lost a race: this object and the rest of the batch are retried on the next change, as the
        // full scan this replaces did.
        for (const [key, target] of batch.slice(i)) if (!dirty.has(key)) dirty.set(key, target);
        throw error;
      }
    }
  }

  function finalizeNamespaces(): void {
    for (const ns of store.peekList('/namespaces')) {
      if (!ns.metadata.deletionTimestamp) continue;
      const contents = store.peekNamespace(ns.metadata.name!);
      contents.forEach(({ storageKey, object }) => del(storageKey, object));
      const specFinalizers = isObject(ns.spec) && Array.isArray(ns.spec.finalizers) ? ns.spec.finalizers : [];
      if (contents.length === 0 && specFinalizers.length > 0) {
        write('/namespaces', { ...ns, spec: { ...(isObject(ns.spec) ? ns.spec : {}), finalizers: [] } });
      }
    }
  }

  function run(): void {
    scheduled = false;
    for (const step of [reconcileCrds, collectGarbage, finalizeNamespaces]) {
      try {
        step();
      } catch (error) {
        // A controller losing a race (the object changed or vanished under it) retries on the next change,
        // as a real controller would requeue.
        deps.onError?.(error);
      }
    }
  }

  return {
    syncCrdTypes,
    schedule(): void {
      if (scheduled) return;
      scheduled = true;
      setImmediate(run);
    },
    isTerminating(storageKey: string): boolean {
      const [group, plural] = storageKey.split('/');
      return Boolean(store.peek(CRD_STORAGE_KEY, undefined, `${plural}.${group}`)?.metadata.deletionTimestamp);
    },
  };
}
