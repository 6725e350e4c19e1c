/** Opaque keyset markers: base64url of the listing's identity and the last row's sort key. */
import { AppError } from '../../shared/errors';

/** Checks one decoded key value: false refuses the marker (a hand-made one) before it reaches SQL. */
export type MarkerField = (value: unknown) => boolean;

/** Text the database takes as a parameter: a string without NUL (PostgreSQL text cannot hold one). */
const text: MarkerField = (v) => typeof v === 'string' && !v.includes('\u0000');
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** What encodeMarker writes for the sort keys and ids of the listings. */
export const MARKER_FIELDS = {
  text,
  /** A row id: short non-empty text. */
  id: ((v) => text(v) && (v as string).length > 0 && (v as string).length <= 128) as MarkerField,
  /**
   * A Date's toISOString(), of a real date: it must read back to itself (Date.parse takes February 30th
   * and rolls it over; PostgreSQL refuses it).
   */
  timestamp: ((v) => typeof v === 'string' && ISO_TIMESTAMP.test(v) && !Number.isNaN(Date.parse(v)) && new Date(v).toISOString() === v) as MarkerField,
  /** A size: a whole number of bytes, fits bigint and a JS number. */
  size: ((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) as MarkerField,
};

export function encodeMarker(scope: string, key: readonly unknown[]): string {
  return Buffer.from(JSON.stringify([scope, ...key])).toString('base64url');
}

/**
 * The key, or null for an empty marker. A marker from another listing, or (given `fields`, one per key
 * value) one whose values are not what this listing writes, is InvalidParameter.Marker: a value such as
 * "abc" for a size reached the query's cast and answered 500.
 */
export function decodeMarker(marker: string, scope: string, length: number, fields?: readonly MarkerField[]): unknown[] | null {
  if (!marker) return null;
  try {
    const parsed = JSON.parse(Buffer.from(marker, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parsed) && parsed[0] === scope && parsed.length === length + 1) {
      const key = parsed.slice(1);
      if (!fields || key.every((value, i) => fields[i]!(value))) return key;
    }
  } catch {
    // fall through
  }
  throw new AppError('InvalidParameter.Marker', 400, 'marker is malformed or belongs to another listing');
}
