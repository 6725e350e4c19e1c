/**
 * Temp files a crash left in the local store's tmp/ (a put SIGKILLed mid-write) go when a store on that
 * root is first used, once unchanged for the max age; a put in progress keeps its temp file.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createUrlSigner } from '../shared/url-signer';
import { createLocalBlobStore } from './local.blob-store';

const signer = createUrlSigner({ secret: 'x'.repeat(40), baseUrl: 'http://localhost' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('local store temp files', () => {
  let root: string;
  let tmp: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'openpds-tmp-sweep-'));
    tmp = path.join(root, 'tmp');
    mkdirSync(tmp, { recursive: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('a crash\'s leftovers go when a new store is first used; fresh ones and other names stay', async () => {
    writeFileSync(path.join(tmp, '.tmp-crashed'), Buffer.alloc(1000));
    writeFileSync(path.join(tmp, 'not-ours'), 'x');
    await sleep(300);
    writeFileSync(path.join(tmp, '.tmp-fresh'), 'x');
    const store = createLocalBlobStore({ root, signer, tempMaxAgeMs: 200 });
    await store.ping();
    expect(readdirSync(tmp).sort()).toEqual(['.tmp-fresh', 'not-ours']);
  });

  it('sweepTemp leaves the temp file of a put still writing, and the put completes', async () => {
    const store = createLocalBlobStore({ root, signer, tempMaxAgeMs: 60_000 });
    const body = new PassThrough();
    const put = store.put('blobs/slow', body, { size: 6 });
    body.write('abc');
    await sleep(300);
    body.write('d'); // bytes flowing: the temp file's ctime moves on
    await sleep(50);
    expect(await store.sweepTemp(200)).toBe(0);
    expect(readdirSync(tmp)).toHaveLength(1);
    body.end('ef');
    expect(await put).toMatchObject({ size: 6 });
    expect(readdirSync(tmp)).toEqual([]);
    // Once it is older than the age, a temp file goes.
    writeFileSync(path.join(tmp, '.tmp-left'), 'x');
    await sleep(250);
    expect(await store.sweepTemp(200)).toBe(1);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
