import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createKubeClient } from './kube-client';

// What the client sends on the wire: credentials that can rotate are resolved for every request (the TLS
// material and the agent only once), static ones (basic auth, impersonation) ride along on each.
let server: Server;
let url: string;
const seen: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers);
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
