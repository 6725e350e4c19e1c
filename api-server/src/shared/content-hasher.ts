/**
 * Hashes content the way uploads need it: SHA-1 (what PDS clients send as content_hash), SHA-256 (the
 * content address) and the pre-hash (SHA-1 of the first 1 KiB), in one pass. Hashing 1 GiB costs about
 * 0.55 s per algorithm here, so for large content the SHA-256 runs on a worker thread while this thread
 * does SHA-1: the two halve the time file/complete spends hashing. Small content stays on this thread
 * (handing chunks to a worker costs more than it saves).
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

export interface ContentHashes {
  sha1: string;
  sha256: string;
  preHash: string;
  size: number;
}

export interface ContentHasher {
  /** Hashes the chunks in order. sizeHint picks the strategy only; the result counts the real bytes. */
  hash(chunks: AsyncIterable<Buffer>, sizeHint: number): Promise<ContentHashes>;
  close(): Promise<void>;
}

export const PRE_HASH_BYTES = 1024;
const WORKER_THRESHOLD = 32 * 1024 * 1024;
/** Bytes handed to the worker but not yet hashed; past this the reader waits (backpressure). */
const MAX_IN_FLIGHT = 16 * 1024 * 1024;

// Plain JS so the worker needs no TypeScript loader (tsx, jest and the image all run it as is).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.type === 'update') {
    let h = jobs.get(m.id);
    if (!h) jobs.set(m.id, (h = createHash('sha256')));
    h.update(new Uint8Array(m.bytes));
    parentPort.postMessage({ id: m.id, ack: m.bytes.byteLength });
  } else if (m.type === 'digest') {
    const h = jobs.get(m.id) || createHash('sha256');
    jobs.delete(m.id);
    parentPort.postMessage({ id: m.id, digest: h.digest('hex') });
  }
});
`;

export function createContentHasher(): ContentHasher {
  let worker: Worker | undefined;
  let nextId = 0;
  const pending = new Map<number, (digest: string) => void>();
  const inFlight = new Map<number, { bytes: number; drained?: () => void }>();

  const getWorker = () => {
    if (!worker) {
      worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.on('message', (m: { id: number; digest?: string; ack?: number }) => {
        if (m.ack !== undefined) {
          const flow = inFlight.get(m.id);
          if (flow) {
            flow.bytes -= m.ack;
            if (flow.bytes <= MAX_IN_FLIGHT / 2) flow.drained?.();
          }
          return;
        }
        pending.get(m.id)?.(m.digest!);
        pending.delete(m.id);
        // An idle worker must not keep the process alive; one that owes a digest must.
        if (pending.size === 0) worker?.unref();
      });
      worker.unref();
    }
    return worker;
  };

  return {
    async hash(chunks, sizeHint) {
      const sha1 = createHash('sha1');
      const pre = createHash('sha1');
      const offload = sizeHint >= WORKER_THRESHOLD;
      const sha256 = offload ? undefined : createHash('sha256');
      const id = nextId++;
      const w = offload ? getWorker() : undefined;
      let size = 0;
      const flow = { bytes: 0, drained: undefined as (() => void) | undefined };
      if (w) inFlight.set(id, flow);
      try {
        for await (const chunk of chunks) {
          if (size < PRE_HASH_BYTES) pre.update(chunk.subarray(0, PRE_HASH_BYTES - size));
          size += chunk.length;
          sha1.update(chunk);
          if (!w) {
            sha256!.update(chunk);
            continue;
          }
          // A private copy is transferred, never the chunk's own (possibly pooled, shared) ArrayBuffer.
          const copy = new Uint8Array(chunk);
          w.postMessage({ type: 'update', id, bytes: copy.buffer }, [copy.buffer]);
          flow.bytes += copy.byteLength;
          if (flow.bytes > MAX_IN_FLIGHT) {
            w.ref();
            await new Promise<void>((resolve) => (flow.drained = resolve));
            flow.drained = undefined;
          }
        }
      } catch (e) {
        if (w) {
          // Drop the worker's half-done hash; its digest is ignored.
          pending.set(id, () => undefined);
          w.postMessage({ type: 'digest', id });
          inFlight.delete(id);
        }
        throw e;
      }
      let sha256Hex: string;
      if (w) {
        sha256Hex = await new Promise<string>((resolve) => {
          pending.set(id, resolve);
          w.ref();
          w.postMessage({ type: 'digest', id });
        });
        inFlight.delete(id);
      } else sha256Hex = sha256!.digest('hex');
      return { sha1: sha1.digest('hex'), sha256: sha256Hex, preHash: pre.digest('hex'), size };
    },
    async close() {
      await worker?.terminate();
      worker = undefined;
    },
  };
}
