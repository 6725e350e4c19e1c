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
