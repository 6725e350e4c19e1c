import { clone } from './json';
import type { WatchHub } from './watch-hub';
import type { KubeObject } from './types';

// The object store: collections keyed by storageKey (group/plural), one global resourceVersion counter
// shared by every collection (as etcd's revision is), and every commit published to the watch hub.
// Callers always get copies, so nothing outside can mutate stored state by accident.
export interface Store {
  currentResourceVersion(): number;
  /** Moves the global resourceVersion forward without a change (used by the "expire history" test hook). */
  bumpResourceVersion(): number;
  get(storageKey: string, namespace: string | undefined, name: string): KubeObject | undefined;
  /** Sorted by namespace then name, the order list continuation relies on. */
  list(storageKey: string, namespace?: string): KubeObject[];
  listAll(): { storageKey: string; object: KubeObject }[];
  findByUid(uid: string): { storageKey: string; object: KubeObject } | undefined;
  /** Assigns the next resourceVersion, stores or removes the object and publishes the event. */
  commit(storageKey: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubeObject, previous?: KubeObject): KubeObject;
}

export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export function createStore(hub: WatchHub): Store {
  const collections = new Map<string, Map<string, KubeObject>>();
  const uids = new Map<string, { storageKey: string; key: string }>();
  let resourceVersion = 0;
  const collection = (storageKey: string) => {
    let c = collections.get(storageKey);
    if (!c) collections.set(storageKey, (c = new Map()));
    return c;
  };
  return {
    currentResourceVersion: () => resourceVersion,
    bumpResourceVersion: () => ++resourceVersion,
    get(storageKey, namespace, name) {
      const found = collections.get(storageKey)?.get(objectKey(namespace, name));
      return found && clone(found);
    },
    list(storageKey, namespace) {
      const items = [...(collections.get(storageKey)?.entries() ?? [])]
        .filter(([, o]) => namespace === undefined || o.metadata.namespace === namespace)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return items.map(([, o]) => clone(o));
    },
    listAll() {
      return [...collections].flatMap(([storageKey, c]) => [...c.values()].map((object) => ({ storageKey, object: clone(object) })));
    },
    findByUid(uid) {
      const ref = uids.get(uid);
      const object = ref && collections.get(ref.storageKey)?.get(ref.key);
      return ref && object ? { storageKey: ref.storageKey, object: clone(object) } : undefined;
    },
    commit(storageKey, type, object, previous) {
      const stored = clone(object);
      stored.metadata.resourceVersion = String(++resourceVersion);
      const key = objectKey(stored.metadata.namespace, stored.metadata.name!);
      if (type === 'DELETED') {
        collection(storageKey).delete(key);
        uids.delete(stored.metadata.uid!);
      } else {
        collection(storageKey).set(key, stored);
        uids.set(stored.metadata.uid!, { storageKey, key });
      }
      hub.publish({ type, object: clone(stored), ...(previous ? { previous: clone(previous) } : {}), resourceVersion, storageKey });
      return clone(stored);
    },
  };
}
