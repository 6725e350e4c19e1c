import { builtinResourceTypes } from './builtin-types';
import { parseFieldSelector, parseLabelSelector } from './selectors';
import type { KubeObject } from './types';

const obj = (labels: Record<string, string>, extra: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'n', namespace: 'ns', labels }, ...extra });

test.each([
  ['a=b', true],
  ['a==b', true],
  ['a!=b', false],
  ['a in (x, b)', true],
  ['a notin (b)', false],
  ['a', true],
  ['!a', false],
  ['!missing,a=b', true],
  ['missing!=x', true],
  ['a=b,c in (d)', false],
])('label selector %s', (selector, expected) => {
  expect(parseLabelSelector(selector)(obj({ a: 'b' }))).toBe(expected);
});

test('field selectors: metadata fields and the kind\'s selectable fields; others are a 400', () => {
  const secrets = builtinResourceTypes().find((t) => t.plural === 'secrets')!;
  expect(parseFieldSelector('metadata.name=n,metadata.namespace=ns', secrets)(obj({}))).toBe(true);
  expect(parseFieldSelector('type!=Opaque', secrets)(obj({}, { type: 'Opaque' }))).toBe(false);
  expect(() => parseFieldSelector('spec.foo=bar', secrets)).toThrow(expect.objectContaining({ code: 400 }));
});
