/**
 * What a kill -9 leaves in the local store, and which GC run removes it (the red team's tmpleak.mjs): temp
 * files of a write cut short, and upload directories whose record was never written. Swept only when a
 * store started, the temp files of a crash stayed for as long as the restarted process ran; the record-less
 * directories stayed for good (no listing showed them).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createUrlSigner } from '../shared/url-signer';
import { createLocalBlobStore } from './local.blob-store';

const signer = createUrlSigner({ secret: 'x'.repeat(40), baseUrl: 'http://localhost' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const UPLOAD = 'a'.repeat(32);

describe('crash leftovers of the local store', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'openpds-crash-leftovers-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const collect = async <T>(items: AsyncIterable<T>) => {
    const out: T[] = [];
    for await (const item of items) out.push(item);
    return out;
  };

  it('every GC listing sweeps temp files and record-less upload directories older than the grace, and only those', async () => {
    const store = createLocalBlobStore({ root, signer, tempMaxAgeMs: 300 });
    await store.ping(); // the start's sweep is done: what follows is left by a crash after it
    const key = 'blobs/kept';
    const live = await store.createMultipart(key);
    writeFileSync(path.join(root, 'tmp', '.tmp-crashed-put'), Buffer.alloc(1000));
    mkdirSync(path.join(root, 'uploads', UPLOAD));
    writeFileSync(path.join(root, 'uploads', UPLOAD, '.tmp-record'), '{"key":'); // killed before the rename
    mkdirSync(path.join(root, 'tmp', `.upload-${'b'.repeat(32)}`));
    expect(await collect(store.listMultipartUploads())).toEqual([expect.objectContaining({ key, uploadId: live })]);
    expect(readdirSync(path.join(root, 'uploads')).sort()).toEqual([live, UPLOAD].sort()); // young: kept
    await sleep(400);
    expect(await collect(store.listMultipartUploads())).toEqual([expect.objectContaining({ key, uploadId: live })]);
    expect(readdirSync(path.join(root, 'tmp'))).toEqual([]);
    expect(readdirSync(path.join(root, 'uploads'))).toEqual([live]); // an upload with its record stays, however old
  });

  it('a createMultipart killed at any point leaves no upload directory without its record', async () => {
    const script = `
      const { createLocalBlobStore } = require(${JSON.stringify(path.join(__dirname, 'local.blob-store.ts'))});
      const { createUrlSigner } = require(${JSON.stringify(path.join(__dirname, '../shared/url-signer.ts'))});
      const store = createLocalBlobStore({ root: process.argv[1], signer: createUrlSigner({ secret: 'x'.repeat(40), baseUrl: 'http://localhost' }) });
      (async () => { for (let i = 0; ; i++) { await store.createMultipart('blobs/k' + i); if (i === 20) process.send('going'); } })();`;
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script, root], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      await new Promise((resolve) => child.once('message', resolve));
      await sleep(30 + Math.random() * 50);
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const uploads = readdirSync(path.join(root, 'uploads'));
      expect(uploads.length).toBeGreaterThan(20);
      expect(uploads.filter((id) => !existsSync(path.join(root, 'uploads', id, 'upload.json')))).toEqual([]);
    }
  }, 60_000);
});
