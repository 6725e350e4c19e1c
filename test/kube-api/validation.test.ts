import type { JsonObject } from './json';
import { processCustomResource } from './validation';

const schema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['name'],
      properties: {
        name: { type: 'string', minLength: 2 },
        size: { type: 'string', enum: ['s', 'l'], default: 's' },
        count: { type: 'integer', minimum: 1 },
        port: { 'x-kubernetes-int-or-string': true },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        nested: { type: 'object', default: {}, properties: { on: { type: 'boolean', default: true } } },
      },
    },
  },
};

test('defaults are applied, including inside defaulted objects', () => {
  const r = processCustomResource({ apiVersion: 'g/v1', kind: 'K', metadata: { name: 'x' }, spec: { name: 'ok' } }, schema, { defaults: true });
  expect(r.causes).toEqual([]);
  expect(r.object.spec).toEqual({ name: 'ok', size: 's', nested: { on: true } });
});

test('unknown fields are pruned and reported; preserve-unknown-fields and additionalProperties keep theirs', () => {
  const r = processCustomResource({ apiVersion: 'g/v1', kind: 'K', metadata: {}, extra: 1, spec: { name: 'ok', bogus: 1, free: { any: { thing: 1 } }, labels: { a: 'b' } } }, schema, { defaults: false });
  expect(r.unknownFields.sort()).toEqual(['extra', 'spec.bogus']);
  expect(r.object).toEqual({ apiVersion: 'g/v1', kind: 'K', metadata: {}, spec: { name: 'ok', free: { any: { thing: 1 } }, labels: { a: 'b' } } });
});

test('type, enum, minimum, minLength, required and int-or-string violations become causes', () => {
  const r = processCustomResource({ apiVersion: 'g/v1', kind: 'K', metadata: {}, spec: { size: 'xl', count: 0, port: true, labels: { a: 1 } } }, schema, { defaults: false });
  expect(r.causes.map((c) => `${c.field} ${c.reason}`).sort()).toEqual([
    'spec.count FieldValueInvalid',
    'spec.labels.a FieldValueTypeInvalid',
    'spec.name FieldValueRequired',
    'spec.port FieldValueTypeInvalid',
    'spec.size FieldValueNotSupported',
  ]);
});

test('a pattern is checked on every write, with the messages the apiserver gives for pattern and enum', () => {
  const withPattern = { type: 'object', properties: { spec: { type: 'object', properties: { id: { type: 'string', pattern: '^[a-z]+$' }, size: { enum: ['s', { l: 1 }] } } } } };
  const check = (spec: JsonObject) => processCustomResource({ apiVersion: 'g/v1', kind: 'K', metadata: {}, spec }, withPattern, { defaults: false }).causes;
  expect(check({ id: 'abc', size: 's' })).toEqual([]);
  expect(check({ id: 'ABC' })).toEqual([{ reason: 'FieldValueInvalid', message: `Invalid value: "ABC": spec.id in body should match '^[a-z]+$'`, field: 'spec.id' }]);
  expect(check({ id: 'def', size: { l: 1 } })).toEqual([]);
  expect(check({ id: 'x1', size: 'm' })).toEqual([
    { reason: 'FieldValueInvalid', message: `Invalid value: "x1": spec.id in body should match '^[a-z]+$'`, field: 'spec.id' },
    { reason: 'FieldValueNotSupported', message: 'Unsupported value: "m": supported values: "s", {"l":1}', field: 'spec.size' },
  ]);
});
