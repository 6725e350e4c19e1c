/**
 * Rapid-upload proof, version v1 (shared/reference/PDS-NOTES.md): the client proves it holds the bytes by
 * sending 8 bytes at an offset derived from its own access token, so a hash alone never grants content.
 * It is weak: the offset is known before the client answers, so knowing part of a file and drawing new
 * tokens until an offset falls in that part proves nothing. OpenPDS checks it only from callers who can
 * already read a copy of the content (uploads.service.ts tryRapid); it never links another user's bytes.
 *   start = int(first 16 hex chars of md5_hex(access_token), 16) mod size
 *   proof_code = base64(bytes[start : min(start + 8, size)])
 */
import { createHash } from 'node:crypto';

export function proofRange(accessToken: string, size: number): { start: number; end: number } | null {
  if (size <= 0) return null;
  const md5 = createHash('md5').update(accessToken).digest('hex');
  const start = Number(BigInt(`0x${md5.slice(0, 16)}`) % BigInt(size));
  return { start, end: Math.min(start + 8, size) - 1 };
}

/** What a client computes from the whole content (tests and the benchmark client use it). */
export function computeProofCode(accessToken: string, content: Buffer): string {
  const range = proofRange(accessToken, content.length);
  return range ? content.subarray(range.start, range.end + 1).toString('base64') : '';
}
