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
