/**
 * Rapid-upload proofs: that a client holds the bytes whose hash it names, so a hash alone never grants content.
 *
 * Version v1 (shared/reference/PDS-NOTES.md): the client proves it holds the bytes by
 * sending 8 bytes at an offset derived from its own access token, so a hash alone never grants content.
 * It is weak: the offset is known before the client answers, so knowing part of a file and drawing new
 * tokens until an offset falls in that part proves nothing. OpenPDS checks it only from callers who can
 * already read a copy of the content (rapid-upload.ts tryRapid); it never links another user's bytes.
 *   start = int(first 16 hex chars of md5_hex(access_token), 16) mod size
 *   proof_code = base64(bytes[start : min(start + 8, size)])
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

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

/**
 * Version v2 (an OpenPDS extension): for content stored in the domain that the caller cannot already read.
 * file/create answers a random nonce (`proof_challenge`); file/complete takes
 *   proof_code = hex(HMAC-SHA256(key = base64-decoded nonce, message = the whole content))
 * which needs every byte: sampling schemes (v1, or any set of ranges) are passed by someone who knows all
 * of a file but a small secret part of it, and that part is what they are after. The server reads the
 * stored content once to check it, the client (which hashed it already) once more: both far cheaper than
 * sending the bytes.
 */
export const PROOF_V2_ALGORITHM = 'hmac-sha256';

export function newProofNonce(): string {
  return randomBytes(32).toString('base64');
}

/** What a client computes; the server runs the same over the stored content (streamed, see proofV2Matches). */
export function computeProofV2(nonce: string, content: Buffer): string;
export function computeProofV2(nonce: string, content: AsyncIterable<Buffer>): Promise<string>;
export function computeProofV2(nonce: string, content: Buffer | AsyncIterable<Buffer>): string | Promise<string> {
  const hmac = createHmac('sha256', Buffer.from(nonce, 'base64'));
  if (Buffer.isBuffer(content)) return hmac.update(content).digest('hex');
  return (async () => {
    for await (const chunk of content as AsyncIterable<Buffer>) hmac.update(chunk);
    return hmac.digest('hex');
  })();
}

/** Constant-time comparison of a client's answer with the expected one (both hex). */
export function proofV2Equal(expectedHex: string, answer: string): boolean {
  const a = Buffer.from(expectedHex, 'hex');
  const b = /^[0-9a-fA-F]{64}$/.test(answer) ? Buffer.from(answer, 'hex') : Buffer.alloc(0);
  return a.length === b.length && timingSafeEqual(a, b);
}
