/**
 * Adding and removing a finalizer with a JSON merge patch that carries the resourceVersion read: the
 * finalizer list is shared with other controllers, so a write based on a stale list must fail with 409
 * (and be retried by the work queue) rather than drop someone else's finalizer.
 */
import type { KubeClient, KubeObject } from './kube-client';
import { refOf } from './kube-client';

export const hasFinalizer = (object: KubeObject, finalizer: string): boolean => object.metadata?.finalizers?.includes(finalizer) ?? false;

export const isDeleting = (object: KubeObject): boolean => Boolean(object.metadata?.deletionTimestamp);

/** Returns the object with the finalizer (the live one after a write, the same one when already there). */
export async function addFinalizer<T extends KubeObject>(client: KubeClient, object: T, finalizer: string): Promise<T> {
  if (hasFinalizer(object, finalizer)) return object;
  const finalizers = [...(object.metadata?.finalizers ?? []), finalizer];
  return client.patch<T>(refOf(object), 'merge', { metadata: { finalizers, resourceVersion: object.metadata?.resourceVersion } });
}

export async function removeFinalizer<T extends KubeObject>(client: KubeClient, object: T, finalizer: string): Promise<T> {
  if (!hasFinalizer(object, finalizer)) return object;
  const finalizers = (object.metadata?.finalizers ?? []).filter((f) => f !== finalizer);
  return client.patch<T>(refOf(object), 'merge', { metadata: { finalizers, resourceVersion: object.metadata?.resourceVersion } });
}
