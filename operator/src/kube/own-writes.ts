/**
 * Read-your-writes for a reconciler (the Drive's and the Domain's). The controller hands each reconcile the
 * informer's copy, and that copy lags behind what the reconcile before it wrote (the finalizer, the
 * status): a reconcile run at once after it (the watch event of its own finalizer write, or a child's
 * status change, queued while it ran; a resync) started from the object as it was before, so it wrote the
 * same status again with a new lastTransitionTime and repeated its Event (count 2); a Domain applied its
 * whole chart again too. Users saw an object change twice in `kubectl get -w` and Argo CD for one
 * transition.
 *
 * So the reconciler remembers the resourceVersion its last write to each object left, and while the cache
 * holds an older one it reads the object live (one GET, only in that window). Resource versions are
 * compared as KEP-5504 (stable in Kubernetes 1.35, and what etcd revisions always were) defines them:
 * decimal integers. An API server handing out anything else gets one live read per write, best effort.
 */
import { addFinalizer, isDeleting } from './finalizers';
import type { KubeClient, KubeObject, ObjectRef } from './kube-client';

export interface OwnWrites {
  /** A write of this reconciler left the object `key` (`ns/name`) at `resourceVersion` (from the API server's answer). */
  wrote(key: string, resourceVersion: string | undefined): void;
  /** The object to reconcile: the cached one, unless it predates this reconciler's last write; then `readLive()`. */
  current<T extends KubeObject>(key: string, cached: T, readLive: () => Promise<T | undefined>): Promise<T | undefined>;
  /** The object is gone. */
  forget(key: string): void;
}

export function createOwnWrites(): OwnWrites {
  // Only until the cache shows the write: at most one entry per object, most of them gone within a second.
  const written = new Map<string, string>();
  return {
    wrote(key, resourceVersion) {
      if (resourceVersion) written.set(key, resourceVersion);
    },
    async current(key, cached, readLive) {
      const wrote = written.get(key);
      if (wrote === undefined) return cached;
      const order = compareResourceVersions(cached.metadata?.resourceVersion, wrote);
      if (order !== undefined && order >= 0) {
        written.delete(key); // the cache has caught up
        return cached;
      }
      if (order === undefined) written.delete(key); // not comparable: one live read per write, best effort
      const live = await readLive();
      // The server itself is behind our write (versions went back: etcd restored from a backup): the cache
      // could never catch up, and every reconcile would read live until the operator restarts.
      const liveOrder = compareResourceVersions(live?.metadata?.resourceVersion, wrote);
      if (liveOrder !== undefined && liveOrder < 0) written.delete(key);
      return live;
    },
    forget: (key) => void written.delete(key),
  };
}

/**
 * How a reconcile of the Drive or the Domain opens: the object as this reconciler's last write left it at
 * least (the cached copy, or `ref` read live while the cache lags), with `finalizer` added unless it is
 * being deleted. Undefined when the object is gone; its memory goes with it.
 */
export async function readWithFinalizer<T extends KubeObject>(
  { client, ownWrites }: { client: KubeClient; ownWrites: OwnWrites },
  { key, ref, cached, finalizer }: { key: string; ref: ObjectRef; cached: T | undefined; finalizer: string },
): Promise<T | undefined> {
  const object = cached && (await ownWrites.current(key, cached, () => client.find<T>(ref)));
  if (!object) {
    ownWrites.forget(key);
    return undefined;
  }
  if (isDeleting(object)) return object;
  const withFinalizer = await addFinalizer(client, object, finalizer);
  if (withFinalizer.metadata?.resourceVersion !== object.metadata?.resourceVersion) ownWrites.wrote(key, withFinalizer.metadata?.resourceVersion);
  return withFinalizer;
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** KEP-5504: negative, zero or positive as `a` is older than, the same as or newer than `b`; undefined when not comparable. */
export function compareResourceVersions(a: string | undefined, b: string | undefined): number | undefined {
  if (a === undefined || b === undefined || !DECIMAL.test(a) || !DECIMAL.test(b)) return undefined;
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
