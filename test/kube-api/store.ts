import { clone } from './json';
import type { WatchHub } from './watch-hub';
import type { KubeObject } from './types';

// The object store: collections keyed by storageKey (group/plural), one global resourceVersion counter
// shared by every collection (as etcd's revision is), and every commit published to the watch hub.
// `get`, `list`, `listAll` and `findByUid` hand out copies, so callers may mutate what they get. Stored
// objects are never mutated in place (a commit stores a fresh copy), which is what lets the `peek*`
// reads, the watch hub and the indexes below share them without copying: with thousands of objects,
// copying on every read was most of the server's time (bench/operator-domains.ts).
export interface StoredRef {
  storageKey: string;
  object: KubeObject;
}

export interface Store {
  currentResourceVersion(): number;
  /** Moves the global resourceVersion forward without a change (used by the "expire history" test hook). */
  bumpResourceVersion(): number;
  get(storageKey: string, namespace: string | undefined, name: string): KubeObject | undefined;
  /** Sorted by namespace then name, the order list continuation relies on. */
  list(storageKey: string, namespace?: string): KubeObject[];
  listAll(): StoredRef[];
  findByUid(uid: string): StoredRef | undefined;
  /** Read-only: the stored object itself, not a copy. */
  peek(storageKey: string, namespace: string | undefined, name: string): Readonly<KubeObject> | undefined;
  /** Read-only `list`: the stored objects themselves, sorted by namespace then name. */
  peekList(storageKey: string, namespace?: string): readonly KubeObject[];
  /** Read-only: whether an object with this uid is stored. */
  hasUid(uid: string): boolean;
  /** Read-only `findByUid`. */
  peekByUid(uid: string): StoredRef | undefined;
  /** Read-only: stored objects with an ownerReference to `uid` (from an index, not a scan). */
  peekDependents(uid: string): StoredRef[];
  /** Read-only: stored objects in `namespace`, any kind (from an index, not a scan). */
  peekNamespace(namespace: string): StoredRef[];
  /**
   * Assigns the next resourceVersion, stores the object or removes it, publishes the event and returns the
   * stored state, read-only. The store takes `object` over without copying it: the caller hands in a
   * fresh object that shares nothing with stored state (the object service builds every candidate from
   * decoded bodies and copies it read) and does not touch it afterwards.
   */
  commit(storageKey: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubeObject, previous?: KubeObject): KubeObject;
  /** Called synchronously after each commit with the stored state before and after (read-only). */
  onCommit(listener: (change: { storageKey: string; type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: KubeObject; previous?: KubeObject }) => void): void;
}

/**
 * A copy the caller may change, but for the managedFields entries, which are shared: no code changes an
 * entry in place (writes replace the whole list), and sharing them lets the ownership bookkeeping
 * recognise unchanged entries by identity (patch/managed-fields.ts).
 */
function copyObject(object: KubeObject): KubeObject {
  const entries = object.metadata.managedFields;
  if (!entries) return clone(object);
  const copy = clone({ ...object, metadata: { ...object.metadata, managedFields: undefined } }) as KubeObject;
  copy.metadata.managedFields = entries.slice();
  return copy;
}

export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** A multimap of index key → "storageKey\0objectKey" entries. */
function createIndex() {
  const entries = new Map<string, Set<string>>();
  return {
    add(key: string, ref: string) {
      let set = entries.get(key);
      if (!set) entries.set(key, (set = new Set()));
      set.add(ref);
    },
    delete(key: string, ref: string) {
      const set = entries.get(key);
      if (set?.delete(ref) && set.size === 0) entries.delete(key);
    },
    get: (key: string): Iterable<string> => entries.get(key) ?? [],
  };
}

export function createStore(hub: WatchHub): Store {
  const collections = new Map<string, Map<string, KubeObject>>();
  const uids = new Map<string, { storageKey: string; key: string }>();
  const byOwner = createIndex();
  const byNamespace = createIndex();
  const listeners: Parameters<Store['onCommit']>[0][] = [];
  let resourceVersion = 0;
  const collection = (storageKey: string) => {
    let c = collections.get(storageKey);
    if (!c) collections.set(storageKey, (c = new Map()));
    return c;
  };
  const resolve = (refs: Iterable<string>): StoredRef[] => {
    const found: StoredRef[] = [];
    for (const ref of refs) {
      const split = ref.indexOf('\0');
      const storageKey = ref.slice(0, split);
      const object = collections.get(storageKey)?.get(ref.slice(split + 1));
      if (object) found.push({ storageKey, object });
    }
    return found;
  };
  const index = (storageKey: string, key: string, object: KubeObject | undefined, add: boolean) => {
    if (!object) return;
    const ref = `${storageKey}\0${key}`;
    const op = add ? 'add' : 'delete';
    for (const owner of object.metadata.ownerReferences ?? []) byOwner[op](owner.uid, ref);
    if (object.metadata.namespace) byNamespace[op](object.metadata.namespace, ref);
  };
  const peekList = (storageKey: string, namespace?: string) => {
    const items: [string, KubeObject][] = [];
    for (const entry of collections.get(storageKey) ?? []) if (namespace === undefined || entry[1].metadata.namespace === namespace) items.push(entry);
    return items.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
  };
  return {
    currentResourceVersion: () => resourceVersion,
    bumpResourceVersion: () => ++resourceVersion,
    get(storageKey, namespace, name) {
      const found = collections.get(storageKey)?.get(objectKey(namespace, name));
      return found && copyObject(found);
    },
    list: (storageKey, namespace) => peekList(storageKey, namespace).map((o) => clone(o)),
    listAll() {
      return [...collections].flatMap(([storageKey, c]) => [...c.values()].map((object) => ({ storageKey, object: clone(object) })));
    },
    findByUid(uid) {
      const ref = uids.get(uid);
      const object = ref && collections.get(ref.storageKey)?.get(ref.key);
      return ref && object ? { storageKey: ref.storageKey, object: clone(object) } : undefined;
    },
    peek: (storageKey, namespace, name) => collections.get(storageKey)?.get(objectKey(namespace, name)),
    peekList,
    hasUid: (uid) => uids.has(uid),
    peekByUid(uid) {
      const ref = uids.get(uid);
      const object = ref && collections.get(ref.storageKey)?.get(ref.key);
      return ref && object ? { storageKey: ref.storageKey, object } : undefined;
    },
    peekDependents: (uid) => resolve(byOwner.get(uid)),
    peekNamespace: (namespace) => resolve(byNamespace.get(namespace)),
    commit(storageKey, type, object, previous) {
      const stored = object;
      stored.metadata.resourceVersion = String(++resourceVersion);
      const key = objectKey(stored.metadata.namespace, stored.metadata.name!);
      const c = collection(storageKey);
      // The stored state before this change: immutable, so the event can carry it without a copy.
      const before = c.get(key);
      index(storageKey, key, before, false);
      if (type === 'DELETED') {
        c.delete(key);
        uids.delete(stored.metadata.uid!);
      } else {
        c.set(key, stored);
        uids.set(stored.metadata.uid!, { storageKey, key });
        index(storageKey, key, stored, true);
      }
      const prior = previous ? (before ?? clone(previous)) : undefined;
      hub.publish({ type, object: stored, ...(prior ? { previous: prior } : {}), resourceVersion, storageKey });
      for (const listener of listeners) listener({ storageKey, type, object: stored, ...(before ? { previous: before } : {}) });
      return stored;
    },
    onCommit(listener) {
      listeners.push(listener);
    },
  };
}
