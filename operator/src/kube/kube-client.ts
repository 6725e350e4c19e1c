/**
 * A thin JSON client for the Kubernetes REST API: the operator's one boundary for writes (server-side
 * apply, status, finalizers, Events, Leases). client-node's generated clients are used for informers;
 * for writes they add per-call discovery and model (de)serialisation that a reconciler of thousands of
 * objects does not need, and they cannot reach every subresource with every patch type. Credentials and
 * TLS still come from client-node's KubeConfig, so anything kubectl can reach, this can.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

export interface KubeList<T = KubeObject> {
  items: T[];
  metadata?: { resourceVersion?: string; continue?: string };
}

export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export const isNotFound = (error: unknown): boolean => error instanceof KubeApiError && error.status === 404;
export const isConflict = (error: unknown): boolean => error instanceof KubeApiError && error.status === 409;

export type PatchType = 'apply' | 'merge' | 'json';
const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  apply: 'application/apply-patch+yaml', // JSON is valid YAML: the apiserver accepts it under this type
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
};

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Resolve with undefined instead of parsing a successful response the caller does not read. */
  discardResponse?: boolean;
  /** Aborting it ends the request at once (the socket is destroyed), rejecting with the signal's reason. */
  signal?: AbortSignal;
}

export interface KubeClient {
  request<T = KubeObject>(method: string, path: string, options?: RequestOptions): Promise<T>;
  get<T = KubeObject>(ref: ObjectRef): Promise<T>;
  /** GET that answers undefined on 404. */
  find<T = KubeObject>(ref: ObjectRef): Promise<T | undefined>;
  list<T = KubeObject>(ref: CollectionRef, query?: { labelSelector?: string; fieldSelector?: string }): Promise<KubeList<T>>;
  /** discardResponse: resolve with undefined, the created object unread (see PatchOptions). */
  create<T = KubeObject>(object: KubeObject, options?: { discardResponse?: boolean }): Promise<T>;
  replace<T = KubeObject>(object: KubeObject, subresource?: 'status'): Promise<T>;
  patch<T = KubeObject>(ref: ObjectRef, type: PatchType, body: unknown, options?: PatchOptions): Promise<T>;
  /** DELETE; a 404 counts as done (idempotent). */
  delete(ref: ObjectRef, options?: { propagationPolicy?: 'Background' | 'Foreground' | 'Orphan' }): Promise<void>;
}

export interface PatchOptions {
  subresource?: 'status';
  fieldManager?: string;
  force?: boolean;
  /**
   * Skip parsing the answer (patch then resolves with undefined): an applied object comes back whole,
   * managedFields included, and parsing thousands of answers nobody reads was a real part of the
   * operator's CPU at 1,000 Domains.
   */
  discardResponse?: boolean;
}

export interface CollectionRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
}
export interface ObjectRef extends CollectionRef {
  name: string;
}

interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

/**
 * The kinds the operator touches, by apiVersion/kind. A static table instead of discovery: the set is
 * fixed by the charts, and discovery per write would double the requests of a reconcile.
 */
const RESOURCES: Record<string, ResourceInfo> = {
  'v1/ConfigMap': { plural: 'configmaps', namespaced: true },
  'v1/Secret': { plural: 'secrets', namespaced: true },
  'v1/Service': { plural: 'services', namespaced: true },
  'v1/PersistentVolumeClaim': { plural: 'persistentvolumeclaims', namespaced: true },
  'v1/Event': { plural: 'events', namespaced: true },
  'v1/Namespace': { plural: 'namespaces', namespaced: false },
  'v1/Pod': { plural: 'pods', namespaced: true },
  'apps/v1/Deployment': { plural: 'deployments', namespaced: true },
  'autoscaling/v2/HorizontalPodAutoscaler': { plural: 'horizontalpodautoscalers', namespaced: true },
  'policy/v1/PodDisruptionBudget': { plural: 'poddisruptionbudgets', namespaced: true },
  'networking.k8s.io/v1/NetworkPolicy': { plural: 'networkpolicies', namespaced: true },
  'networking.k8s.io/v1/Ingress': { plural: 'ingresses', namespaced: true },
  'coordination.k8s.io/v1/Lease': { plural: 'leases', namespaced: true },
  'events.k8s.io/v1/Event': { plural: 'events', namespaced: true },
  'monitoring.coreos.com/v1/ServiceMonitor': { plural: 'servicemonitors', namespaced: true },
  'monitoring.coreos.com/v1/PrometheusRule': { plural: 'prometheusrules', namespaced: true },
  'monitoring.coreos.com/v1alpha1/AlertmanagerConfig': { plural: 'alertmanagerconfigs', namespaced: true },
  'openpds.io/v1alpha1/Domain': { plural: 'domains', namespaced: true },
  'openpds.io/v1alpha1/Drive': { plural: 'drives', namespaced: true },
  'openpds.io/v1alpha1/UserSystem': { plural: 'usersystems', namespaced: true },
  'openpds.io/v1alpha1/OAuthApp': { plural: 'oauthapps', namespaced: true },
};

export function resourceInfo(apiVersion: string, kind: string): ResourceInfo {
  const info = RESOURCES[`${apiVersion}/${kind}`];
  if (!info) throw new Error(`kube-client: no resource known for ${apiVersion} ${kind}`);
  return info;
}

/** `/api/v1/namespaces/ns/configmaps[/name[/sub]]`, or the cluster-wide collection without a namespace. */
export function resourcePath(ref: CollectionRef & { name?: string }, subresource?: string): string {
  const info = resourceInfo(ref.apiVersion, ref.kind);
  const base = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
  const ns = info.namespaced && ref.namespace ? `/namespaces/${encodeURIComponent(ref.namespace)}` : '';
  const name = ref.name ? `/${encodeURIComponent(ref.name)}` : '';
  return `${base}${ns}/${info.plural}${name}${ref.name && subresource ? `/${subresource}` : ''}`;
}

export function refOf(object: KubeObject): ObjectRef {
  if (!object.apiVersion || !object.kind || !object.metadata?.name) throw new Error('kube-client: object needs apiVersion, kind and metadata.name');
  return { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name, ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}) };
}

/**
 * Sends `method` to `path` (absolute on the server, query included). The answer's body is read whole;
 * `discard` drops a successful one unread (not even decoded: applied objects come back whole, and most
 * answers are never read).
 */
type Transport = (method: string, path: string, headers: Record<string, string>, body: string | undefined, discard?: boolean, signal?: AbortSignal) => Promise<{ status: number; text: string }>;

/** Builds a client from a loaded KubeConfig; one keep-alive agent per client. */
export function createKubeClient(kc: KubeConfig, options: { userAgent?: string; timeoutMs?: number; isAlive?: () => boolean } = {}): KubeClient {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const server = new URL(cluster.server);
  // TLS material (CA, client certificate: files read from disk), the agent and the static headers come from
  // the kubeconfig once: client-node's applyToHTTPSOptions re-reads those files and builds a new Agent on
  // every call, a cost a fleet of Domains paid on each of its thousands of requests.
  let connection: Promise<{ agent: http.Agent; headers: Record<string, string> }> | undefined;
  const connect = async () => {
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const agent = server.protocol === 'https:'
      ? new https.Agent({ keepAlive: true, maxSockets: 32, ca: opts.ca, cert: opts.cert, key: opts.key, ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}) })
      : new http.Agent({ keepAlive: true, maxSockets: 32 });
    // Authorization is resolved per request (below); Impersonate-User and basic auth never change.
    const { Authorization: _token, ...headers } = (opts.headers ?? {}) as Record<string, string>;
    if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    return { agent, headers };
  };
  // Credentials that rotate (a token file, an exec or OIDC plugin) are resolved per request, as before,
  // by the step of applyToHTTPSOptions that does it (plugins cache their tokens). It is missing from
  // client-node's typings; should a version lack it, the whole applyToHTTPSOptions runs per request.
  const authorize = (kc as unknown as { applyAuthorizationHeader?: (opts: { headers: Record<string, string> }) => Promise<void> }).applyAuthorizationHeader;
  const credentials = async (): Promise<Record<string, string>> => {
    const opts: { headers: Record<string, string> } = { headers: {} };
    if (typeof authorize === 'function') await authorize.call(kc, opts);
    else await kc.applyToHTTPSOptions(opts);
    return opts.headers;
  };
  const secure = server.protocol === 'https:';
  // Request options instead of a URL object per request: parsing and converting one cost about as much
  // as the rest of building the request.
  const target = { protocol: server.protocol, hostname: server.hostname.replace(/^\[(.*)\]$/, '$1'), port: server.port || (secure ? 443 : 80) };
  const transport: Transport = async (method, path, headers, body, discard, signal) => {
    // A killed operator sends nothing more, like a process that died (tests kill operators in-process).
    if (options.isAlive && !options.isAlive()) throw new Error('operator stopped: request not sent');
    connection ??= connect().catch((error: unknown) => {
      connection = undefined; // a kubeconfig that failed to load (a missing file) is tried again
      throw error;
    });
    const { agent, headers: staticHeaders } = await connection;
    const requestHeaders: Record<string, string> = { ...staticHeaders, ...(await credentials()), ...headers };
    const send = (retry: boolean): Promise<{ status: number; text: string }> =>
      new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const req = (secure ? https : http).request({ ...target, path, method, headers: requestHeaders, agent, timeout: options.timeoutMs ?? 30_000 }, (res) => {
          const chunks: Buffer[] = [];
          const status = res.statusCode ?? 0;
          const keep = !discard || status >= 400;
          res.on('data', (c: Buffer) => keep && chunks.push(c));
          res.on('end', () => resolve({ status, text: keep ? Buffer.concat(chunks).toString('utf8') : '' }));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error(`kube-client: ${method} ${path.split('?')[0]} timed out`)));
        const onAbort = () => req.destroy(signal!.reason as Error);
        signal?.addEventListener('abort', onAbort, { once: true });
        req.on('close', () => signal?.removeEventListener('abort', onAbort));
        req.on('error', (error: NodeJS.ErrnoException) => {
          if (signal?.aborted) return reject(signal.reason);
          // A kept-alive socket the server closed while idle fails on reuse before the request reached it:
          // the one case where sending again is always safe (Node's documented pattern).
          if (retry && req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) resolve(send(false));
          else reject(error);
        });
        req.end(body);
      });
    return send(true);
  };
  return createKubeClientWith(server, transport, options.userAgent ?? 'openpds-operator');
}

/** A path the URL parser would leave as it is: no dot segments, no characters it would encode, no query. */
const PLAIN_PATH = /^(?!.*\/\.\.?(?:\/|$))\/[A-Za-z0-9\-._~%!$&'()*+,;=:@/]*$/;

/** `path` on `server` with `query`, as `new URL(...)` and `searchParams.set` would make it. */
export function requestTarget(server: URL, path: string, query: RequestOptions['query'] = {}): string {
  const joined = server.pathname.replace(/\/$/, '') + path;
  const params = Object.entries(query).filter((e): e is [string, string | number | boolean] => e[1] !== undefined);
  if (PLAIN_PATH.test(joined)) return params.length ? `${joined}?${new URLSearchParams(params.map(([k, v]): [string, string] => [k, String(v)])).toString()}` : joined;
  const url = new URL(joined, server);
  for (const [k, v] of params) url.searchParams.set(k, String(v));
  return `${url.pathname}${url.search}`;
}

export function createKubeClientWith(server: URL, transport: Transport, userAgent: string): KubeClient {
  async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const target = requestTarget(server, path, options.query);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': userAgent };
    if (body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      // Node sends DELETE bodies without chunked encoding: without a length the body would be lost.
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const res = await transport(method, target, headers, body, options.discardResponse, options.signal);
    if (options.discardResponse && res.status < 400) return undefined as T;
    const parsed = res.text ? safeJson(res.text) : undefined;
    if (res.status >= 400) {
      const status = parsed as { reason?: string; message?: string } | undefined;
      throw new KubeApiError(res.status, status?.reason ?? 'Unknown', `${method} ${path}: ${res.status} ${status?.message ?? res.text.slice(0, 200)}`);
    }
    return parsed as T;
  }

  const client: KubeClient = {
    request,
    get: (ref) => request('GET', resourcePath(ref)),
    async find(ref) {
      try {
        return await client.get(ref);
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    list: (ref, query = {}) => request('GET', resourcePath(ref), { query }),
    create: (object, options = {}) => request('POST', resourcePath({ ...refOf(object), name: '' }), { body: object, ...(options.discardResponse ? { discardResponse: true } : {}) }),
    replace: (object, subresource) => request('PUT', resourcePath(refOf(object), subresource), { body: object }),
    patch: (ref, type, body, options = {}) =>
      request('PATCH', resourcePath(ref, options.subresource), {
        body,
        contentType: PATCH_CONTENT_TYPES[type],
        query: { fieldManager: options.fieldManager, force: options.force },
        ...(options.discardResponse ? { discardResponse: true } : {}),
      }),
    async delete(ref, options = {}) {
      try {
        await request('DELETE', resourcePath(ref), { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: options.propagationPolicy ?? 'Background' } });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    },
  };
  return client;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}
