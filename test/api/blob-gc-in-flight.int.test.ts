/**
 * What the blob GC must leave alone. Objects still being written: the sealed copy the `blob.hash` job or
 * file/complete (declared content_hash) makes is no blob's until their transaction commits, and a GC run
 * in between (a grace shorter than the hash) must not take it. And multipart uploads outside this data
 * plane's key space: with an empty OPENPDS_S3_PREFIX the store lists every upload in the bucket, other
 * applications' included. On PGlite + local disk and PostgreSQL + radosgw S3.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { BlobStore } from '../../api-server/src/storage/blob-store';
import { type ApiClient, type LoggedInUser, serverWithUser, type TestServer } from '../support/test-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each([
  ['pglite', 'local'],
  ['pg', 's3'],
] as const)('blob GC and what it must leave alone, on %s + %s', (dbKind, storeKind) => {
  let server: TestServer;
  let api: ApiClient;
  let user: LoggedInUser;
  serverWithUser(dbKind, storeKind, 'gcuser', (ready) => ({ server, api, user } = ready));

  /**
   * Runs a GC (grace 1 s) the first time a sealed copy is read back to be hashed, once that copy is older
   * than the grace: a hash that outlasts the grace. A live upload session is touched first, as the
   * completion's heartbeat does while it hashes.
   */
  async function gcWhileHashing<T>(fn: () => Promise<T>): Promise<{ result: T; ran: boolean }> {
    const store = server.deps.store;
    const get = store.get;
    let ran = false;
    store.get = (async (...args: Parameters<BlobStore['get']>) => {
      if (!ran && args[0].includes('.sealed-')) {
        ran = true;
        await sleep(2100);
        await server.deps.db.query(`UPDATE upload_sessions SET updated_at = now() WHERE status = 'completing'`);
        await server.services.gc.run({ graceSeconds: 1 });
      }
      return get.apply(store, args);
    }) as BlobStore['get'];
    try {
      return { result: await fn(), ran };
    } finally {
      store.get = get;
    }
  }

  async function upload(name: string, content: Buffer, declare = false) {
    const d = user.default_drive_id;
    const hash = declare ? { content_hash: createHash('sha1').update(content).digest('hex'), content_hash_name: 'sha1' } : {};
    const created = await api.ok('/v2/file/create', { drive_id: d, name, type: 'file', size: content.length, check_name_mode: 'auto_rename', part_info_list: [{ part_number: 1 }], ...hash }, user.access_token);
    expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content })).status).toBe(200);
    return api.ok('/v2/file/complete', { drive_id: d, file_id: created.file_id, upload_id: created.upload_id }, user.access_token);
  }
  async function download(fileId: string) {
    const res = await fetch(`${api.url}/v2/file/download?drive_id=${user.default_drive_id}&file_id=${fileId}`, { headers: { authorization: `Bearer ${user.access_token}` } });
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  }
  const storedKey = async (fileId: string) =>
    (await server.deps.db.query<{ storage_key: string }>(
      `SELECT b.storage_key FROM files f JOIN file_revisions r ON r.revision_id = f.revision_id JOIN blobs b ON b.sha256 = r.blob_sha256 WHERE f.file_id = $1`,
      [fileId],
    ))[0]!.storage_key;

  it('keeps the hash job\'s sealed copy through a GC run while the job hashes it', async () => {
    const content = randomBytes(20_000);
    await server.services.jobs.drain();
    await server.services.jobs.close();
    const file = await upload('job-copy.bin', content);
    const { ran } = await gcWhileHashing(async () => {
      server.services.jobs.start();
      await server.services.jobs.drain();
    });
    expect(ran).toBe(true);
    const key = await storedKey(file.file_id);
    expect(key).toContain('.sealed-');
    expect(await server.deps.store.head(key)).not.toBeNull();
    expect(await download(file.file_id)).toEqual({ status: 200, body: content });
    // Linked, the copy is the blob's: no reservation is left behind for it.
    expect(await server.deps.db.query(`SELECT 1 FROM deferred_object_deletes WHERE storage_key = $1`, [key])).toEqual([]);
  });

  it('keeps file/complete\'s sealed copy (declared content_hash) through a GC run while it hashes', async () => {
    const content = randomBytes(30_000);
    const { result: file, ran } = await gcWhileHashing(() => upload('complete-copy.bin', content, true));
    expect(ran).toBe(true);
    expect(String(file.content_hash).toLowerCase()).toBe(createHash('sha1').update(content).digest('hex'));
    const key = await storedKey(file.file_id);
    expect(await server.deps.store.head(key)).not.toBeNull();
    expect(await download(file.file_id)).toEqual({ status: 200, body: content });
  });

  it('aborts only the multipart uploads in its own key space, never another application\'s', async () => {
    const store = server.deps.store;
    // Another application's upload in the same bucket (what an empty OPENPDS_S3_PREFIX lists), and a stray
    // upload of this data plane's that no session knows (a crash between opening and recording it).
    const foreignKey = `other-app/uploads/${randomBytes(4).toString('hex')}.mp4`;
    const foreign = await store.createMultipart(foreignKey);
    const stray = await store.createMultipart(`blobs/${randomBytes(8).toString('hex')}`);
    try {
      const report = await server.services.gc.run({ graceSeconds: 0 });
      expect(report.store_uploads).toBeGreaterThanOrEqual(1);
      const left = new Set<string>();
      for await (const u of store.listMultipartUploads()) left.add(u.uploadId);
      expect(left.has(foreign)).toBe(true);
      expect(left.has(stray)).toBe(false);
    } finally {
      await store.abortMultipart(foreignKey, foreign);
    }
  });
});
