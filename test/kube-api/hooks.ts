import { KubeApiError } from './status';
import type { Store } from './store';
import type { WatchHub } from './watch-hub';

// Fault injection for tests: what a real apiserver does under load or after an etcd compaction, on demand.
export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  contentType?: string;
  userAgent?: string;
}

export interface FailureRule {
  status: 429 | 500 | 503;
  /** How many matching requests fail (default 1). */
  count?: number;
  /** Which requests fail (default: every resource request, not discovery or OpenAPI). */
  match?(request: RecordedRequest): boolean;
  retryAfterSeconds?: number;
}

export interface KubeApiHooks {
  /** Ends every open watch from the server side; clients see a clean end of stream. Returns how many. */
  dropWatches(): number;
  /** Forgets watch history: any resume from a resourceVersion issued so far gets ERROR 410 Expired. */
  expireWatchHistory(): void;
  /** Makes the next matching requests fail with a Status (429 carries Retry-After). */
  failRequests(rule: FailureRule): void;
  openWatches(): number;
  /** Requests served so far, oldest first (bounded), for asserting what a client actually sent. */
  requests(): RecordedRequest[];
  /**
   * Every request so far (not bounded), counted by client and method: `<user agent up to its first "/">
   * <METHOD>` → count, e.g. `openpds-operator PATCH`. What the operator benchmark divides by its Domains.
   */
  requestCounts(): Record<string, number>;
}

export interface HookState extends KubeApiHooks {
  record(request: RecordedRequest, isResource: boolean): KubeApiError | undefined;
}

const MAX_RECORDED = 2000;

export function createHooks(hub: WatchHub, store: Store): HookState {
  const rules: (FailureRule & { remaining: number })[] = [];
  const log: RecordedRequest[] = [];
  const counts = new Map<string, number>();
  return {
    dropWatches() {
      const open = hub.openWatches();
      hub.closeAll();
      return open;
    },
    expireWatchHistory() {
      // A new revision with no change in it, then compaction up to it: every earlier resourceVersion is gone
      // while a fresh list (at the new revision) can still be watched from.
      hub.compact(store.bumpResourceVersion());
    },
    failRequests(rule) {
      rules.push({ ...rule, remaining: rule.count ?? 1 });
    },
    openWatches: () => hub.openWatches(),
    requests: () => [...log],
    requestCounts: () => Object.fromEntries(counts),
    record(request, isResource) {
      log.push(request);
      const key = `${(request.userAgent ?? 'unknown').split('/')[0]} ${request.method}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (log.length > MAX_RECORDED) log.shift();
      const rule = rules.find((r) => r.remaining > 0 && (r.match ? r.match(request) : isResource));
      if (!rule) return undefined;
      rule.remaining--;
      if (rule.status === 429) {
        const seconds = rule.retryAfterSeconds ?? 1;
        return new KubeApiError(429, 'TooManyRequests', 'The server has received too many requests and has asked us to try again later', { retryAfterSeconds: seconds });
      }
      return new KubeApiError(rule.status, rule.status === 503 ? 'ServiceUnavailable' : 'InternalError', 'Internal error occurred: injected by test hook');
    },
  };
}
