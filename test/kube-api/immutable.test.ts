import { startKubeApiServer, type KubeApiServer } from './server';

// ConfigMaps and Secrets with immutable: true, as kube-apiserver keeps them (ValidateConfigMapUpdate,
// ValidateSecretUpdate): the data and the flag are fixed, the metadata is not. The operator names its
// settings ConfigMap by its content and sets the flag; its apply must meet these rules here as on a cluster.
let server: KubeApiServer;
beforeAll(async () => {
  server = await startKubeApiServer();
});
afterAll(() => server.close());

async function call(method: string, path: string, body: unknown, contentType = 'application/json') {
  const res = await fetch(`${server.url}${path}`, { method, headers: { 'Content-Type': contentType }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { message?: string; details?: { causes?: { reason: string; field: string }[] }; metadata?: { labels?: Record<string, string> }; data?: Record<string, string> } };
}
const FORBIDDEN = 'Forbidden: field is immutable when `immutable` is set';

test('an immutable ConfigMap keeps its data and its flag; labels and owners still change, by update, merge patch or apply', async () => {
  const base = '/api/v1/namespaces/default/configmaps';
  expect((await call('POST', base, { metadata: { name: 'settings-a1' }, immutable: true, data: { A: '1' } })).status).toBe(201);
  const path = `${base}/settings-a1`;

  const changed = await call('PUT', path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings-a1' }, immutable: true, data: { A: '2' } });
  expect(changed.status).toBe(422);
  expect(changed.body.message).toBe(`ConfigMap "settings-a1" is invalid: data: ${FORBIDDEN}`);
  expect(changed.body.details?.causes).toEqual([{ reason: 'FieldValueForbidden', message: FORBIDDEN, field: 'data' }]);

  const unflagged = await call('PATCH', path, { immutable: false, binaryData: { B: 'AA==' } }, 'application/merge-patch+json');
  expect(unflagged.status).toBe(422);
  expect(unflagged.body.message).toBe(`ConfigMap "settings-a1" is invalid: [immutable: ${FORBIDDEN}, binaryData: ${FORBIDDEN}]`);

  const labelled = await call('PATCH', path, { metadata: { labels: { generation: '2' } } }, 'application/merge-patch+json');
  expect([labelled.status, labelled.body.metadata?.labels]).toEqual([200, { generation: '2' }]);

  // Server-side apply: the same data with other metadata is fine; other data is refused.
  const manifest = (data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings-a1', labels: { generation: '3' } }, immutable: true, data });
  const applied = await call('PATCH', `${path}?fieldManager=test&force=true`, manifest({ A: '1' }), 'application/apply-patch+yaml');
  expect([applied.status, applied.body.metadata?.labels?.generation, applied.body.data]).toEqual([200, '3', { A: '1' }]);
  const reapplied = await call('PATCH', `${path}?fieldManager=test&force=true`, manifest({ A: '9' }), 'application/apply-patch+yaml');
  expect([reapplied.status, reapplied.body.message]).toEqual([422, `ConfigMap "settings-a1" is invalid: data: ${FORBIDDEN}`]);
});

test('the same for Secrets; a mutable ConfigMap may still change and be made immutable', async () => {
  const secrets = '/api/v1/namespaces/default/secrets';
  await call('POST', secrets, { metadata: { name: 'keys' }, immutable: true, data: { k: 'MQ==' } });
  const edited = await call('PATCH', `${secrets}/keys`, { stringData: { k: 'two' } }, 'application/merge-patch+json');
  expect([edited.status, edited.body.message]).toEqual([422, `Secret "keys" is invalid: data: ${FORBIDDEN}`]);

  const maps = '/api/v1/namespaces/default/configmaps';
  await call('POST', maps, { metadata: { name: 'plain' }, data: { A: '1' } });
  expect((await call('PATCH', `${maps}/plain`, { data: { A: '2' }, immutable: true }, 'application/merge-patch+json')).status).toBe(200);
  expect((await call('PATCH', `${maps}/plain`, { data: { A: '3' } }, 'application/merge-patch+json')).status).toBe(422);
});
