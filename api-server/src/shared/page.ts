/**
 * Keyset pages: repositories fetch limit + 1 rows; the extra row only says that another page exists, and
 * the marker names the last row returned ('' on the last page).
 */
import { AppError } from './errors';
import { isStorableText } from './rpc';

export interface Page<T> {
  items: T[];
  next_marker: string;
}

export function toPage<T>(rows: readonly T[], limit: number, markerOf: (last: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next_marker: rows.length > limit && last !== undefined ? markerOf(last) : '' };
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

/** A date that exists: Date.parse rolls 2026-02-30 over into March, which PostgreSQL refuses (a 500 once). */
function isRealInstant(at: string): boolean {
  const ms = Date.parse(at);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 19) === at.slice(0, 19);
}

/**
 * A decoded (timestamp, id) marker key, checked: markers are opaque but come back from the client, and a
 * hand-made one with the right scope but another shape must be InvalidParameter.Marker, not a failed query.
 */
export function timeIdMarkerKey(key: readonly unknown[] | null): [string, string] | null {
  if (key === null) return null;
  const [at, id] = key;
  if (typeof at === 'string' && ISO_INSTANT.test(at) && isRealInstant(at) && typeof id === 'string' && id.length > 0 && id.length <= 128 && isStorableText(id))
    return [at, id];
  throw new AppError('InvalidParameter.Marker', 400, 'marker is malformed or belongs to another listing');
}
