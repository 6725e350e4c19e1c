import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import client from 'prom-client';
import { loadConfig } from '../config/config';
import { createStorageErrorsCounter } from '../shared/metrics';
import { createUrlSigner } from '../shared/url-signer';
import { BlobNotFoundError, type BlobStore } from './blob-store';
import { countStorageErrors } from './counted.blob-store';
import { createBlobStore } from './create-blob-store';

const signer = createUrlSigner({ secret: 'test-secret-for-counted-blob-store-0123', baseUrl: 'http://127.0.0.1:1' });

/** openpds_storage_errors_total as /metrics renders it: `operation/store` → value, zero series left out. */
async function storageErrors(registry: client.Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('openpds_storage_errors_total')!.get();
  return Object.fromEntries(metric.values.filter((v) => v.value > 0).map((v) => [`${v.labels.operation}/${v.labels.store}`, v.value]));
}

function setup(env: Record<string, string>) {
  const registry = new client.Registry();
  const store = createBlobStore(loadConfig({ OPENPDS_LOG_LEVEL: 'silent', ...env }), signer, createStorageErrorsCounter(registry));
  return { registry, store };
}

describe('openpds_storage_errors_total', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'openpds-counted-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('does not count answers: a missing key on HEAD, GET and copy, a deleted missing key', async () => {
    const { registry, store } = setup({ OPENPDS_DATA_DIR: dir });
    expect(await store.head('blobs/missing')).toBeNull();
    await expect(store.get('blobs/missing')).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.copy('blobs/missing', 'blobs/other')).rejects.toBeInstanceOf(BlobNotFoundError);
    await store.delete('blobs/missing');
    await store.put('blobs/a', Readable.from([Buffer.from('hello')]), { size: 5 });
    // A body that does not match its announced size is the client's fault.
    await expect(store.put('blobs/b', Readable.from([Buffer.from('hello')]), { size: 9 })).rejects.toThrow(/announced/);
    // A range past the end is the caller's.
    await expect(store.get('blobs/a', { start: 10, end: 20 })).rejects.toBeInstanceOf(RangeError);
    expect(await storageErrors(registry)).toEqual({});
    // Every operation's series is there at 0, so rate() has a baseline before the first failure.
    expect(await registry.metrics()).toContain('openpds_storage_errors_total{operation="head",store="local"} 0');
  });

  it('counts a local disk that cannot be written (the blobs directory is a file)', async () => {
    await writeFile(path.join(dir, 'blobs'), 'not a directory');
    const { registry, store } = setup({ OPENPDS_DATA_DIR: dir });
    await expect(store.put('blobs/a', Readable.from([Buffer.from('hello')]), { size: 5 })).rejects.toThrow();
    await expect(store.ping()).rejects.toThrow();
    await expect(store.createMultipart('uploads/a')).rejects.toThrow();
    expect(await storageErrors(registry)).toEqual({ 'put/local': 1, 'ping/local': 1, 'create_multipart/local': 1 });
  });

  it('counts an S3 endpoint that refuses connections, on every operation', async () => {
    const closed = await closedPort();
    const { registry, store } = setup({
      OPENPDS_STORAGE: 's3',
      OPENPDS_S3_BUCKET: 'b',
      OPENPDS_S3_ENDPOINT: `http://127.0.0.1:${closed}`,
      OPENPDS_S3_ACCESS_KEY_ID: 'k',
      OPENPDS_S3_SECRET_ACCESS_KEY: 's',
    });
    await expect(store.head('blobs/a')).rejects.toThrow();
    await expect(store.get('blobs/a')).rejects.toThrow();
    await expect(collect(store.list('blobs/'))).rejects.toThrow();
    expect(await storageErrors(registry)).toEqual({ 'head/s3': 1, 'get/s3': 1, 'list/s3': 1 });
  }, 30_000);

  it('counts a download stream that fails mid-object, not a reader that goes away', async () => {
    const registry = new client.Registry();
    const failing = new PassThrough();
    const endless = new Readable({ read() { this.push(Buffer.alloc(1024)); } });
    const streams = [failing, endless];
    const store = countStorageErrors({ kind: 's3', get: async () => streams.shift()! } as unknown as BlobStore, createStorageErrorsCounter(registry));

    const body = await store.get('blobs/a');
    const read = collect(body);
    failing.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    await expect(read).rejects.toThrow('ECONNRESET');

    // The downloading client leaves: pipeline destroys the source with ERR_STREAM_PREMATURE_CLOSE.
    const download = await store.get('blobs/b');
    const sink = new PassThrough();
    const piping = pipeline(download, sink);
    sink.destroy();
    await expect(piping).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
    expect(await storageErrors(registry)).toEqual({ 'get/s3': 1 });
  });

  it('does not count a write whose uploading client went away', async () => {
    const registry = new client.Registry();
    const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    const body = new PassThrough();
    const inner = {
      kind: 'local',
      async put(_key: string, b: Readable) {
        await pipeline(b, new PassThrough());
        return { size: 0 };
      },
    } as unknown as BlobStore;
    const store = countStorageErrors(inner, createStorageErrorsCounter(registry));
    const put = store.put('blobs/a', body);
    body.destroy(aborted);
    await expect(put).rejects.toBe(aborted);
    expect(await storageErrors(registry)).toEqual({});
  });

  it('keeps objectUploadUrl absent when the store has none', () => {
    const counter = createStorageErrorsCounter(new client.Registry());
    expect(countStorageErrors({ kind: 's3' } as unknown as BlobStore, counter).objectUploadUrl).toBeUndefined();
  });
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** A loopback port nobody listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
