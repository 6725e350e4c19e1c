/**
 * The one contract every BlobStore passes (local.blob-store.int.test.ts, s3.blob-store.int.test.ts).
 * Parts go through the store's own URLs with a real fetch, so the local routes and S3's presigning are
 * part of what is tested. Part sizes respect S3's 5 MiB minimum, which both stores enforce.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { BlobNotFoundError, InvalidPartError, MIN_PART_SIZE, UploadNotFoundError, type BlobStore } from './blob-store';

export interface BlobStoreHarness {
  store: BlobStore;
  /** Stops whatever the harness started (servers, temp dirs). */
  close(): Promise<void>;
}

const MiB = 1024 ** 2;
const UNKNOWN_UPLOAD_ID = '0'.repeat(32);

export function describeBlobStoreContract(name: string, makeHarness: () => Promise<BlobStoreHarness>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let harness: BlobStoreHarness | undefined;
    let store: BlobStore;
    // Every key of this run lives under one prefix, so runs never see each other's objects.
    const run = `contract-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}/`;

    beforeAll(async () => {
      harness = await makeHarness();
      store = harness.store;
    });

    afterAll(async () => {
      if (!harness) return;
      for await (const upload of store.listMultipartUploads())
        if (upload.key.startsWith(run)) await store.abortMultipart(upload.key, upload.uploadId);
      for await (const { key } of store.list(run)) await store.delete(key);
      await harness.close();
    });

    test('put then get roundtrips a multi-MB body of unknown length', async () => {
      const body = randomBody(12 * MiB + 123);
      const put = await store.put(`${run}big`, body.stream);
      expect(put.size).toBe(12 * MiB + 123);
      expect(await sha256Of(await store.get(`${run}big`))).toBe(body.sha256());
      expect(await store.head(`${run}big`)).toEqual({ size: put.size, etag: put.etag });
    });

    test('put with a known size streams it and reports the etag head reports', async () => {
      const data = randomBytes(3 * MiB + 1);
      const put = await store.put(`${run}sized`, Readable.from([data]), { size: data.length });
      expect(put).toEqual(await store.head(`${run}sized`));
      expect(await sha256Of(await store.get(`${run}sized`))).toBe(sha256(data));
    });

    test('put replaces an object and changes its etag', async () => {
      const first = await store.put(`${run}replaced`, Readable.from([Buffer.from('first')]));
      const second = await store.put(`${run}replaced`, Readable.from([Buffer.from('second!')]));
      expect(second.etag).not.toBe(first.etag);
      expect((await readAll(await store.get(`${run}replaced`))).toString()).toBe('second!');
    });

    test('copy is a snapshot: replacing the source later leaves the copy as it was', async () => {
      const data = randomBytes(2 * MiB + 7);
      await store.put(`${run}copy source ü+`, Readable.from([data]), { size: data.length });
      const copied = await store.copy(`${run}copy source ü+`, `${run}copies/one`);
      expect(copied).toEqual(await store.head(`${run}copies/one`));
      expect(copied.size).toBe(data.length);
      await store.put(`${run}copy source ü+`, Readable.from([Buffer.from('replaced')]));
      expect(await sha256Of(await store.get(`${run}copies/one`))).toBe(sha256(data));
      await store.delete(`${run}copy source ü+`);
      expect(await sha256Of(await store.get(`${run}copies/one`))).toBe(sha256(data));
      await expect(store.copy(`${run}copy missing`, `${run}copies/two`)).rejects.toBeInstanceOf(BlobNotFoundError);
      expect(await store.head(`${run}copies/two`)).toBeNull();
    });

    test('get returns inclusive byte ranges', async () => {
      const data = randomBytes(1000);
      await store.put(`${run}ranged`, Readable.from([data]), { size: data.length });
      const range = async (start: number, end: number) => readAll(await store.get(`${run}ranged`, { start, end }));
      expect(await range(0, 0)).toEqual(data.subarray(0, 1));
      expect(await range(100, 199)).toEqual(data.subarray(100, 200));
      expect(await range(999, 999)).toEqual(data.subarray(999));
      expect(await range(990, 5000)).toEqual(data.subarray(990)); // an end past the object is clamped
    });

    test('missing keys: head is null, get rejects, delete is idempotent', async () => {
      expect(await store.head(`${run}missing`)).toBeNull();
      await expect(store.get(`${run}missing`)).rejects.toBeInstanceOf(BlobNotFoundError);
      await store.put(`${run}deleted`, Readable.from([Buffer.from('x')]));
      await store.delete(`${run}deleted`);
      await store.delete(`${run}deleted`);
      expect(await store.head(`${run}deleted`)).toBeNull();
    });

    test('putIfAbsent creates once: of concurrent callers exactly one wins, the object stays the first', async () => {
      const key = `${run}claim/once.json`;
      expect(await store.putIfAbsent(key, Buffer.from('first'))).toBe(true);
      expect(await store.putIfAbsent(key, Buffer.from('second'))).toBe(false);
      expect((await readAll(await store.get(key))).toString()).toBe('first');
      const raced = `${run}claim/raced.json`;
      const results = await Promise.all(['a', 'b', 'c', 'd'].map((body) => store.putIfAbsent(raced, Buffer.from(body))));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await readAll(await store.get(raced))).toString()).toBe(['a', 'b', 'c', 'd'][results.indexOf(true)]);
    });

    test('list returns every key under a prefix', async () => {
      for (const key of ['a/1', 'a/2', 'ab/3', 'b/4']) await store.put(`${run}list/${key}`, Readable.from([Buffer.from(key)]));
      const list = async (prefix: string) => {
        const keys: string[] = [];
        for await (const entry of store.list(`${run}list/${prefix}`)) keys.push(entry.key.slice(`${run}list/`.length));
        return keys.sort();
      };
      expect(await list('a/')).toEqual(['a/1', 'a/2']);
      expect(await list('a')).toEqual(['a/1', 'a/2', 'ab/3']);
      expect(await list('')).toEqual(['a/1', 'a/2', 'ab/3', 'b/4']);
      expect(await list('zzz')).toEqual([]);
      // A prefix of other keys is not an object (on disk it is a directory).
      expect(await store.head(`${run}list/a`)).toBeNull();
      await expect(store.get(`${run}list/a`)).rejects.toBeInstanceOf(BlobNotFoundError);
    });

    test('multipart: parts PUT to their URLs, listed, completed into the object', async () => {
      const key = `${run}multipart`;
      const uploadId = await store.createMultipart(key);
      expect(await collect(store.listMultipartUploads())).toContainEqual(expect.objectContaining({ key, uploadId }));
      const parts = [randomBytes(MIN_PART_SIZE), randomBytes(MiB + 17)];
      const etags: string[] = [];
      // Uploaded out of order on purpose: parts are assembled by number, not by arrival.
      for (const i of [1, 0]) {
        const response = await fetch(await store.partUploadUrl(key, uploadId, i + 1, 300), { method: 'PUT', body: parts[i] });
        expect(response.status).toBe(200);
        etags[i] = response.headers.get('etag')!.replace(/"/g, '');
      }
      const listed = await store.listParts(key, uploadId);
      expect(listed).toEqual([
        { partNumber: 1, size: MIN_PART_SIZE, etag: etags[0] },
        { partNumber: 2, size: MiB + 17, etag: etags[1] },
      ]);
      const info = await store.completeMultipart(key, uploadId, listed);
      expect(info.size).toBe(MIN_PART_SIZE + MiB + 17);
      expect(await store.head(key)).toEqual(info);
      expect(await sha256Of(await store.get(key))).toBe(sha256(Buffer.concat(parts)));
      const open = await collect(store.listMultipartUploads());
      expect(open.map((u) => u.uploadId)).not.toContain(uploadId);
    });

    test('multipart: putPart through the server, with and without a size, replacing a part', async () => {
      const key = `${run}putpart`;
      const uploadId = await store.createMultipart(key);
      const first = randomBytes(MIN_PART_SIZE);
      await store.putPart(key, uploadId, 1, Readable.from([randomBytes(MIN_PART_SIZE)])); // replaced below
      const p1 = await store.putPart(key, uploadId, 1, Readable.from([first]), first.length);
      const p2 = await store.putPart(key, uploadId, 2, Readable.from([Buffer.from('tail')]));
      expect(p1).toEqual({ partNumber: 1, size: first.length, etag: md5(first) });
      expect(p2).toEqual({ partNumber: 2, size: 4, etag: md5(Buffer.from('tail')) });
      expect(await store.listParts(key, uploadId)).toEqual([p1, p2]);
      await store.completeMultipart(key, uploadId, [p1, { ...p2, etag: `"${p2.etag}"` }]); // quoted etags accepted
      expect(await sha256Of(await store.get(key))).toBe(sha256(Buffer.concat([first, Buffer.from('tail')])));
    });

    test('multipart: complete refuses a wrong etag and a too small part that is not the last', async () => {
      const key = `${run}invalid-parts`;
      const uploadId = await store.createMultipart(key);
      const p1 = await store.putPart(key, uploadId, 1, Readable.from([Buffer.from('small')]), 5);
      const p2 = await store.putPart(key, uploadId, 2, Readable.from([Buffer.from('last')]), 4);
      await expect(store.completeMultipart(key, uploadId, [{ ...p1, etag: md5(Buffer.from('other')) }])).rejects.toBeInstanceOf(
        InvalidPartError,
      );
      await expect(store.completeMultipart(key, uploadId, [p1, p2])).rejects.toBeInstanceOf(InvalidPartError);
      await store.abortMultipart(key, uploadId);
    });

    test('multipart: abort removes the upload; unknown uploads are reported', async () => {
      const key = `${run}aborted`;
      const uploadId = await store.createMultipart(key);
      await store.putPart(key, uploadId, 1, Readable.from([Buffer.from('bytes')]), 5);
      await store.abortMultipart(key, uploadId);
      await store.abortMultipart(key, uploadId); // aborting twice is fine
      await expect(store.listParts(key, uploadId)).rejects.toBeInstanceOf(UploadNotFoundError);
      await expect(store.putPart(key, uploadId, 1, Readable.from([Buffer.from('x')]), 1)).rejects.toBeInstanceOf(UploadNotFoundError);
      await expect(store.listParts(key, UNKNOWN_UPLOAD_ID)).rejects.toBeInstanceOf(UploadNotFoundError);
      await expect(store.completeMultipart(key, UNKNOWN_UPLOAD_ID, [{ partNumber: 1, size: 1, etag: md5(Buffer.from('x')) }])).rejects.toBeInstanceOf(
        UploadNotFoundError,
      );
      expect((await collect(store.listMultipartUploads())).map((u) => u.uploadId)).not.toContain(uploadId);
      expect(await store.head(key)).toBeNull();
    });

    test('multipart: listParts pages past 1,000 parts', async () => {
      const key = `${run}many-parts`;
      const uploadId = await store.createMultipart(key);
      const numbers = Array.from({ length: 1001 }, (_, i) => i + 1);
      await inBatches(numbers, 25, (n) => store.putPart(key, uploadId, n, Readable.from([Buffer.from([n % 256])]), 1));
      const parts = await store.listParts(key, uploadId);
      expect(parts.map((p) => p.partNumber)).toEqual(numbers);
      await store.abortMultipart(key, uploadId);
    });

    test('signed URLs: a tampered URL is refused, an expired one too', async () => {
      const key = `${run}signed`;
      await store.put(key, Readable.from([Buffer.from('signed bytes')]));
      const uploadId = await store.createMultipart(key);
      const partUrl = await store.partUploadUrl(key, uploadId, 1, 300);
      const downloadUrl = await store.downloadUrl(key, { expiresInSeconds: 300 });
      for (const url of [tamper(partUrl, /signature/i), tamper(partUrl, /^part_?number$/i)])
        expect((await fetch(url, { method: 'PUT', body: 'x' })).status).toBe(403);
      expect((await fetch(tamper(downloadUrl, /signature/i))).status).toBe(403);

      const shortPart = await store.partUploadUrl(key, uploadId, 1, 1);
      const shortDownload = await store.downloadUrl(key, { expiresInSeconds: 1 });
      await new Promise((resolve) => setTimeout(resolve, 2100));
      expect((await fetch(shortPart, { method: 'PUT', body: 'x' })).status).toBe(403);
      expect((await fetch(shortDownload)).status).toBe(403);
      expect(await store.listParts(key, uploadId)).toEqual([]);
      await store.abortMultipart(key, uploadId);
    });

    test('upload URLs signed with a content length take exactly that many bytes (S3 403, local 400)', async () => {
      const key = `${run}exact-length`;
      const put = (url: string, body: Buffer | ReadableStream) => fetch(url, { method: 'PUT', body, duplex: 'half' } as RequestInit);
      const chunked = (body: Buffer) => Readable.toWeb(Readable.from([body.subarray(0, 4), body.subarray(4)])) as ReadableStream;
      const uploadId = await store.createMultipart(key);
      const partUrl = await store.partUploadUrl(key, uploadId, 1, 300, 10);
      for (const body of [randomBytes(11), randomBytes(9)]) expect((await put(partUrl, body)).status).toBeGreaterThanOrEqual(400);
      expect((await put(partUrl, chunked(randomBytes(64)))).status).toBeGreaterThanOrEqual(400);
      expect(await store.listParts(key, uploadId)).toEqual([]);
      expect((await put(partUrl, randomBytes(10))).status).toBe(200);
      expect((await store.listParts(key, uploadId)).map((p) => p.size)).toEqual([10]);
      await store.abortMultipart(key, uploadId);

      if (!store.objectUploadUrl) return;
      const objectUrl = await store.objectUploadUrl(key, 300, 10);
      for (const body of [randomBytes(11), randomBytes(9)]) expect((await put(objectUrl, body)).status).toBeGreaterThanOrEqual(400);
      expect((await put(objectUrl, chunked(randomBytes(64)))).status).toBeGreaterThanOrEqual(400);
      expect(await store.head(key)).toBeNull();
      expect((await put(objectUrl, randomBytes(10))).status).toBe(200);
      expect((await store.head(key))?.size).toBe(10);
    });

    test('downloadUrl serves ranges, the content type, a UTF-8 file name and conditional requests', async () => {
      const key = `${run}download`;
      const data = randomBytes(64 * 1024);
      const put = await store.put(key, Readable.from([data]), { size: data.length });
      const fileName = 'Été 2024 – 日本 "quoted" (1).jpg';
      const url = await store.downloadUrl(key, { expiresInSeconds: 300, fileName, contentType: 'image/jpeg' });

      const whole = await fetch(url);
      expect(whole.status).toBe(200);
      expect(whole.headers.get('content-type')).toBe('image/jpeg');
      expect(Buffer.from(await whole.arrayBuffer())).toEqual(data);
      const disposition = whole.headers.get('content-disposition')!;
      expect(disposition).toMatch(/^attachment;/);
      expect(decodeURIComponent(/filename\*=UTF-8''([^;]+)/.exec(disposition)![1]!)).toBe(fileName);

      const ranged = await fetch(url, { headers: { Range: 'bytes=1000-1999' } });
      expect(ranged.status).toBe(206);
      expect(ranged.headers.get('content-range')).toBe(`bytes 1000-1999/${data.length}`);
      expect(Buffer.from(await ranged.arrayBuffer())).toEqual(data.subarray(1000, 2000));

      const etag = whole.headers.get('etag')!;
      expect(etag.replace(/"/g, '')).toBe(put.etag);
      expect((await fetch(url, { headers: { 'If-None-Match': etag } })).status).toBe(304);

      const inline = await store.downloadUrl(key, { expiresInSeconds: 300, disposition: 'inline' });
      const response = await fetch(inline);
      expect(response.headers.get('content-disposition')).toMatch(/^inline/);
      await response.arrayBuffer();
    });

    test('ping succeeds', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}

/** A random body generated chunk by chunk (never held whole), with the SHA-256 of what it produced. */
function randomBody(size: number): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  async function* chunks() {
    for (let left = size; left > 0; left -= 256 * 1024) {
      const chunk = randomBytes(Math.min(left, 256 * 1024));
      hash.update(chunk);
      yield chunk;
    }
  }
  return { stream: Readable.from(chunks()), sha256: () => hash.digest('hex') };
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function inBatches<T>(items: T[], size: number, run: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}

/** Changes one character of the first query parameter whose name matches. */
function tamper(url: string, param: RegExp): string {
  const parsed = new URL(url);
  const name = [...parsed.searchParams.keys()].find((k) => param.test(k));
  if (!name) throw new Error(`no parameter matching ${param} in ${url}`);
  const value = parsed.searchParams.get(name)!;
  const last = value.at(-1) === '2' ? '3' : '2';
  parsed.searchParams.set(name, value.slice(0, -1) + last);
  return parsed.toString();
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');
