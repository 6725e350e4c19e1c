import { decodeMarker, encodeMarker, MARKER_FIELDS } from './marker';

const SCOPE = 'files:d1:root:size:ASC';
const handMade = (...values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');

describe('list markers', () => {
  it('gives back the key it encoded, null for no marker', () => {
    expect(decodeMarker(encodeMarker(SCOPE, [42, 'f1']), SCOPE, 2, [MARKER_FIELDS.size, MARKER_FIELDS.id])).toEqual([42, 'f1']);
    expect(decodeMarker(encodeMarker(SCOPE, ['2026-01-02T03:04:05.678Z', 'f1']), SCOPE, 2, [MARKER_FIELDS.timestamp, MARKER_FIELDS.id])).toEqual(['2026-01-02T03:04:05.678Z', 'f1']);
    expect(decodeMarker('', SCOPE, 2)).toBeNull();
  });

  it.each([
    ['garbage', 'not base64 json'],
    ['another listing', handMade('files:d2:root:size:ASC', 1, 'f1')],
    ['a wrong length', handMade(SCOPE, 1)],
    ['text for a size', handMade(SCOPE, 'abc', 'x')],
    ['a fraction for a size', handMade(SCOPE, 1.5, 'x')],
    ['a size past 2^53', handMade(SCOPE, 2 ** 60, 'x')],
    ['a number for an id', handMade(SCOPE, 1, 7)],
    ['an empty id', handMade(SCOPE, 1, '')],
    ['a NUL in the id', handMade(SCOPE, 1, 'a\u0000')],
  ])('refuses %s with InvalidParameter.Marker (400)', (_what, marker) => {
    expect(() => decodeMarker(marker, SCOPE, 2, [MARKER_FIELDS.size, MARKER_FIELDS.id])).toThrow(expect.objectContaining({ code: 'InvalidParameter.Marker', status: 400 }));
  });

  it('takes only real instants as timestamps', () => {
    expect(MARKER_FIELDS.timestamp('2026-02-28T23:59:59.999Z')).toBe(true);
    expect(MARKER_FIELDS.timestamp('2026-02-30T00:00:00.000Z')).toBe(false); // Date.parse rolls it over; PostgreSQL refuses it
    expect(MARKER_FIELDS.timestamp('2026-13-01T00:00:00.000Z')).toBe(false);
    expect(MARKER_FIELDS.timestamp('yesterday')).toBe(false);
    expect(MARKER_FIELDS.timestamp(0)).toBe(false);
  });
});
