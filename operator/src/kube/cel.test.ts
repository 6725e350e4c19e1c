import { celCauses } from './cel';

// The evaluator's Kubernetes semantics beyond the quantity library (test/kube-api/cel-quantity.test.ts):
// string sizes, messages, field paths and transition rules, as the apiserver reports them.
const node = (rules: object[], extra: object = {}) => ({ type: 'object', 'x-kubernetes-validations': rules, ...extra });

test('size() of a string counts characters (code points), as the apiserver does, not UTF-16 units', () => {
  const schema = node([{ rule: 'self.v.size() == 3 && size(self.v) == 3', message: 'three' }]);
  expect(celCauses(schema, { v: 'a😀é' }, undefined)).toEqual([]);
  expect(celCauses(schema, { v: '😀😀😀😀' }, undefined)).toEqual([{ reason: 'FieldValueInvalid', field: '<nil>', message: 'Invalid value: "object": three' }]);
  const limit = node([{ rule: 'self.size() <= 3', message: 'at most 3' }], { type: 'string' });
  expect(celCauses(node([], { properties: { v: limit } }), { v: '😀😀😀' }, undefined)).toEqual([]);
});

test('messageExpression gives the message; blank, multi-line or failing, message (then the rule) stands in', () => {
  const schema = (rule: object) => node([], { properties: { spec: node([{ rule: 'self.n <= 2', ...rule }]) } });
  const causes = (rule: object) => celCauses(schema(rule), { spec: { n: 3 } }, undefined).map((c) => `${c.field}: ${c.message}`);
  expect(causes({ messageExpression: "'n is ' + string(self.n) + ', at most 2'", message: 'no' })).toEqual(['spec: Invalid value: "object": n is 3, at most 2']);
  expect(causes({ messageExpression: "' '", message: 'too many' })).toEqual(['spec: Invalid value: "object": too many']);
  expect(causes({ messageExpression: "'a\\nb'", message: 'too many' })).toEqual(['spec: Invalid value: "object": too many']);
  expect(causes({ messageExpression: 'self.missing', message: 'too many' })).toEqual(['spec: Invalid value: "object": too many']);
  expect(causes({})).toEqual(['spec: Invalid value: "object": failed rule: self.n <= 2']);
});

test('fieldPath and reason place and word the failure as kubectl prints it', () => {
  const schema = node([], { properties: { spec: node([{ rule: 'self.n <= 2', message: 'too many', fieldPath: '.n', reason: 'FieldValueForbidden' }]) } });
  expect(celCauses(schema, { spec: { n: 3 } }, undefined)).toEqual([{ reason: 'FieldValueForbidden', field: 'spec.n', message: 'Forbidden: too many' }]);
  const invalid = node([], { properties: { spec: node([{ rule: 'self.n <= 2', message: 'too many', fieldPath: ".labels['a.b']" }]) } });
  expect(celCauses(invalid, { spec: { n: 3 } }, undefined)[0]).toMatchObject({ field: 'spec.labels.a.b', message: 'Invalid value: "object": too many' });
});

test('a field rule names the schema type of the value; a transition rule runs only with an old value, and ratchets', () => {
  const replicas = { type: 'integer', 'x-kubernetes-validations': [{ rule: 'self >= oldSelf', message: 'cannot shrink' }, { rule: 'self <= 9', message: 'at most 9' }] };
  const schema = node([], { properties: { spec: node([], { properties: { replicas } }) } });
  expect(celCauses(schema, { spec: { replicas: 12 } }, undefined)).toEqual([{ reason: 'FieldValueInvalid', field: 'spec.replicas', message: 'Invalid value: "integer": at most 9' }]);
  expect(celCauses(schema, { spec: { replicas: 1 } }, { spec: { replicas: 2 } }).map((c) => c.message)).toEqual(['Invalid value: "integer": cannot shrink']);
  // Stored before the bound existed, unchanged: not re-checked.
  expect(celCauses(schema, { spec: { replicas: 12 }, other: 1 }, { spec: { replicas: 12 } })).toEqual([]);
});
