import { expired } from './status';
import type { KubeObject } from './types';

// Fan-out of committed changes to open watches, plus a bounded history so a watch can resume from a
// resourceVersion. Resuming from before the oldest retained change is "410 Expired", exactly the
// situation an informer must survive by re-listing.
export interface StoredEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  /** The object before the change, so selector watches can turn "left the selection" into DELETED. */
  previous?: KubeObject;
  resourceVersion: number;
  storageKey: string;
}

export interface WatchSubscriber {
  onEvent(event: StoredEvent): void;
  /** Ends the watch from the server side (test hook, shutdown). */
  close(): void;
}

export interface WatchHub {
  publish(event: StoredEvent): void;
  /** Retained events newer than `resourceVersion`; throws 410 when that point is no longer retained. */
  since(resourceVersion: number): StoredEvent[];
  subscribe(subscriber: WatchSubscriber): () => void;
  /** Forgets all history up to `resourceVersion`: older resumes get 410 (test hook). */
  compact(resourceVersion: number): void;
  closeAll(): void;
  openWatches(): number;
}

export function createWatchHub(capacity: number): WatchHub {
  const history: StoredEvent[] = [];
  const subscribers = new Set<WatchSubscriber>();
  // Every event with resourceVersion <= compactedThrough is gone; resuming from below it cannot be served.
  let compactedThrough = 0;
  return {
    publish(event) {
      history.push(event);
      while (history.length > capacity) compactedThrough = history.shift()!.resourceVersion;
      for (const s of [...subscribers]) s.onEvent(event);
    },
    since(resourceVersion) {
      if (resourceVersion < compactedThrough) {
        throw expired(`too old resource version: ${resourceVersion} (${compactedThrough})`);
      }
      return history.filter((e) => e.resourceVersion > resourceVersion);
    },
    subscribe(subscriber) {
      subscribers.add(subscriber);
      return () => subscribers.delete(subscriber);
    },
    compact(resourceVersion) {
      compactedThrough = Math.max(compactedThrough, resourceVersion);
      while (history.length > 0 && history[0]!.resourceVersion <= resourceVersion) history.shift();
    },
    closeAll() {
      for (const s of [...subscribers]) s.close();
    },
    openWatches: () => subscribers.size,
  };
}
