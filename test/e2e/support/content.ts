/**
 * Big random files without holding them in memory: the content is the AES-256-CTR keystream of a random
 * key, so any byte range can be regenerated on demand (a part to upload, a range to compare, the 8 bytes
 * of a rapid-upload proof) and the whole file is hashed as it is produced.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { proofRange } from '../../../api-server/src/modules/uploads/proof';

export const MiB = 1024 * 1024;
const BLOCK = 16;

export interface Content {
  size: number;
  /** Bytes [start, end), regenerated from the key. */
  slice(start: number, end: number): Buffer;
  /** SHA-1 hex of the whole content, computed once chunk by chunk. */
  sha1(): string;
  /** The rapid-upload proof v1 a client holding these bytes computes for its token. */
  proofCode(accessToken: string): string;
}

export function randomContent(size: number): Content {
  const key = randomBytes(32);
  let digest: string | undefined;
  const content: Content = {
    size,
    slice(start, end) {
      end = Math.min(end, size);
      if (start >= end) return Buffer.alloc(0);
      const block = Math.floor(start / BLOCK);
      // The CTR counter is the IV read as a 128-bit big-endian integer: start it at the block holding `start`.
      const iv = Buffer.alloc(16);
      iv.writeBigUInt64BE(BigInt(block), 8);
      const skip = start - block * BLOCK;
      const cipher = createCipheriv('aes-256-ctr', key, iv);
      return cipher.update(Buffer.alloc(skip + end - start)).subarray(skip);
    },
    sha1() {
      if (digest) return digest;
      const hash = createHash('sha1');
      for (let at = 0; at < size; at += 4 * MiB) hash.update(content.slice(at, at + 4 * MiB));
      return (digest = hash.digest('hex'));
    },
    proofCode(accessToken) {
      const range = proofRange(accessToken, size);
      return range ? content.slice(range.start, range.end + 1).toString('base64') : '';
    },
  };
  return content;
}

/** Fetches a URL and hashes the body as it streams in; returns status, SHA-1 and byte count. */
export async function downloadSha1(url: string, headers: Record<string, string> = {}): Promise<{ status: number; sha1: string; size: number }> {
  const res = await fetch(url, { headers });
  const hash = createHash('sha1');
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      size += chunk.length;
    }
  }
  return { status: res.status, sha1: hash.digest('hex'), size };
}

/** Runs fn over items with at most `limit` in flight, like a client's upload queue. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}
