import { evaluateJsonPath } from './jsonpath';
import { humanDuration, toTable } from './table';
import type { ResourceType } from './types';

test('JSONPath subset used by printer columns', () => {
  const doc = { status: { conditions: [{ type: 'A', status: 'False' }, { type: 'Ready', status: 'True' }] }, list: [1, 2] };
  expect(evaluateJsonPath(doc, '.status.conditions[?(@.type=="Ready")].status')).toEqual(['True']);
  expect(evaluateJsonPath(doc, '.list[*]')).toEqual([1, 2]);
  expect(evaluateJsonPath(doc, '.list[-1]')).toEqual([2]);
  expect(evaluateJsonPath(doc, '.missing.path')).toEqual([]);
});

test.each([
  [5_000, '5s'],
  [150_000, '2m30s'],
  [3_600_000 * 3.5, '3h30m'],
  [3_600_000 * 30, '30h'],
  [86_400_000 * 3.5, '3d12h'],
  [86_400_000 * 400, '400d'],
])('humanDuration(%d) = %s', (ms, text) => expect(humanDuration(ms)).toBe(text));

test('Table rows carry printer columns and partial object metadata', () => {
  const type = { kind: 'W', group: 'g', printerColumns: [{ name: 'Size', type: 'string', jsonPath: '.spec.size' }] } as ResourceType;
  const table = toTable(type, [{ apiVersion: 'g/v1', kind: 'W', metadata: { name: 'a' }, spec: { size: 'l' } }], { resourceVersion: '3' }, null);
  expect(table.columnDefinitions.map((c) => c.name)).toEqual(['Name', 'Size']);
  expect(table.rows[0]).toEqual({ cells: ['a', 'l'], object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'a' } } });
});
