/**
 * Deterministic benchmark data: bytes are an AES-256-CTR keystream keyed by a seed (incompressible, GB/s
 * to generate, identical across runs), sizes come from a small seeded PRNG. Large inputs are written once
 * to a file under the temp dir and reused by later runs, so 1 GiB is never held in memory.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MiB } from './report';

const CHUNK = MiB;
const ZEROS = Buffer.alloc(CHUNK);

function keystream(seed: string) {
  const key = createHash('sha256').update(`openpds-bench:${seed}`).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
}

/** `size` seeded bytes as a stream (1 MiB chunks). */
export function seededStream(seed: string, size: number): Readable {
  const cipher = keystream(seed);
  let left = size;
  return new Readable({
    highWaterMark: 4 * CHUNK,
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(CHUNK, left);
      left -= n;
      this.push(cipher.update(n === CHUNK ? ZEROS : ZEROS.subarray(0, n)));
    },
  });
}

/** `size` seeded bytes in memory (small files only). */
export function seededBytes(seed: string, size: number): Buffer {
  return keystream(seed).update(Buffer.alloc(size));
}

export const BENCH_TMP = path.join(tmpdir(), 'openpds-bench');

/** A file of `size` seeded bytes, made on first use and kept for later runs. */
export async function ensureDataFile(seed: string, size: number): Promise<string> {
  mkdirSync(BENCH_TMP, { recursive: true });
  const file = path.join(BENCH_TMP, `data-${seed}-${size}.bin`);
  if (existsSync(file) && statSync(file).size === size) return file;
  const partial = `${file}.${process.pid}.partial`;
  await pipeline(seededStream(seed, size), createWriteStream(partial));
  renameSync(partial, file);
  return file;
}

/** mulberry32: a tiny seeded PRNG in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
