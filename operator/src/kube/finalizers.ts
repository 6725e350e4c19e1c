/**
 * Adding and removing a finalizer with a JSON merge patch that carries the resourceVersion read: the
 * finalizer list is shared with other controllers, so a write based on a stale list fails with 409 rather
 * than drop someone else's finalizer. The write is then made again from a fresh read (a reconcile works
 * from the informer's copy, which lags behind its own status writes): a 409 handed to the work queue
 * repeated the whole reconcile, and what it had already done (Events) with it.
 */
import type { KubeClient, KubeObject } from './kube-client';
import { isConflict, refOf } from './kube-client';

const CONFLICT_RETRIES = 3;

export const hasFinalizer = (object: KubeObject, finalizer: string): boolean => object.metadata?.finalizers?.includes(finalizer) ?? false;

export const isDeleting = (object: KubeObject): boolean => Boolean(object.metadata?.deletionTimestamp);

/** Returns the object with the finalizer (the live one after a write, the same one when already there). */
export async function addFinalizer<T extends KubeObject>(client: KubeClient, object: T, finalizer: string): Promise<T> {
  return writeFinalizers(client, object, (current) => (current.includes(finalizer) ? undefined : [...current, finalizer]));
}

/** Returns the object without the finalizer; undefined when it is gone (ours was the last finalizer). */
export async function removeFinalizer<T extends KubeObject>(client: KubeClient, object: T, finalizer: string): Promise<T> {
  return writeFinalizers(client, object, (current) => (current.includes(finalizer) ? current.filter((f) => f !== finalizer) : undefined));
}

/** `change` gives the new list, or undefined when there is nothing to write; on a 409 it is asked again with a fresh read. */
async function writeFinalizers<T extends KubeObject>(client: KubeClient, object: T, change: (current: string[]) => string[] | undefined): Promise<T> {
  let current = object;
  for (let attempt = 0; ; attempt++) {
    const finalizers = change(current.metadata?.finalizers ?? []);
    if (!finalizers) return current;
    try {
      return await client.patch<T>(refOf(current), 'merge', { metadata: { finalizers, resourceVersion: current.metadata?.resourceVersion } });
    } catch (error) {
      if (!isConflict(error) || attempt >= CONFLICT_RETRIES) throw error;
      const fresh = await client.find<T>(refOf(current));
      if (!fresh) return current; // gone meanwhile: nothing left to add to or remove from
      current = { ...fresh, apiVersion: object.apiVersion, kind: object.kind };
    }
  }
}
