/**
 * One-part uploads on the local store: the signed whole-object PUT (objectUploadUrl) and the rename that
 * replaces the copy when a multipart upload has a single part. Over real HTTP, against the test server.
 */
import { request } from 'node:http';
import { link, mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { startLocalBlobTestServer, type LocalBlobTestServer } from './local-blob.test-server';

const MAX_PART = 1024 * 1024;
let server: LocalBlobTestServer;
beforeAll(async () => (server = await startLocalBlobTestServer({ maxPartSize: MAX_PART })));
afterAll(() => server.close());

function bytes(n: number, seed = 1): Buffer {
  const buffer = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) buffer[i] = (i * 31 + seed) & 0xff;
  return buffer;
}
const uploadUrl = (key: string, ttl = 60) => server.store.objectUploadUrl!(key, ttl);
const put = (url: string, body: Buffer | ReadableStream) => fetch(url, { method: 'PUT', body, duplex: 'half' } as RequestInit);
const tmpFiles = () => readdir(path.join(server.root, 'tmp'));
const read = async (key: string) => Buffer.concat(await (await server.store.get(key)).toArray());

/** Waits for the server to finish with a request the client abandoned (its temp file gone). */
async function settled(): Promise<void> {
  for (let i = 0; i < 40 && (await tmpFiles()).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
}

test('a PUT to objectUploadUrl stores the bytes; head and get agree, and the ETag is the object’s', async () => {
  const body = bytes(300_000);
  const response = await put(await uploadUrl('k/put'), body);
  expect(response.status).toBe(200);
  const info = await server.store.head('k/put');
  expect(info?.size).toBe(body.length);
  expect(response.headers.get('etag')).toBe(`"${info!.etag}"`);
  expect((await read('k/put')).equals(body)).toBe(true);
  expect(await tmpFiles()).toEqual([]);
});

test('a chunked body (no Content-Length) is accepted', async () => {
  const body = bytes(200_000, 7);
  const response = await put(await uploadUrl('k/chunked'), Readable.toWeb(Readable.from([body.subarray(0, 1000), body.subarray(1000)])) as ReadableStream);
  expect(response.status).toBe(200);
  expect((await read('k/chunked')).equals(body)).toBe(true);
});

test('a second PUT to the same URL replaces the object', async () => {
  const url = await uploadUrl('k/replace');
  expect((await put(url, bytes(1000, 1))).status).toBe(200);
  const first = await server.store.head('k/replace');
  expect((await put(url, bytes(500, 2))).status).toBe(200);
  const second = await server.store.head('k/replace');
  expect(second?.size).toBe(500);
  expect(second?.etag).not.toBe(first?.etag);
  expect((await read('k/replace')).equals(bytes(500, 2))).toBe(true);
});

test('expired and tampered URLs get 403 with the part route’s codes, and nothing is written', async () => {
  const expired = await put(await uploadUrl('k/expired', -1), bytes(10));
  expect(expired.status).toBe(403);
  expect(await expired.json()).toEqual({ code: 'Forbidden.UrlExpired', message: expect.any(String) });
  const tampered = await put((await uploadUrl('k/signed')).replace('key=k%2Fsigned', 'key=k%2Fother'), bytes(10));
  expect(tampered.status).toBe(403);
  expect(await tampered.json()).toEqual({ code: 'Forbidden.InvalidSignature', message: expect.any(String) });
  // The signature covers the path: a download URL's does not open the upload route, nor the other way.
  await server.store.put('k/existing', Readable.from([bytes(10)]));
  const download = new URL(await server.store.downloadUrl('k/existing', { expiresInSeconds: 60 }));
  const asUpload = await put(`${server.baseUrl}/v2/blob/object_upload${download.search}`, bytes(20));
  expect(asUpload.status).toBe(403);
  const asPart = await put((await uploadUrl('k/as-part')).replace('/v2/blob/object_upload', '/v2/blob/part'), bytes(10));
  expect(asPart.status).toBe(403);
  expect(await server.store.head('k/expired')).toBeNull();
  expect(await server.store.head('k/signed')).toBeNull();
  expect(await server.store.head('k/other')).toBeNull();
  expect(await server.store.head('k/as-part')).toBeNull();
  expect((await server.store.head('k/existing'))?.size).toBe(10);
  expect(await tmpFiles()).toEqual([]);
});

test('a body larger than maxPartSize is refused with 413 and leaves no object', async () => {
  const url = await uploadUrl('k/too-large');
  const announced = await put(url, Buffer.alloc(MAX_PART + 1));
  expect(announced.status).toBe(413);
  expect(((await announced.json()) as { code: string }).code).toBe('InvalidParameter.PartSize');
  // Chunked: the limit is enforced while streaming, the temp file dropped.
  const chunked = await put(url, Readable.toWeb(Readable.from([Buffer.alloc(MAX_PART), Buffer.alloc(10)])) as ReadableStream);
  expect(chunked.status).toBe(413);
  expect(await server.store.head('k/too-large')).toBeNull();
  expect(await tmpFiles()).toEqual([]);
  // Exactly the limit is fine.
  expect((await put(url, Buffer.alloc(MAX_PART))).status).toBe(200);
});

test('a client that sends less than Content-Length and aborts leaves no object, and the old one stays', async () => {
  const abortAfterHalf = async (url: URL) =>
    new Promise<void>((resolve) => {
      const req = request(url, { method: 'PUT', headers: { 'Content-Length': 1000 } });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(500), () => setTimeout(() => req.destroy(), 50));
    });
  await abortAfterHalf(new URL(await uploadUrl('k/aborted')));
  await settled();
  expect(await server.store.head('k/aborted')).toBeNull();
  expect(await tmpFiles()).toEqual([]);

  const url = await uploadUrl('k/aborted-replace');
  expect((await put(url, bytes(100))).status).toBe(200);
  await abortAfterHalf(new URL(url));
  await settled();
  expect((await read('k/aborted-replace')).equals(bytes(100))).toBe(true);
  expect(await tmpFiles()).toEqual([]);
});

test('objectUploadUrl refuses a key that could leave the store', async () => {
  await expect(uploadUrl('../escape')).rejects.toThrow(RangeError);
});

describe('completeMultipart of one part', () => {
  const partFile = async (uploadId: string) => {
    const dir = path.join(server.root, 'uploads', uploadId);
    const [name] = (await readdir(dir)).filter((f) => f !== 'upload.json');
    return path.join(dir, name!);
  };
  const objectFile = (key: string) => path.join(server.root, 'objects', ...key.split('/'));

  test('renames the part onto the object (same inode, no copy) and removes the upload', async () => {
    const { store } = server;
    await store.put('k/mp-one', Readable.from([bytes(10, 9)])); // replaced by the completion
    const uploadId = await store.createMultipart('k/mp-one');
    const body = bytes(123_456, 3);
    const part = await store.putPart('k/mp-one', uploadId, 1, Readable.from([body]), body.length);
    const { ino } = await stat(await partFile(uploadId));
    const info = await store.completeMultipart('k/mp-one', uploadId, [part]);
    expect(info.size).toBe(body.length);
    expect((await stat(objectFile('k/mp-one'))).ino).toBe(ino);
    expect((await read('k/mp-one')).equals(body)).toBe(true);
    expect(await readdir(path.join(server.root, 'uploads'))).not.toContain(uploadId);
    expect(await tmpFiles()).toEqual([]);
    await expect(store.listParts('k/mp-one', uploadId)).rejects.toThrow('multipart upload not found');
  });

  test('a retry after a crash that had already renamed finishes cleanly', async () => {
    const { store } = server;
    const uploadId = await store.createMultipart('k/mp-retry');
    const body = bytes(5000, 4);
    const part = await store.putPart('k/mp-retry', uploadId, 1, Readable.from([body]), body.length);
    // The crash: the object already is the part, the upload directory is still there.
    await mkdir(path.dirname(objectFile('k/mp-retry')), { recursive: true });
    await link(await partFile(uploadId), objectFile('k/mp-retry'));
    expect(await store.listParts('k/mp-retry', uploadId)).toEqual([part]);
    await store.completeMultipart('k/mp-retry', uploadId, [part]);
    expect((await read('k/mp-retry')).equals(body)).toBe(true);
    expect(await readdir(path.join(server.root, 'uploads'))).not.toContain(uploadId);
    expect(await tmpFiles()).toEqual([]);
  });

  test('several parts are still concatenated', async () => {
    const { store } = server;
    const uploadId = await store.createMultipart('k/mp-two');
    const first = bytes(5 * 1024 ** 2, 5);
    const second = bytes(1000, 6);
    const parts = [
      await store.putPart('k/mp-two', uploadId, 1, Readable.from([first]), first.length),
      await store.putPart('k/mp-two', uploadId, 2, Readable.from([second]), second.length),
    ];
    await store.completeMultipart('k/mp-two', uploadId, parts);
    expect((await read('k/mp-two')).equals(Buffer.concat([first, second]))).toBe(true);
    expect(await tmpFiles()).toEqual([]);
  });
});
