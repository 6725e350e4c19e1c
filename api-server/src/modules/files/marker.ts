/** Opaque keyset markers: base64url of the listing's identity and the last row's sort key. */
import { AppError } from '../../shared/errors';

export function encodeMarker(scope: string, key: readonly unknown[]): string {
  return Buffer.from(JSON.stringify([scope, ...key])).toString('base64url');
}

/** The key, or null for an empty marker; a marker from another listing is InvalidParameter.Marker. */
export function decodeMarker(marker: string, scope: string, length: number): unknown[] | null {
  if (!marker) return null;
  try {
    const parsed = JSON.parse(Buffer.from(marker, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parsed) && parsed[0] === scope && parsed.length === length + 1) return parsed.slice(1);
  } catch {
    // fall through
  }
  throw new AppError('InvalidParameter.Marker', 400, 'marker is malformed or belongs to another listing');
}
