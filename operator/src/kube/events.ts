/**
 * An Event recorder writing core/v1 Events (what `kubectl describe` and `kubectl get events` show on
 * every cluster version). Like client-go's recorder it de-duplicates: the same (object, type, reason,
 * message) bumps `count` and `lastTimestamp` of the Event already written instead of creating another,
 * so a reconcile retried a hundred times leaves one Event with count 100, not a hundred objects.
 * Recording never throws: an Event is a diagnostic, losing one must not fail a reconcile.
 */
import { randomBytes } from 'node:crypto';
import { isNotFound, type KubeClient, type KubeObject } from './kube-client';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(object: KubeObject, type: EventType, reason: string, message: string): Promise<void>;
}

export interface EventRecorderOptions {
  client: KubeClient;
  component?: string;
  now?: () => Date;
  /** Suffix of generated Event names; injectable so tests are deterministic. */
  nameSuffix?: () => string;
  /** Distinct series remembered for de-duplication (oldest forgotten first). */
  cacheSize?: number;
  onError?: (error: unknown) => void;
}

interface Series {
  name: string;
  namespace: string;
  count: number;
}

/** metadata.name of an Event, like any object's: a DNS subdomain of at most 253 characters. */
const MAX_NAME = 253;

/**
 * `<object name>.<suffix>` as client-go names Events, with the object's name cut short when the whole
 * would pass 253 characters (an object may have a 253-character name itself, and the API server refuses
 * the Event otherwise). Cut at a character that may end a DNS label: the name stays valid. The random
 * suffix keeps names unique; the full name of the object is in involvedObject.
 */
export function eventName(objectName: string, suffix: string): string {
  const room = MAX_NAME - suffix.length - 1;
  const prefix = objectName.length <= room ? objectName : objectName.slice(0, room).replace(/[^a-z0-9]+$/, '');
  return `${prefix || 'x'}.${suffix}`;
}

export function createEventRecorder(options: EventRecorderOptions): EventRecorder {
  const component = options.component ?? 'openpds-operator';
  const now = options.now ?? (() => new Date());
  const suffix = options.nameSuffix ?? (() => randomBytes(8).toString('hex'));
  const cacheSize = options.cacheSize ?? 4096;
  const series = new Map<string, Series>();

  async function create(object: KubeObject, type: EventType, reason: string, message: string, key: string, time: string): Promise<void> {
    const meta = object.metadata ?? {};
    const namespace = meta.namespace ?? 'default';
    const name = eventName(meta.name ?? 'object', suffix());
    await options.client.create({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: { apiVersion: object.apiVersion, kind: object.kind, name: meta.name, namespace: meta.namespace, uid: meta.uid, resourceVersion: meta.resourceVersion },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: time,
      lastTimestamp: time,
      source: { component },
      reportingComponent: component,
      reportingInstance: component,
    }, { discardResponse: true });
    series.delete(key);
    series.set(key, { name, namespace, count: 1 });
    if (series.size > cacheSize) series.delete(series.keys().next().value!);
  }

  return {
    async record(object, type, reason, message) {
      const key = JSON.stringify([object.metadata?.uid ?? `${object.metadata?.namespace}/${object.metadata?.name}`, type, reason, message]);
      const time = now().toISOString().replace(/\.\d{3}Z$/, 'Z');
      try {
        const existing = series.get(key);
        if (!existing) return await create(object, type, reason, message, key, time);
        try {
          await options.client.patch({ apiVersion: 'v1', kind: 'Event', namespace: existing.namespace, name: existing.name }, 'merge', { count: existing.count + 1, lastTimestamp: time });
          existing.count++;
        } catch (error) {
          // Events expire (an hour by default on a real cluster): start a new series.
          if (!isNotFound(error)) throw error;
          await create(object, type, reason, message, key, time);
        }
      } catch (error) {
        options.onError?.(error);
      }
    },
  };
}
