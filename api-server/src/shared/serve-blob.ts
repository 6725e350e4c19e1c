/**
 * Serves stored bytes over HTTP the way browsers and download managers expect: ETag and If-None-Match,
 * a single Range (206 + Content-Range, 416 when unsatisfiable), Content-Disposition with an RFC 5987
 * UTF-8 file name. Streams from the store; a client that goes away stops the read.
 */
import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import type { BlobStore, ByteRange } from '../storage/blob-store';

/** The requested range, null for the whole object, or 'unsatisfiable'. Multi-range asks get the whole object. */
export function parseRange(header: string | undefined, size: number): ByteRange | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

export function contentDisposition(fileName: string, disposition: 'inline' | 'attachment' = 'attachment'): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `${disposition}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}

export async function serveBlob(
  req: Request,
  res: Response,
  store: BlobStore,
  blob: { key: string; size: number; etag: string; fileName?: string; contentType?: string; disposition?: 'inline' | 'attachment' },
): Promise<void> {
  const etag = `"${blob.etag}"`;
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', etag);
  res.setHeader('Content-Type', blob.contentType || 'application/octet-stream');
  if (blob.fileName) res.setHeader('Content-Disposition', contentDisposition(blob.fileName, blob.disposition));
  if (req.headers['if-none-match'] === etag) {
    res.status(304).end();
    return;
  }
  const range = parseRange(req.headers.range, blob.size);
  if (range === 'unsatisfiable') {
    res.status(416).setHeader('Content-Range', `bytes */${blob.size}`).end();
    return;
  }
  if (range) {
    res.status(206).setHeader('Content-Range', `bytes ${range.start}-${range.end}/${blob.size}`);
    res.setHeader('Content-Length', range.end - range.start + 1);
  } else {
    res.status(200).setHeader('Content-Length', blob.size);
  }
  if (req.method === 'HEAD' || blob.size === 0) {
    res.end();
    return;
  }
  const body = await store.get(blob.key, range ?? undefined);
  try {
    await pipeline(body, res);
  } catch (e) {
    // A client that disconnects mid-download is normal; anything else is the store failing mid-stream.
    if (!res.destroyed && (e as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') throw e;
  }
}
