/**
 * Keyset pages: repositories fetch limit + 1 rows; the extra row only says that another page exists, and
 * the marker names the last row returned ('' on the last page).
 */
export interface Page<T> {
  items: T[];
  next_marker: string;
}

export function toPage<T>(rows: readonly T[], limit: number, markerOf: (last: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next_marker: rows.length > limit && last !== undefined ? markerOf(last) : '' };
}
