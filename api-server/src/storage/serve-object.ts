/**
 * Serves a stored object over HTTP the way browsers and download managers expect: a strong ETag with
 * If-Match (412), If-None-Match (304) and If-Range, one Range (206 + Content-Range, 416 when
 * unsatisfiable), HEAD, and a Content-Disposition with the exact UTF-8 file name. Streams from the store;
 * a client that goes away stops the read. Used by the local store's signed GET route and by the
 * bearer-token file/download, which give it the same ETag for the same revision (download-etag.ts).
 */
import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { AppError, notFound } from '../shared/errors';
import { BlobNotFoundError, type BlobStore } from './blob-store';
import { contentDisposition } from './content-disposition';
import { parseRange } from './http-range';

/** Longer media types are refused at file/create and get_download_url, and not served. */
export const MAX_MEDIA_TYPE_LENGTH = 256;

// RFC 9110 §8.3.1: type "/" subtype *( OWS ";" OWS [ name "=" ( token / quoted-string ) ] ), with
// OWS = *( SP / HTAB ) and no whitespace around '='. Otherwise printable ASCII only (no HTAB in a quoted
// string, no obs-text): Node refuses CR, LF and other control characters in a header (a 500 for good on
// every download), Express 5 turns a value without '/' into `Content-Type: false`, and S3 copies
// response-content-type into its response as it is. So every HTAB of a valid value is OWS, which
// servedContentType sends as SP: radosgw answers a response-content-type holding a HTAB with a broken
// response (a 200 status line, then a 400's headers), which clients cannot parse.
const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const QUOTED_STRING = '"(?:[ !#-\\[\\]-~]|\\\\[ -~])*"';
const OWS = '[ \\t]*';
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:${OWS};(?:${OWS}${TOKEN}=(?:${TOKEN}|${QUOTED_STRING}))?)*${OWS}$`);

export const isMediaType = (value: string): boolean => value.length <= MAX_MEDIA_TYPE_LENGTH && MEDIA_TYPE.test(value);

/**
 * The Content-Type a stored object is served with: its own when it is a valid media type (its HTABs, all
 * optional whitespace, as SP), else application/octet-stream (a folder's '', or a value stored before
 * file/create checked it).
 */
export const servedContentType = (contentType: string | undefined): string =>
  contentType !== undefined && isMediaType(contentType) ? contentType.replaceAll('\t', ' ') : 'application/octet-stream';

export interface ServedObject {
  key: string;
  size: number;
  etag: string;
  contentType?: string;
  fileName?: string;
  disposition?: 'inline' | 'attachment';
}

export async function serveObject(req: Request, res: Response, store: BlobStore, obj: ServedObject): Promise<void> {
  const etag = `"${obj.etag}"`;
  res.set({
    'Accept-Ranges': 'bytes',
    ETag: etag,
    'Cache-Control': 'private',
    'Content-Type': servedContentType(obj.contentType),
    'Content-Disposition': contentDisposition(obj.disposition ?? 'attachment', obj.fileName),
    // User content on the API origin: never sniff it into HTML, never let it run script as this origin.
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': 'sandbox',
  });
  // RFC 9110 §13.2.2 order: If-Match, then If-None-Match, then If-Range (no Last-Modified is sent, so
  // the date forms have nothing to compare with: If-Range with a date always gets the whole object).
  const ifMatch = req.headers['if-match'];
  if (ifMatch && !etagListMatches(ifMatch, etag, 'strong'))
    throw new AppError('PreconditionFailed', 412, 'If-Match does not name the current content of this file');
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch && etagListMatches(ifNoneMatch, etag, 'weak')) return void res.status(304).end();

  // If-Range compares strongly (§13.1.5): a stale or weak tag means "send it all", never a 206 of other bytes.
  const ifRange = req.get('if-range')?.trim();
  const wanted = parseRange(ifRange === undefined || ifRange === etag ? req.headers.range : undefined, obj.size);
  if (wanted.kind === 'unsatisfiable')
    throw new AppError('InvalidRange', 416, 'the requested range is not satisfiable', { headers: { 'Content-Range': `bytes */${obj.size}` } });
  const range = wanted.kind === 'range' ? wanted.range : undefined;
  res.status(range ? 206 : 200);
  res.setHeader('Content-Length', range ? range.end - range.start + 1 : obj.size);
  if (range) res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${obj.size}`);
  if (req.method === 'HEAD' || obj.size === 0) return void res.end();

  const body = await store.get(obj.key, range).catch((error: unknown) => {
    throw error instanceof BlobNotFoundError ? notFound('File', 'the file does not exist') : error;
  });
  // A client that stops reading closes the response; that is not a server error.
  await pipeline(body, res).catch((error: unknown) => {
    if (!res.headersSent) throw error;
    res.destroy();
  });
}

/**
 * "*" or a list of entity tags (RFC 9110 §13.1.1, §13.1.2). If-Match compares strongly (a W/ tag never
 * matches), If-None-Match weakly.
 */
function etagListMatches(header: string, etag: string, comparison: 'strong' | 'weak'): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((raw) => {
    const tag = raw.trim();
    return (comparison === 'weak' ? tag.replace(/^W\//, '') : tag) === etag;
  });
}
