import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createKubeClient, requestTarget } from './kube-client';

// What the client sends on the wire: credentials that can rotate are resolved for every request (the TLS
// material and the agent only once), static ones (basic auth, impersonation) ride along on each.
let server: Server;
let url: string;
const seen: IncomingHttpHeaders[] = [];
const sockets = new Set<unknown>();

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers);
    sockets.add(req.socket);
    if (req.url?.includes('/missing')) return void res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', reason: 'NotFound', message: 'configmaps "missing" not found' }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'ConfigMap', metadata: { name: 'c' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => void (seen.length = 0));

async function kubeConfig(user: Record<string, unknown>) {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [{ name: 'u', ...user }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'c' };

test('a bearer token that changes between requests is sent as it is at each request', async () => {
  const kc = await kubeConfig({ token: 'first', impersonateUser: 'ops' });
  const client = createKubeClient(kc, { userAgent: 'test' });
  await Promise.all([client.get(ref), client.get(ref)]);
  (kc.getCurrentUser() as { token?: string }).token = 'rotated';
  await client.get(ref);
  expect(seen.map((h) => h.authorization)).toEqual(['Bearer first', 'Bearer first', 'Bearer rotated']);
  expect(seen.map((h) => h['impersonate-user'])).toEqual(['ops', 'ops', 'ops']);
  expect(seen.map((h) => h['user-agent'])).toEqual(['test', 'test', 'test']);
});

test('basic auth from the kubeconfig is sent on every request', async () => {
  const client = createKubeClient(await kubeConfig({ username: 'alice', password: 's3cret' }));
  await client.get(ref);
  await client.get(ref);
  expect(seen.map((h) => h.authorization)).toEqual([`Basic ${Buffer.from('alice:s3cret').toString('base64')}`, `Basic ${Buffer.from('alice:s3cret').toString('base64')}`]);
});

test('request targets are what the URL parser makes of path and query: plain paths without it, others through it', () => {
  const viaUrl = (server: string, path: string, query: Record<string, string | boolean | undefined>) => {
    const base = new URL(server);
    const url = new URL(base.pathname.replace(/\/$/, '') + path, base);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return `${url.pathname}${url.search}`;
  };
  const cases: [string, string, Record<string, string | boolean | undefined>][] = [
    ['https://10.0.0.1:6443', '/api/v1/namespaces/prod/configmaps', { labelSelector: 'openpds.io/domain=acme,openpds.io/generation,openpds.io/generation!=2', fieldSelector: undefined }],
    ['https://10.0.0.1:6443', '/apis/apps/v1/namespaces/prod/deployments/acme-api', { fieldManager: 'openpds-operator', force: true }],
    ['https://proxy.example/k8s/', '/api/v1/namespaces/a%20b/secrets/x', {}],
    ['http://127.0.0.1:8001', '/api/v1/namespaces/prod/../default/configmaps', { q: 'a b+c&d' }],
    ['http://127.0.0.1:8001', '/api/v1/namespaces/prod/configmaps/é ü', {}],
    ['http://127.0.0.1:8001', '/apis/x?watch=1', { limit: '5' }],
  ];
  for (const [server, path, query] of cases) expect(requestTarget(new URL(server), path, query)).toBe(viaUrl(server, path, query));
});

test('reaches a server under a path prefix, and sends the query', async () => {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: `${url}/prefix/`, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  const paths: string[] = [];
  const listener = (req: { url?: string }) => paths.push(req.url ?? '');
  server.on('request', listener);
  try {
    await createKubeClient(kc).list({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default' }, { labelSelector: 'a=b,c!=d' });
  } finally {
    server.off('request', listener);
  }
  expect(paths).toEqual(['/prefix/api/v1/namespaces/default/configmaps?labelSelector=a%3Db%2Cc%21%3Dd']);
});

test('an answer asked to be discarded resolves undefined and frees its connection; a failure still says why', async () => {
  const client = createKubeClient(await kubeConfig({ token: 't' }));
  sockets.clear();
  expect(await client.patch(ref, 'apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }, { fieldManager: 'm', force: true, discardResponse: true })).toBeUndefined();
  expect(await client.patch(ref, 'merge', {}, { discardResponse: true })).toBeUndefined();
  expect(await client.get(ref)).toMatchObject({ kind: 'ConfigMap' });
  expect(sockets.size).toBe(1);
  await expect(client.patch({ ...ref, name: 'missing' }, 'merge', {}, { discardResponse: true })).rejects.toMatchObject({ status: 404, reason: 'NotFound', message: expect.stringContaining('configmaps "missing" not found') });
});
