import type { JsonObject } from '../json';
import { builtinListType } from '../list-semantics';
import { applyJsonPatch } from './json-patch';
import { applyMergePatch } from './merge-patch';
import { applyStrategicMergePatch } from './strategic-merge-patch';
import { fieldSetOf, fromFieldsV1, removeAt, toFieldsV1 } from './field-set';

describe('merge patch (RFC 7386)', () => {
  test('merges objects, replaces lists, deletes with null', () => {
    expect(applyMergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { c: null, d: 3 }, l: [3] })).toEqual({ a: { b: 1, d: 3 }, l: [3] });
  });
});

describe('JSON patch (RFC 6902)', () => {
  test('add, replace, remove, move, copy, test with escaped pointers', () => {
    const doc = { metadata: { labels: { 'a/b': 'x' } }, list: [1, 2] };
    const out = applyJsonPatch(doc, [
      { op: 'replace', path: '/metadata/labels/a~1b', value: 'y' },
      { op: 'add', path: '/list/-', value: 3 },
      { op: 'remove', path: '/list/0' },
      { op: 'copy', from: '/list', path: '/copy' },
      { op: 'move', from: '/copy', path: '/moved' },
      { op: 'test', path: '/moved/0', value: 2 },
    ]);
    expect(out).toEqual({ metadata: { labels: { 'a/b': 'y' } }, list: [2, 3], moved: [2, 3] });
    expect(doc.list).toEqual([1, 2]); // input untouched
  });
  test('a failing test operation is a 422', () => {
    expect(() => applyJsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }])).toThrow(expect.objectContaining({ code: 422 }));
  });
});

describe('strategic merge patch', () => {
  const live: any = {
    metadata: { finalizers: ['a'] },
    spec: { template: { spec: { containers: [{ name: 'app', image: 'v1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }, { name: 'side', image: 's' }] } } },
  };
  test('keyed lists merge by name; $patch: delete removes an item; primitive merge lists union', () => {
    const out = applyStrategicMergePatch(live, {
      metadata: { finalizers: ['b'] },
      spec: { template: { spec: { containers: [{ name: 'app', image: 'v2', env: [{ name: 'B', $patch: 'delete' }] }, { name: 'side', $patch: 'delete' }] } } },
    }, builtinListType) as any;
    expect(out.metadata.finalizers).toEqual(['a', 'b']);
    expect(out.spec.template.spec.containers).toEqual([{ name: 'app', image: 'v2', env: [{ name: 'A', value: '1' }] }]);
  });
  test('$setElementOrder orders items, $deleteFromPrimitiveList removes values, $retainKeys drops others', () => {
    const out = applyStrategicMergePatch({ ...live, metadata: { finalizers: ['a', 'b'] }, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } }, {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] },
      strategy: { $retainKeys: ['type'], type: 'Recreate' },
      spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'side' }, { name: 'app' }] } } },
    }, builtinListType) as any;
    expect(out.metadata.finalizers).toEqual(['b']);
    expect(out.strategy).toEqual({ type: 'Recreate' });
    expect(out.spec.template.spec.containers.map((c: any) => c.name)).toEqual(['side', 'app']);
  });
});

describe('field sets (managedFields FieldsV1)', () => {
  const obj = { apiVersion: 'v1', kind: 'X', metadata: { name: 'n', labels: { a: 'b' } }, spec: { containers: [{ name: 'app', ports: [{ containerPort: 80, protocol: 'TCP' }] }], args: ['x'] } };
  test('round-trips through the FieldsV1 tree with k: keys and . markers', () => {
    const set = fieldSetOf(obj, builtinListType);
    const tree = toFieldsV1(set);
    expect(tree).toEqual({
      'f:metadata': { 'f:labels': { 'f:a': {} } },
      'f:spec': {
        'f:args': {},
        'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:name': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {}, 'f:protocol': {} } } } },
      },
    });
    expect(fromFieldsV1(tree)).toEqual(set);
  });
  test('removeAt removes a keyed item and the maps it leaves empty', () => {
    const copy = structuredClone(obj) as any;
    removeAt(copy, ['f:metadata', 'f:labels', 'f:a']);
    removeAt(copy, ['f:spec', 'f:containers', 'k:{"name":"app"}', '.']);
    expect(copy.metadata).toEqual({ name: 'n' });
    expect(copy.spec).toEqual({ args: ['x'] });
  });
});

describe('fieldSetOf with its tree', () => {
  test('the tree built in the walk is the FieldsV1 tree of the set, keys sorted at every level', () => {
    const deployment = JSON.parse(JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', labels: { z: '1', a: '2' }, finalizers: ['x', 'y'], ownerReferences: [{ apiVersion: 'v1', kind: 'K', name: 'o', uid: 'u1' }], annotations: {} },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'd' } },
        template: { spec: { containers: [{ name: 'c', image: 'i', env: [{ name: 'B', value: '1' }, { name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }], args: ['--x'] }], volumes: [] } },
      },
    })) as JsonObject;
    const withTree = fieldSetOf(deployment, builtinListType, { tree: true });
    const plain = fieldSetOf(deployment, builtinListType);
    expect([...withTree].sort()).toEqual([...plain].sort());
    const expected = toFieldsV1(new Set(plain)); // parsed back from the paths
    expect(JSON.stringify(toFieldsV1(withTree))).toBe(JSON.stringify(expected));
    expect(fromFieldsV1(toFieldsV1(withTree))).toEqual(plain);
  });
});
