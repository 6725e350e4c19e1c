/**
 * The local store's root is made only under a parent that exists, and never made again once it has gone:
 * a data dir moved away under a running server used to come back, empty, at the old place on the next write
 * (mkdir -p), and the writes went there (the data split in two). Every operation now fails with
 * LocalStoreGoneError (503 ServiceUnavailable) until the data dir is back, and then works again.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createUrlSigner } from '../shared/url-signer';
import { makeDirsUnder } from './local-files';
import { LocalStoreGoneError } from './local-root';
import { createLocalBlobStore } from './local.blob-store';

const signer = createUrlSigner({ secret: 'x'.repeat(40), baseUrl: 'http://localhost' });
const body = (text: string) => Readable.from([Buffer.from(text)]);
const read = async (stream: AsyncIterable<unknown>) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
};
const collect = async <T>(items: AsyncIterable<T>) => {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
};
const gone = { name: 'AppError', code: 'ServiceUnavailable', status: 503 };

describe('local store whose data dir goes away', () => {
  let parent: string;
  let dataDir: string;
  let root: string;
  beforeEach(() => {
    parent = mkdtempSync(path.join(tmpdir(), 'openpds-local-root-'));
    dataDir = path.join(parent, 'data');
    mkdirSync(dataDir);
    root = path.join(dataDir, 'blobs');
  });
  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  it('fails every operation with LocalStoreGoneError and makes nothing at the old place; moved back, it serves again', async () => {
    const store = createLocalBlobStore({ root, signer });
    await store.put('blobs/kept', body('kept bytes'));
    const upload = await store.createMultipart('blobs/mp');
    renameSync(dataDir, `${dataDir}-moved`);

    const calls: [keyof typeof store, () => Promise<unknown>][] = [
      ['put', () => store.put('blobs/new', body('new'))],
      ['get', () => store.get('blobs/kept')],
      ['head', () => store.head('blobs/kept')],
      ['copy', () => store.copy('blobs/kept', 'blobs/copy')],
      ['putIfAbsent', () => store.putIfAbsent('claim.json', Buffer.from('{}'))],
      ['delete', () => store.delete('blobs/kept')],
      ['list', () => collect(store.list('blobs/'))],
      ['createMultipart', () => store.createMultipart('blobs/mp2')],
      ['putPart', () => store.putPart('blobs/mp', upload, 1, body('part'))],
      ['listParts', () => store.listParts('blobs/mp', upload)],
      ['completeMultipart', () => store.completeMultipart('blobs/mp', upload, [{ partNumber: 1, size: 4, etag: 'x' }])],
      ['abortMultipart', () => store.abortMultipart('blobs/mp', upload)],
      ['listMultipartUploads', () => collect(store.listMultipartUploads())],
      ['ping', () => store.ping()],
    ];
    for (const [name, call] of calls) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect({ name, error }).toEqual({ name, error: expect.objectContaining(gone) });
      expect(error).toBeInstanceOf(LocalStoreGoneError);
      expect((error as LocalStoreGoneError).root).toBe(root);
    }
    // Every method of the store is one of those, or signs a URL (its route goes through the methods above),
    // or is the best-effort sweep: one added to the store is called here too, or this fails.
    const touchNoDisk = ['partUploadUrl', 'objectUploadUrl', 'downloadUrl', 'sweepTemp'];
    const methods = Object.keys(store).filter((name) => typeof store[name as keyof typeof store] === 'function');
    expect(methods.sort()).toEqual([...calls.map(([name]) => name), ...touchNoDisk].sort());
    expect(await store.downloadUrl('blobs/kept', { expiresInSeconds: 60 })).toMatch(/^http:\/\/localhost\/v2\/blob\/object\?/);
    expect(await store.sweepTemp(0)).toBe(0);
    // The old code made data/blobs/{objects,uploads,tmp} again here and wrote "new" into it.
    expect(existsSync(dataDir)).toBe(false);

    renameSync(`${dataDir}-moved`, dataDir);
    expect(await read(await store.get('blobs/kept'))).toBe('kept bytes');
    expect(await store.putPart('blobs/mp', upload, 1, body('part'))).toMatchObject({ partNumber: 1, size: 4 });
    await store.put('blobs/new', body('new'));
    expect((await collect(store.list('blobs/'))).map((o) => o.key).sort()).toEqual(['blobs/kept', 'blobs/new']);
  });

  it('the blobs directory alone removed after first use: gone too, not made again empty', async () => {
    const store = createLocalBlobStore({ root, signer });
    await store.ping();
    renameSync(root, `${root}-aside`);
    await expect(store.put('blobs/new', body('new'))).rejects.toBeInstanceOf(LocalStoreGoneError);
    await expect(store.head('blobs/new')).rejects.toBeInstanceOf(LocalStoreGoneError);
    expect(readdirSync(dataDir)).toEqual(['blobs-aside']);
  });

  it('a data dir gone before first use: nothing is made, and the error says so', async () => {
    const store = createLocalBlobStore({ root, signer });
    rmSync(dataDir, { recursive: true });
    await expect(store.put('blobs/new', body('new'))).rejects.toBeInstanceOf(LocalStoreGoneError);
    await expect(store.ping()).rejects.toBeInstanceOf(LocalStoreGoneError);
    await expect(store.putIfAbsent('claim.json', Buffer.from('{}'))).rejects.toBeInstanceOf(LocalStoreGoneError);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('a root directory seen before the store made anything is not made again once it goes', async () => {
    mkdirSync(root); // made by hand (a volume mounted there), empty: the store has not made its folders yet
    const store = createLocalBlobStore({ root, signer });
    expect(await store.head('blobs/new')).toBeNull(); // a store that is there, without that key: seen
    rmSync(root, { recursive: true });
    await expect(store.put('blobs/new', body('new'))).rejects.toBeInstanceOf(LocalStoreGoneError);
    expect(existsSync(root)).toBe(false);
  });

  it("a file at the root's path is no store: removed, the root is made at the next write", async () => {
    writeFileSync(root, 'not a directory');
    const store = createLocalBlobStore({ root, signer });
    await expect(store.put('blobs/new', body('new'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    expect(await store.head('blobs/new')).toBeNull();
    rmSync(root);
    await store.put('blobs/new', body('new'));
    expect(await read(await store.get('blobs/new'))).toBe('new');
  });

  it('a new store in a data dir that exists: empty answers, and its root made at the first write', async () => {
    const store = createLocalBlobStore({ root, signer });
    expect(await store.head('blobs/none')).toBeNull();
    await expect(store.get('blobs/none')).rejects.toMatchObject({ name: 'BlobNotFoundError' });
    await store.delete('blobs/none');
    expect(await collect(store.list('blobs/'))).toEqual([]);
    expect(existsSync(root)).toBe(false);
    expect(await store.putIfAbsent('claim.json', Buffer.from('{}'))).toBe(true);
    expect(readdirSync(root).sort()).toEqual(['objects', 'tmp', 'uploads']);
    // A missing key in a store that is there is still just missing.
    expect(await store.head('blobs/none')).toBeNull();
    await expect(store.get('blobs/none')).rejects.toMatchObject({ name: 'BlobNotFoundError' });
  });
});

describe('makeDirsUnder', () => {
  let base: string;
  beforeEach(() => void (base = mkdtempSync(path.join(tmpdir(), 'openpds-dirs-under-'))));
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('makes the missing levels below base, takes what is there, and never makes base', async () => {
    await makeDirsUnder(base, path.join(base, 'a', 'b', 'c'));
    expect(existsSync(path.join(base, 'a', 'b', 'c'))).toBe(true);
    await makeDirsUnder(base, path.join(base, 'a', 'b'));
    await Promise.all([1, 2, 3].map((i) => makeDirsUnder(base, path.join(base, 'x', 'y', String(i)))));
    expect(readdirSync(path.join(base, 'x', 'y')).sort()).toEqual(['1', '2', '3']);

    const missing = path.join(base, 'gone');
    await expect(makeDirsUnder(missing, path.join(missing, 'a', 'b'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(existsSync(missing)).toBe(false);
    await expect(makeDirsUnder(base, base)).rejects.toBeInstanceOf(RangeError);
    await expect(makeDirsUnder(path.join(base, 'a'), path.join(base, 'x'))).rejects.toBeInstanceOf(RangeError);
    writeFileSync(path.join(base, 'file'), '');
    await expect(makeDirsUnder(base, path.join(base, 'file', 'd'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});
