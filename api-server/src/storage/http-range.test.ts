import { parseRange } from './http-range';

test.each([
  [undefined, 10, { kind: 'none' }],
  ['bytes=0-0', 10, { kind: 'range', range: { start: 0, end: 0 } }],
  ['bytes=2-', 10, { kind: 'range', range: { start: 2, end: 9 } }],
  ['bytes=5-100', 10, { kind: 'range', range: { start: 5, end: 9 } }],
  ['bytes=-3', 10, { kind: 'range', range: { start: 7, end: 9 } }],
  ['bytes=-30', 10, { kind: 'range', range: { start: 0, end: 9 } }],
  ['bytes=10-', 10, { kind: 'unsatisfiable' }],
  ['bytes=-0', 10, { kind: 'unsatisfiable' }],
  ['bytes=0-', 0, { kind: 'unsatisfiable' }],
  ['bytes=0-1,3-4', 10, { kind: 'none' }], // multiple ranges: whole object
  ['bytes=5-2', 10, { kind: 'none' }], // invalid: ignored
  ['items=0-1', 10, { kind: 'none' }],
])('parseRange(%p, %p)', (header, size, expected) => {
  expect(parseRange(header, size)).toEqual(expected);
});
