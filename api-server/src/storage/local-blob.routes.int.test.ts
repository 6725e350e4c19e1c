/** What the local signed-URL routes add on top of the contract: error codes, size limits, aborts, 416. */
import { request } from 'node:http';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { startLocalBlobTestServer, type LocalBlobTestServer } from './local-blob.test-server';

const MAX_PART = 1024 * 1024;
let server: LocalBlobTestServer;
beforeAll(async () => (server = await startLocalBlobTestServer({ maxPartSize: MAX_PART })));
afterAll(() => server.close());

const uploadFiles = async (uploadId: string) => (await readdir(path.join(server.root, 'uploads', uploadId))).filter((f) => f !== 'upload.json');

test('expired and tampered URLs get 403 with distinct codes', async () => {
  const { store } = server;
  await store.put('k/expired', Readable.from([Buffer.from('x')]));
  const tampered = (await store.downloadUrl('k/expired', { expiresInSeconds: 60 })).replace('key=k%2Fexpired', 'key=k%2Fother');
  const response = await fetch(tampered);
  expect(response.status).toBe(403);
  expect(await response.json()).toEqual({ code: 'Forbidden.InvalidSignature', message: expect.any(String) });
  const expired = await store.downloadUrl('k/expired', { expiresInSeconds: -1 });
  const late = await fetch(expired);
  expect(late.status).toBe(403);
  expect(await late.json()).toEqual({ code: 'Forbidden.UrlExpired', message: expect.any(String) });
});

test('a part larger than maxPartSize is refused with 413 and leaves no part', async () => {
  const uploadId = await server.store.createMultipart('k/too-large');
  const url = await server.store.partUploadUrl('k/too-large', uploadId, 1, 60);
  const announced = await fetch(url, { method: 'PUT', body: Buffer.alloc(MAX_PART + 1) });
  expect(announced.status).toBe(413);
  expect(((await announced.json()) as { code: string }).code).toBe('InvalidParameter.PartSize');
  // Chunked (no Content-Length): the limit is enforced while streaming.
  const chunked = await fetch(url, { method: 'PUT', body: Readable.toWeb(Readable.from([Buffer.alloc(MAX_PART), Buffer.alloc(10)])) as ReadableStream, duplex: 'half' } as RequestInit);
  expect(chunked.status).toBe(413);
  expect(await server.store.listParts('k/too-large', uploadId)).toEqual([]);
  expect(await uploadFiles(uploadId)).toEqual([]);
});

test('a client that aborts mid-body leaves no part and no temp file', async () => {
  const uploadId = await server.store.createMultipart('k/aborted');
  const url = new URL(await server.store.partUploadUrl('k/aborted', uploadId, 1, 60));
  await new Promise<void>((resolve) => {
    const req = request(url, { method: 'PUT', headers: { 'Content-Length': 1000 } });
    req.on('error', () => resolve());
    req.write(Buffer.alloc(500), () => setTimeout(() => req.destroy(), 50));
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(await server.store.listParts('k/aborted', uploadId)).toEqual([]);
  expect(await uploadFiles(uploadId)).toEqual([]);
});

test('downloads: 416 with Content-Range for an unsatisfiable range, suffix ranges, HEAD, If-Range', async () => {
  await server.store.put('k/ranges', Readable.from([Buffer.from('0123456789')]));
  const url = await server.store.downloadUrl('k/ranges', { expiresInSeconds: 60 });
  const beyond = await fetch(url, { headers: { Range: 'bytes=10-' } });
  expect(beyond.status).toBe(416);
  expect(beyond.headers.get('content-range')).toBe('bytes */10');
  const suffix = await fetch(url, { headers: { Range: 'bytes=-3' } });
  expect([suffix.status, await suffix.text()]).toEqual([206, '789']);
  const head = await fetch(url, { method: 'HEAD' });
  expect([head.status, head.headers.get('content-length'), head.headers.get('accept-ranges')]).toEqual([200, '10', 'bytes']);
  const stale = await fetch(url, { headers: { Range: 'bytes=0-0', 'If-Range': '"old"' } });
  expect([stale.status, await stale.text()]).toEqual([200, '0123456789']);
  expect(head.headers.get('x-content-type-options')).toBe('nosniff');
});

test('downloads: the ETag signed into the URL is the one served and compared, strongly where the RFC says', async () => {
  const info = await server.store.put('k/tagged', Readable.from([Buffer.from('0123456789')]));
  const plain = await fetch(await server.store.downloadUrl('k/tagged', { expiresInSeconds: 60 }));
  expect(plain.headers.get('etag')).toBe(`"${info.etag}"`);
  const url = await server.store.downloadUrl('k/tagged', { expiresInSeconds: 60, etag: 'abc123' });
  const status = async (headers: Record<string, string>) => (await fetch(url, { headers })).status;
  expect((await fetch(url)).headers.get('etag')).toBe('"abc123"');
  expect(await status({ 'If-None-Match': '"x", W/"abc123"' })).toBe(304);
  expect(await status({ 'If-None-Match': `"${info.etag}"` })).toBe(200);
  expect(await status({ 'If-Match': '"abc123"' })).toBe(200);
  expect(await status({ 'If-Match': '*' })).toBe(200);
  expect(await status({ 'If-Match': 'W/"abc123"' })).toBe(412);
  // If-Match is evaluated before If-None-Match (RFC 9110 §13.2.2).
  expect(await status({ 'If-Match': '"x"', 'If-None-Match': '"abc123"' })).toBe(412);
  expect(await status({ Range: 'bytes=0-0', 'If-Range': '"abc123"' })).toBe(206);
  expect(await status({ Range: 'bytes=0-0', 'If-Range': 'W/"abc123"' })).toBe(200);
  expect(await status({ Range: 'bytes=0-0', 'If-Range': 'Sun, 06 Dec 2026 00:00:00 GMT' })).toBe(200);
  const tampered = url.replace('etag=abc123', 'etag=abc124');
  expect((await fetch(tampered)).status).toBe(403);
});

test('a missing object is 404 NotFound.File', async () => {
  const response = await fetch(await server.store.downloadUrl('k/none', { expiresInSeconds: 60 }));
  expect(response.status).toBe(404);
  expect(((await response.json()) as { code: string }).code).toBe('NotFound.File');
});
