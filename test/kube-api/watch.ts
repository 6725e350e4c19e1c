import type { ServerResponse } from 'node:http';
import { KubeApiError } from './status';
import type { Store } from './store';
import type { WatchHub, StoredEvent } from './watch-hub';
import { servedJson, withVersion } from './list';
import type { KubeObject, ResourceType } from './types';

// One watch connection: newline-delimited JSON events on a chunked 200 response. Starts with the current
// objects as ADDED (no resourceVersion or "0") or replays history after the given resourceVersion, then
// streams live changes; an object leaving or entering the selection becomes DELETED or ADDED, as in the
// apiserver's watch cache. A resume from compacted history gets an ERROR event with a 410 Status.
export interface WatchRequest {
  type: ResourceType;
  matches(object: KubeObject): boolean;
  resourceVersion?: string;
  timeoutSeconds?: number;
  allowBookmarks: boolean;
  sendInitialEvents: boolean;
  bookmarkIntervalMs: number;
}

export function serveWatch(res: ServerResponse, hub: WatchHub, store: Store, watch: WatchRequest): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
  // Without this the client sees no response (and cannot tell the watch is open) until the first event.
  res.flushHeaders();
  // Events are collected and written once per turn of the event loop: a busy server commits many changes
  // per turn, and one socket write per event per watch was about a third of its write system calls.
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending && !res.writableEnded) res.write(pending);
    pending = '';
  };
  const write = (line: string) => {
    if (res.writableEnded) return;
    pending += line;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  const end = () => {
    flush();
    res.end();
  };
  const send = (type: string, object: unknown) => write(`${JSON.stringify({ type, object })}\n`);
  const bookmark = (annotations?: Record<string, string>) =>
    send('BOOKMARK', { kind: watch.type.kind, apiVersion: withVersion(watch.type, { metadata: {} } as KubeObject).apiVersion, metadata: { resourceVersion: String(store.currentResourceVersion()), ...(annotations ? { annotations } : {}) } });

  // The same bytes as send(type, withVersion(watch.type, object)), from the shared serialisation.
  const sendStored = (type: string, object: KubeObject) => {
    write(`{"type":"${type}","object":${servedJson(watch.type, object)}}\n`);
  };
  const deliver = (event: StoredEvent) => {
    if (event.storageKey !== watch.type.storageKey) return;
    const now = watch.matches(event.object);
    const before = event.previous !== undefined && watch.matches(event.previous);
    const object = event.object;
    if (event.type === 'ADDED' && now) sendStored('ADDED', object);
    else if (event.type === 'DELETED' && (now || before)) sendStored('DELETED', object);
    else if (event.type === 'MODIFIED') {
      if (now && before) sendStored('MODIFIED', object);
      else if (now) sendStored('ADDED', object);
      else if (before) sendStored('DELETED', object);
    }
  };

  const rv = watch.resourceVersion;
  try {
    if (!rv || rv === '0') {
      for (const object of store.peekList(watch.type.storageKey)) if (watch.matches(object)) send('ADDED', withVersion(watch.type, object));
      if (watch.sendInitialEvents && watch.allowBookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
    } else {
      const from = Number(rv);
      if (!Number.isInteger(from)) throw new KubeApiError(400, 'BadRequest', `invalid resource version: ${rv}`);
      hub.since(from).forEach(deliver);
    }
  } catch (error) {
    const status = error instanceof KubeApiError ? error.toStatus() : new KubeApiError(500, 'InternalError', String(error)).toStatus();
    send('ERROR', status);
    end();
    return;
  }

  const timers: NodeJS.Timeout[] = [];
  const unsubscribe = hub.subscribe({ onEvent: deliver, close: end });
  if (watch.timeoutSeconds && watch.timeoutSeconds > 0) timers.push(setTimeout(end, watch.timeoutSeconds * 1000));
  if (watch.allowBookmarks) timers.push(setInterval(() => bookmark(), watch.bookmarkIntervalMs));
  // 'close' on the response fires for both our end() and a client disconnect; req 'close' fires too early.
  res.on('close', () => {
    unsubscribe();
    timers.forEach((t) => clearTimeout(t));
  });
}
