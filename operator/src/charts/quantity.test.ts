import { quantityToBytes } from './quantity';

test.each([
  ['0', 0],
  ['10Gi', 10 * 2 ** 30],
  ['500M', 500e6],
  ['1.5Ki', 1536],
  // Exact: floating point made 1.1 * 1000 = 1100.0000000000002, rounded up to 1101.
  ['1.1k', 1100],
  ['0.0001', 1],
  // The CRD's bound on quotas.defaultDriveSize, the data plane's largest safe integer.
  ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ['7.99999Pi', Math.ceil((799999 * 2 ** 50) / 1e5)],
])('%s is %d bytes', (quantity, bytes) => {
  expect(quantityToBytes(quantity)).toBe(bytes);
});

test('anything else is refused', () => {
  expect(() => quantityToBytes('lots')).toThrow('not a size quantity: "lots"');
  expect(() => quantityToBytes('1Ei')).toThrow('not a size quantity');
});
