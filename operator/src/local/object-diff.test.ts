import { describeObjectChange, diffObjects } from './object-diff';

const live = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'c', namespace: 'ns', uid: 'u1', resourceVersion: '7', creationTimestamp: 't', managedFields: [{ manager: 'a' }], labels: { 'app.kubernetes.io/name': 'x' } },
  data: { a: '1', b: '2' },
  spec: { ports: [{ port: 80 }], list: [1, 2] },
  status: { ready: true },
};

test('reports changed, added and removed fields with their paths, and nothing for the server bookkeeping', () => {
  const next = {
    ...live,
    metadata: { ...live.metadata, resourceVersion: '8', managedFields: [{ manager: 'b' }], labels: { 'app.kubernetes.io/name': 'y', tier: 'web' } },
    data: { a: '1', c: '3' },
    spec: { ports: [{ port: 81 }], list: [1, 2, 3] },
    status: { ready: false },
  };
  expect(diffObjects(live, next).map(describeObjectChange)).toEqual([
    'data.b: "2" -> (none)',
    'data.c: (none) -> "3"',
    'metadata.labels["app.kubernetes.io/name"]: "x" -> "y"',
    'metadata.labels.tier: (none) -> "web"',
    'spec.list: [1,2] -> [1,2,3]',
    'spec.ports[0].port: 80 -> 81',
  ]);
});

test('an identical object (status and bookkeeping aside) has no changes', () => {
  expect(diffObjects(live, { ...live, metadata: { ...live.metadata, generation: 3 }, status: {} })).toEqual([]);
});

test('long values are cut short', () => {
  const text = describeObjectChange({ path: 'data.big', before: 'x'.repeat(200) });
  expect(text).toMatch(/^data\.big: "x{76}\.\.\. -> \(none\)$/);
});

test('a map that appears or goes whole shows key by key, so no key is cut off', () => {
  const bare = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } };
  const labelled = { ...bare, metadata: { name: 'c', labels: { 'applyset.kubernetes.io/part-of': `applyset-${'a'.repeat(43)}-v1`, 'openpds.io/apply-set': 'prod' } } };
  expect(diffObjects(bare, labelled).map(describeObjectChange)).toEqual([
    `metadata.labels["applyset.kubernetes.io/part-of"]: (none) -> "applyset-${'a'.repeat(43)}-v1"`,
    'metadata.labels["openpds.io/apply-set"]: (none) -> "prod"',
  ]);
  expect(diffObjects(labelled, bare).map(describeObjectChange)).toEqual([
    `metadata.labels["applyset.kubernetes.io/part-of"]: "applyset-${'a'.repeat(43)}-v1" -> (none)`,
    'metadata.labels["openpds.io/apply-set"]: "prod" -> (none)',
  ]);
  expect(diffObjects(bare, { ...bare, data: {} }).map(describeObjectChange)).toEqual(['data: (none) -> {}']);
});

test("a Secret's values (data, stringData, kubectl's last-applied copy) are shown as (sensitive value), its other fields as usual", () => {
  const last = 'kubectl.kubernetes.io/last-applied-configuration';
  const secret = (key: string, labels: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's', namespace: 'ns', labels, annotations: { [last]: `{"stringData":{"secretKey":"${key}"}}` } },
    data: { secretKey: Buffer.from(key).toString('base64'), old: 'b2xk' },
    stringData: { secretKey: key },
  });
  const before = secret('hunter2-old-secret', { a: '1' });
  const after = { ...secret('hunter2-NEW-secret', { a: '2' }), data: { secretKey: Buffer.from('hunter2-NEW-secret').toString('base64'), added: 'bmV3' } };
  const lines = diffObjects(before, after).map(describeObjectChange);
  expect(lines).toEqual([
    'data.added: (none) -> (sensitive value)',
    'data.old: (sensitive value) -> (none)',
    'data.secretKey: (sensitive value) -> (sensitive value)',
    'metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]: (sensitive value) -> (sensitive value)',
    'metadata.labels.a: "1" -> "2"',
    'stringData.secretKey: (sensitive value) -> (sensitive value)',
  ]);
  expect(lines.join('\n')).not.toMatch(/hunter2|aHVudGVy/);
  // A ConfigMap's data is no secret.
  expect(diffObjects({ ...before, kind: 'ConfigMap' }, { ...after, kind: 'ConfigMap' }).map(describeObjectChange)).toContain('data.old: "b2xk" -> (none)');
});
