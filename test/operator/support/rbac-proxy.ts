/**
 * The Kubernetes API test server stores RBAC but does not enforce it. This proxy in front of it does, for
 * one service account: every resource request is checked against the rules of the ClusterRoles and Roles
 * bound to it (read from the server, so what `kubectl apply -k config/` installed is what is enforced),
 * and a request they do not allow gets the apiserver's 403 Forbidden Status. Discovery and other
 * non-resource paths pass (system:discovery allows them on a real cluster). Aggregated roles and
 * resourceNames are not supported: config/ uses neither.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeKubeconfig } from '../../kube-api/kubeconfig';
import type { KubeClient, KubeObject } from '../../../operator/src/kube/kube-client';

export interface RbacRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
}

export interface RequestAttributes {
  verb: string;
  group: string;
  /** `deployments`, or `domains/status` for a subresource. */
  resource: string;
  namespace?: string;
  name?: string;
}

export interface DeniedRequest extends RequestAttributes {
  method: string;
  path: string;
}

export interface RbacProxy {
  url: string;
  /** A kubeconfig that reaches the server through the proxy. */
  kubeconfig: string;
  /** Requests refused so far, oldest first. */
  denied(): DeniedRequest[];
  close(): Promise<void>;
}

/** What the apiserver's RequestInfoFactory derives from a request; undefined for non-resource paths. */
export function requestAttributes(method: string, url: string): RequestAttributes | undefined {
  const [path = '', query = ''] = url.split('?');
  const parts = path.split('/').filter(Boolean);
  let rest: string[];
  let group: string;
  if (parts[0] === 'api' && parts.length >= 2) [group, rest] = ['', parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length >= 3) [group, rest] = [parts[1]!, parts.slice(3)];
  else return undefined;
  if (rest.length === 0) return undefined; // discovery of a group version
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) [namespace, rest] = [rest[1], rest.slice(2)];
  const [resource, name, subresource] = rest as [string, string | undefined, string | undefined];
  const watch = /(^|&)watch=(true|1)(&|$)/.test(query);
  const verb = ({ GET: name ? 'get' : watch ? 'watch' : 'list', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: name ? 'delete' : 'deletecollection' } as Record<string, string>)[method] ?? method.toLowerCase();
  return { verb, group, resource: subresource ? `${resource}/${subresource}` : resource, ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) };
}

export function allows(rules: readonly RbacRule[], a: RequestAttributes): boolean {
  return rules.some((r) => (r.apiGroups ?? []).includes(a.group) && (r.resources ?? []).includes(a.resource) && r.verbs.includes(a.verb));
}

type Binding = KubeObject & { roleRef: { kind: string; name: string }; subjects?: { kind: string; name: string; namespace?: string }[] };
type Role = KubeObject & { rules?: RbacRule[] };

/** The rules bound to a service account: cluster-wide ones, and per namespace those of RoleBindings. */
export async function rulesFor(client: KubeClient, serviceAccount: { namespace: string; name: string }) {
  const bound = (b: Binding) => (b.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === serviceAccount.name && s.namespace === serviceAccount.namespace);
  const cluster: RbacRule[] = [];
  const namespaced = new Map<string, RbacRule[]>();
  // The operator's client knows only the kinds the operator uses: plain requests for the RBAC ones.
  const get = <T>(path: string) => client.request<T>('GET', `/apis/rbac.authorization.k8s.io/v1/${path}`);
  const clusterRole = async (name: string) => (await get<Role>(`clusterroles/${name}`)).rules ?? [];
  for (const b of (await get<{ items: Binding[] }>('clusterrolebindings')).items.filter(bound)) cluster.push(...(await clusterRole(b.roleRef.name)));
  for (const b of (await get<{ items: Binding[] }>('rolebindings')).items.filter(bound)) {
    const ns = b.metadata!.namespace!;
    const rules = b.roleRef.kind === 'ClusterRole' ? await clusterRole(b.roleRef.name) : ((await get<Role>(`namespaces/${ns}/roles/${b.roleRef.name}`)).rules ?? []);
    namespaced.set(ns, [...(namespaced.get(ns) ?? []), ...rules]);
  }
  return { cluster, namespaced };
}

function forbidden(res: ServerResponse, user: string, a: RequestAttributes): void {
  const where = a.namespace ? ` in the namespace "${a.namespace}"` : ' at the cluster scope';
  const [resource, sub] = a.resource.split('/');
  const message = `${resource}${a.group ? `.${a.group}` : ''} ${a.name ? `"${a.name}" ` : ''}is forbidden: User "${user}" cannot ${a.verb} resource "${resource}"${sub ? ` subresource "${sub}"` : ''} in API group "${a.group}"${where}`;
  const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'Forbidden', details: { name: a.name, group: a.group, kind: resource }, code: 403 };
  res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify(status));
}

export async function startRbacProxy(options: { client: KubeClient; target: string; serviceAccount: { namespace: string; name: string }; kubeconfigFile: string }): Promise<RbacProxy> {
  const { cluster, namespaced } = await rulesFor(options.client, options.serviceAccount);
  const user = `system:serviceaccount:${options.serviceAccount.namespace}:${options.serviceAccount.name}`;
  const target = new URL(options.target);
  const denied: DeniedRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const a = requestAttributes(req.method ?? 'GET', req.url ?? '/');
    if (a && !allows(cluster, a) && !(a.namespace && allows(namespaced.get(a.namespace) ?? [], a))) {
      denied.push({ ...a, method: req.method ?? 'GET', path: req.url ?? '/' });
      req.resume();
      return forbidden(res, user, a);
    }
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy()); // a client ending a watch ends it upstream too
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await writeKubeconfig(options.kubeconfigFile, url);
  return {
    url,
    kubeconfig: options.kubeconfigFile,
    denied: () => [...denied],
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
