import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startKubeApiServer, type KubeApiServer } from './server';

// Server-level behaviour over plain HTTP: startup cost, parallel instances, discovery and OpenAPI as kubectl
// reads them, Table output, CRD registration and cleanup.
async function call(server: KubeApiServer, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

test('starts in well under a second, and many run in parallel on their own ports', async () => {
  const started = Date.now();
  const servers = await Promise.all(Array.from({ length: 5 }, () => startKubeApiServer()));
  const elapsed = Date.now() - started;
  expect(elapsed).toBeLessThan(1000);
  expect(new Set(servers.map((s) => s.port)).size).toBe(5);
  await call(servers[0]!, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'only-here' } });
  expect((await call(servers[1]!, 'GET', '/api/v1/namespaces/default/configmaps/only-here')).status).toBe(404);
  await Promise.all(servers.map((s) => s.close()));
});

describe('one server', () => {
  let server: KubeApiServer;
  beforeAll(async () => {
    server = await startKubeApiServer();
  });
  afterAll(() => server.close());

  test('requestCounts counts every request by client (its user agent up to "/") and method, beyond the bounded log', async () => {
    const before = server.hooks.requestCounts();
    const headers = { 'User-Agent': 'counter-test/1.2 (linux)' };
    await call(server, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'counted' } }, headers);
    for (let i = 0; i < 2; i++) await call(server, 'GET', '/api/v1/namespaces/default/configmaps/counted', undefined, headers);
    const after = server.hooks.requestCounts();
    expect([after['counter-test POST'], after['counter-test GET']]).toEqual([1, 2]);
    expect(before['counter-test GET']).toBeUndefined();
  });

  test('a write answers with the object as stored, the same text a GET and every watch then serve', async () => {
    const base = '/api/v1/namespaces/default/configmaps';
    const list = await call(server, 'GET', base);
    const controller = new AbortController();
    const watch = await fetch(`${server.url}${base}?watch=true&resourceVersion=${list.body.metadata.resourceVersion}`, { signal: controller.signal });
    const reader = watch.body!.getReader();
    const applied = await fetch(`${server.url}${base}/served?fieldManager=t`, { method: 'PATCH', headers: { 'content-type': 'application/apply-patch+yaml' }, body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'served' }, data: { a: '1' } }) });
    const answer = await applied.text();
    let events = '';
    while (!events.includes('\n')) events += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(applied.status).toBe(201);
    expect(JSON.parse(answer)).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'served', managedFields: [{ manager: 't', operation: 'Apply' }] }, data: { a: '1' } });
    expect(events.split('\n')[0]).toBe(`{"type":"ADDED","object":${answer}}`);
    expect(await (await fetch(`${server.url}${base}/served`)).text()).toBe(answer);
    const status = await fetch(`${server.url}${base}/served`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ data: { a: '2' } }) });
    expect(JSON.parse(await status.text())).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', data: { a: '2' } });
  });

  test('discovery lists built-in groups and resources with status subresources', async () => {
    const groups = (await call(server, 'GET', '/apis')).body.groups.map((g: any) => g.name);
    expect(groups).toEqual(expect.arrayContaining(['apps', 'autoscaling', 'policy', 'networking.k8s.io', 'coordination.k8s.io', 'events.k8s.io', 'apiextensions.k8s.io']));
    const apps = (await call(server, 'GET', '/apis/apps/v1')).body;
    expect(apps.resources.map((r: any) => r.name)).toEqual(['deployments', 'deployments/status']);
    expect((await call(server, 'GET', '/api/v1')).body.resources.find((r: any) => r.name === 'namespaces')).toMatchObject({ namespaced: false, kind: 'Namespace' });
    expect((await call(server, 'GET', '/apis/nope/v1')).status).toBe(404);
  });

  test('OpenAPI v3: PATCH operations carry the GVK and a fieldValidation parameter (what kubectl apply checks)', async () => {
    const root = (await call(server, 'GET', '/openapi/v3')).body;
    const url: string = root.paths['apis/apps/v1'].serverRelativeURL;
    expect(url).toMatch(/^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]+$/);
    const doc = (await call(server, 'GET', url)).body;
    const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({ group: 'apps', version: 'v1', kind: 'Deployment' });
    expect(patch.parameters.map((p: any) => p.name)).toContain('fieldValidation');
  });

  test('Table output when the Accept header asks for it', async () => {
    const table = (await call(server, 'GET', '/api/v1/namespaces', undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' })).body;
    expect(table.kind).toBe('Table');
    expect(table.columnDefinitions.map((c: any) => c.name)).toEqual(['Name', 'Age']);
    expect(table.rows.map((r: any) => r.cells[0])).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  });

  test('a CRD registers discovery, OpenAPI and routes; deleting it deletes its objects and unregisters', async () => {
    const crd = parseYaml(await readFile(join(__dirname, 'fixtures', 'widget-crd.yaml'), 'utf8'));
    expect((await call(server, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status).toBe(201);
    expect((await call(server, 'GET', '/apis/contract.openpds.io/v1')).body.resources.map((r: any) => r.name)).toEqual(['widgets', 'widgets/status']);
    expect((await call(server, 'GET', '/openapi/v3')).body.paths['apis/contract.openpds.io/v1']).toBeDefined();
    const cr = { apiVersion: 'contract.openpds.io/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { image: 'i' } };
    expect((await call(server, 'POST', '/apis/contract.openpds.io/v1/namespaces/default/widgets', cr)).status).toBe(201);
    const deleted = await call(server, 'DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.contract.openpds.io');
    expect(deleted.body.metadata.deletionTimestamp).toBeTruthy(); // held by the cleanup finalizer
    for (let i = 0; i < 50 && (await call(server, 'GET', '/apis/contract.openpds.io/v1')).status !== 404; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await call(server, 'GET', '/apis/contract.openpds.io/v1')).status).toBe(404);
  });

  test('JSON patch and strategic merge patch on a built-in kind', async () => {
    await call(server, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'p' }, data: { a: '1' } });
    const json = await fetch(`${server.url}/api/v1/namespaces/default/configmaps/p`, { method: 'PATCH', headers: { 'Content-Type': 'application/json-patch+json' }, body: JSON.stringify([{ op: 'add', path: '/data/b', value: '2' }]) });
    expect(((await json.json()) as any).data).toEqual({ a: '1', b: '2' });
    const smp = await fetch(`${server.url}/api/v1/namespaces/default/configmaps/p`, { method: 'PATCH', headers: { 'Content-Type': 'application/strategic-merge-patch+json' }, body: JSON.stringify({ data: { a: null } }) });
    expect(((await smp.json()) as any).data).toEqual({ b: '2' });
  });

  test('unknown paths and kinds are 404 Status objects', async () => {
    expect(await call(server, 'GET', '/apis/apps/v1/namespaces/default/widgets')).toMatchObject({ status: 404, body: { kind: 'Status', code: 404 } });
    expect((await call(server, 'GET', '/api/v1/namespaces/default/configmaps/missing')).body.message).toBe('configmaps "missing" not found');
  });
});
