import { celCauses, compileErrors } from './cel';
import type { JsonObject } from './json';

// The Kubernetes quantity library (operator/src/kube/cel-quantity.ts) as rules see it: exact comparison across suffixes,
// int-or-string values through string(), and a clear evaluation error on a bad quantity.
const holds = (rule: string, self: unknown): boolean | string => {
  const schema = { type: 'object', 'x-kubernetes-validations': [{ rule, message: 'no' }] } as unknown as JsonObject;
  const causes = celCauses(schema, { v: self } as unknown as JsonObject, undefined);
  if (causes.length === 0) return true;
  return causes[0]!.message.includes('rule compile or evaluation error') ? causes[0]!.message : false;
};

test.each([
  ['quantity(self.v) == quantity("1073741824")', '1Gi', true],
  ['quantity(self.v) == quantity("1G")', '1Gi', false],
  ['quantity(self.v).compareTo(quantity("1")) == 0', '1000m', true],
  ['quantity(self.v).isLessThan(quantity("1"))', '999m', true],
  ['quantity(self.v).isGreaterThan(quantity("9007199254740991"))', '10P', true],
  ['quantity(self.v).isGreaterThan(quantity("9007199254740991"))', '7Pi', false],
  ['quantity(self.v).compareTo(quantity("8Pi")) < 0', '9007199254740991', true],
  ['quantity(string(self.v)).compareTo(quantity("1500m")) > 0', 2, true],
  ['quantity(self.v).isInteger() && quantity(self.v).asInteger() == 1536', '1.5Ki', true],
  ['quantity(self.v).isInteger()', '0.5', false],
  ['quantity(self.v).add(quantity("1Ki")).sub(1024).sign() == 1', '1m', true],
  ['quantity(self.v).asApproximateFloat() == 0.25', '250m', true],
  ['quantity(self.v).asInteger() == 1000', '1e3', true],
  ['isQuantity(self.v)', 'lots', false],
])('%s with %j is %s', (rule, value, expected) => {
  expect(holds(rule, value)).toBe(expected);
});

test('a value that is not a quantity is an evaluation error naming it', () => {
  expect(holds('quantity(self.v).sign() == 1', 'lots')).toMatch(/rule compile or evaluation error: .*"lots"/);
});

test('compiling type-checks the library: an unknown method is a compile error', () => {
  expect(compileErrors(['quantity("1").isLessThan(quantity("2"))', 'isQuantity("1")'])).toEqual([]);
  expect(compileErrors(['quantity("1").frobnicate()'])).toHaveLength(1);
});
