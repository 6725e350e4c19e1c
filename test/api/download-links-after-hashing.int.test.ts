/**
 * A download link handed out before the background hash job ran names the object the upload left (a
 * one-part upload's key, or an assembled multipart object). The job then seals the content to a copy of
 * its own, or merges it onto the same bytes already stored, and that object is no longer the blob's: the
 * link must still answer 200 with the same bytes until it expires. And once completed, the bytes behind a
 * link can no longer be replaced through the upload URL. On PGlite + local disk and PostgreSQL + radosgw S3.
 */
import { randomBytes } from 'node:crypto';
import { createBlobHashing } from '../../api-server/src/modules/uploads/blob-hashing';
import { createBlobSealing } from '../../api-server/src/modules/uploads/blob-sealing';
import { MIN_PART_SIZE, type BlobStore } from '../../api-server/src/storage/blob-store';
import { compareBuffersByBytes } from '../support/buffer-equality';
import { type ApiClient, closeDroppingIdle, createLoggedInUser, type LoggedInUser, startTestServer, type TestServer, withJobsHeld } from '../support/test-server';

// Downloads are checked whole with toEqual: byte for byte, not jest's index by index (seconds each).
compareBuffersByBytes();

async function get(url: string) {
  const res = await fetch(url);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

describe.each([
  ['pglite', 'local'],
  ['pg', 's3'],
] as const)('download links handed out before hashing, on %s + %s', (dbKind, storeKind) => {
  let server: TestServer;
  let api: ApiClient;
  let user: LoggedInUser;
  beforeAll(async () => {
    server = await startTestServer(dbKind, storeKind);
    api = server.api;
    user = await createLoggedInUser(api, 'links');
  });
  // Not serverWithUser's stop: its close waited out the 10 s shutdown grace for the connection of a
  // download from the local store that was still finishing (closeDroppingIdle).
  afterAll(() => server && closeDroppingIdle(server, () => server.stop()));

  const beforeHashing = <T>(fn: () => Promise<T>): Promise<T> => withJobsHeld(server, fn);
  const hashNow = () => server.services.jobs.drain();

  /**
   * create → PUT every part → complete; resolves to the file and its (first) upload URL. `unsized`: no size
   * declared, so the upload URL is not signed for one length and can still be replayed with another (the
   * client S3 cannot stop that these tests stand for).
   */
  async function upload(name: string, content: Buffer, partSize = content.length, { unsized = false } = {}) {
    const d = user.default_drive_id;
    const parts = Array.from({ length: Math.ceil(content.length / partSize) }, (_, i) => ({ part_number: i + 1 }));
    const size = unsized ? {} : { size: content.length };
    const created = await api.ok('/v2/file/create', { drive_id: d, name, type: 'file', ...size, check_name_mode: 'auto_rename', part_info_list: parts }, user.access_token);
    for (const [i, part] of (created.part_info_list as { upload_url: string }[]).entries()) {
      const put = await fetch(part.upload_url, { method: 'PUT', body: content.subarray(i * partSize, (i + 1) * partSize) });
      expect(put.status).toBe(200);
    }
    const file = await api.ok('/v2/file/complete', { drive_id: d, file_id: created.file_id, upload_id: created.upload_id }, user.access_token);
    return { file, uploadUrl: created.part_info_list[0].upload_url as string };
  }
  const downloadUrl = async (fileId: string, extra: Record<string, unknown> = {}) =>
    (await api.ok('/v2/file/get_download_url', { drive_id: user.default_drive_id, file_id: fileId, ...extra }, user.access_token)).url as string;
  const contentHash = async (fileId: string) => (await api.ok('/v2/file/get', { drive_id: user.default_drive_id, file_id: fileId }, user.access_token)).content_hash as string;

  it('keeps a one-part upload\'s link working after the job seals its content', async () => {
    const content = randomBytes(10_000);
    const { file, url } = await beforeHashing(async () => {
      const { file } = await upload('sealed.bin', content);
      return { file, url: await downloadUrl(file.file_id, { expire_sec: 115_200 }) };
    });
    await hashNow();
    expect(await contentHash(file.file_id)).not.toBe('');
    const after = await get(url);
    expect(after.status).toBe(200);
    expect(after.body).toEqual(content);
  });

  it('keeps a one-part upload\'s link working after the job merges it onto the same stored bytes', async () => {
    const content = randomBytes(12_000);
    await upload('first.bin', content);
    await hashNow();
    const { file, url } = await beforeHashing(async () => {
      const { file } = await upload('duplicate.bin', content);
      return { file, url: await downloadUrl(file.file_id) };
    });
    await hashNow();
    expect(await contentHash(file.file_id)).not.toBe('');
    const after = await get(url);
    expect(after.status).toBe(200);
    expect(after.body).toEqual(content);
  });

  it('keeps a multipart upload\'s link working after the job merges it onto the same stored bytes', async () => {
    const content = randomBytes(MIN_PART_SIZE + 1000);
    await upload('big-first.bin', content, MIN_PART_SIZE);
    await hashNow();
    const { url } = await beforeHashing(async () => {
      const { file } = await upload('big-duplicate.bin', content, MIN_PART_SIZE);
      return { file, url: await downloadUrl(file.file_id) };
    });
    await hashNow();
    const after = await get(url);
    expect(after.status).toBe(200);
    expect(after.body.equals(content)).toBe(true);
  });

  it('keeps a merged object through GC runs while a link may name it, and lets it go after', async () => {
    const content = randomBytes(8000);
    const db = server.deps.db;
    const keptBefore = new Set((await db.query<{ storage_key: string }>(`SELECT storage_key FROM deferred_object_deletes`)).map((r) => r.storage_key));
    await upload('kept-first.bin', content);
    await hashNow();
    const { url } = await beforeHashing(async () => {
      const { file } = await upload('kept-duplicate.bin', content);
      return { url: await downloadUrl(file.file_id) };
    });
    await hashNow();
    const kept = (await db.query<{ storage_key: string; delete_after: Date }>(`SELECT storage_key, delete_after FROM deferred_object_deletes`)).filter((r) => !keptBefore.has(r.storage_key));
    expect(kept).toHaveLength(1);
    // Kept past the longest link (32 h), not longer than that plus clock headroom.
    const hours = (kept[0]!.delete_after.getTime() - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(32);
    expect(hours).toBeLessThan(33);
    expect((await server.services.gc.run({ graceSeconds: 0 })).deferred_objects).toBe(0);
    expect(await get(url)).toEqual({ status: 200, body: content });

    await db.query(`UPDATE deferred_object_deletes SET delete_after = now() - interval '1 second' WHERE storage_key = $1`, [kept[0]!.storage_key]);
    expect((await server.services.gc.run({ graceSeconds: 0 })).deferred_objects).toBe(1);
    expect(await db.query(`SELECT 1 FROM deferred_object_deletes WHERE storage_key = $1`, [kept[0]!.storage_key])).toEqual([]);
    expect(await server.deps.store.head(kept[0]!.storage_key)).toBeNull();
    expect((await get(url)).status).toBe(404);
  });

  it.each([
    ['after the job copied the upload', 'after'],
    ['before the job copied the upload', 'before'],
  ] as const)('a link sealed while the job hashes (%s) keeps its bytes; the job starts over on the sealed copy', async (_, when) => {
    const content = randomBytes(7000);
    await beforeHashing(async () => {
      const { file } = await upload('raced.bin', content);
      const [job] = await server.deps.db.query<{ job_id: number; payload: Record<string, unknown> }>(`SELECT job_id, payload FROM jobs WHERE kind = 'blob.hash'`);
      // The job's store: its first copy (the upload key to its own sealed copy) lets a link be made too.
      let url = '';
      const real = server.deps.store;
      const store: BlobStore = Object.assign(Object.create(real) as BlobStore, {
        async copy(from: string, to: string) {
          if (url) return real.copy(from, to);
          if (when === 'before') url = await downloadUrl(file.file_id);
          const copied = await real.copy(from, to);
          if (when === 'after') url = await downloadUrl(file.file_id);
          return copied;
        },
      });
      await createBlobHashing({ ...server.deps, store }).run(job!.payload, job!);
      expect(url).not.toBe('');
      expect(await server.deps.db.query(`SELECT 1 FROM jobs WHERE job_id = $1`, [job!.job_id])).toEqual([]);
      expect(await contentHash(file.file_id)).not.toBe('');
      expect(await get(url)).toEqual({ status: 200, body: content });
      // One object left of this upload: the sealed copy the link names, now the blob's.
      const [{ storage_key }] = (await server.deps.db.query<{ storage_key: string }>(
        `SELECT b.storage_key FROM file_revisions r JOIN blobs b ON b.sha256 = r.blob_sha256 WHERE r.file_id = $1`, [file.file_id])) as [{ storage_key: string }];
      const left: string[] = [];
      for await (const o of real.list('blobs/')) if (o.key.startsWith(storage_key.split('.sealed-')[0]!)) left.push(o.key);
      expect(left).toEqual([storage_key]);
    });
  });

  it('never lets an upload URL replace the bytes of a completed upload, nor those behind its links', async () => {
    const content = randomBytes(6000);
    const { file, url, uploadUrl } = await beforeHashing(async () => {
      const { file, uploadUrl } = await upload('frozen.bin', content);
      return { file, uploadUrl, url: await downloadUrl(file.file_id) };
    });
    // Before the job ran, and after: the old upload URL changes nothing anyone can read.
    const early = await fetch(uploadUrl, { method: 'PUT', body: randomBytes(6000) });
    if (storeKind === 'local') expect(early.status).toBe(409);
    await hashNow();
    const late = await fetch(uploadUrl, { method: 'PUT', body: randomBytes(6000) });
    if (storeKind === 'local') expect(late.status).toBe(409);
    expect(await get(url)).toEqual({ status: 200, body: content });
    expect(await get(await downloadUrl(file.file_id))).toEqual({ status: 200, body: content });
    const streamed = await fetch(`${api.url}/v2/file/download?drive_id=${user.default_drive_id}&file_id=${file.file_id}`, { headers: { authorization: `Bearer ${user.access_token}` } });
    expect(Buffer.from(await streamed.arrayBuffer())).toEqual(content);
  });

  /** Counts the store's copies while `fn` runs. */
  async function countingCopies<T>(fn: () => Promise<T>): Promise<{ result: T; copies: number }> {
    const store = server.deps.store;
    const copy = store.copy;
    let copies = 0;
    store.copy = (async (...args: Parameters<BlobStore['copy']>) => {
      copies++;
      return copy.apply(store, args);
    }) as BlobStore['copy'];
    try {
      return { result: await fn(), copies };
    } finally {
      store.copy = copy;
    }
  }

  it('seals a one-part upload once, however many links are asked for at once', async () => {
    const content = randomBytes(256 * 1024);
    const { file } = await beforeHashing(async () => {
      const uploaded = await upload('parallel.bin', content);
      const { result, copies } = await countingCopies(() =>
        Promise.all(Array.from({ length: 8 }, () => api.call('/v2/file/get_download_url', { drive_id: user.default_drive_id, file_id: uploaded.file.file_id }, user.access_token))),
      );
      expect(result.map((r) => r.status)).toEqual(Array(8).fill(200));
      expect(copies).toBe(1);
      for (const r of result.slice(0, 2)) expect(await get(r.body.url)).toEqual({ status: 200, body: content });
      return uploaded;
    });
    await hashNow();
    expect(await get(await downloadUrl(file.file_id))).toEqual({ status: 200, body: content });
  });

  if (dbKind === 'pg') {
    it('seals once across API replicas: the second finds the blob sealed and copies nothing', async () => {
      const content = randomBytes(64 * 1024);
      await beforeHashing(async () => {
        const { file } = await upload('replicas.bin', content);
        const [blob] = await server.deps.db.query<{ sha256: string; storage_key: string; size: number }>(
          `SELECT b.sha256, b.storage_key, b.size FROM files f JOIN file_revisions r ON r.revision_id = f.revision_id JOIN blobs b ON b.sha256 = r.blob_sha256 WHERE f.file_id = $1`,
          [file.file_id],
        );
        // Two sealings with nothing shared in memory, as two processes have.
        const replicas = [createBlobSealing(server.deps), createBlobSealing(server.deps)];
        const { copies } = await countingCopies(() => Promise.all(replicas.map((r) => r.seal(blob!))));
        expect(copies).toBe(1);
        const [after] = await server.deps.db.query<{ storage_key: string; client_writable: boolean }>(`SELECT storage_key, client_writable FROM blobs WHERE sha256 = $1`, [blob!.sha256]);
        expect(after!.client_writable).toBe(false);
        expect(after!.storage_key).not.toBe(blob!.storage_key);
        expect(await get(await downloadUrl(file.file_id))).toEqual({ status: 200, body: content });
      });
      await hashNow();
    });
  }

  if (storeKind === 's3') {
    it('answers 409 ContentReplaced for content the job discarded, never links the upload key, and leaves nothing pending', async () => {
      const { file, uploadUrl } = await beforeHashing(async () => {
        const uploaded = await upload('discarded.bin', randomBytes(10), 10, { unsized: true });
        // Replaced with another size before the job ran: the job discards it.
        expect((await fetch(uploaded.uploadUrl, { method: 'PUT', body: randomBytes(2000) })).status).toBe(200);
        return uploaded;
      });
      await hashNow();
      const ask = () => api.call('/v2/file/get_download_url', { drive_id: user.default_drive_id, file_id: file.file_id }, user.access_token);
      const refused = await ask();
      expect([refused.status, refused.body.code]).toEqual([409, 'ContentReplaced']);
      const streamed = await fetch(`${api.url}/v2/file/download?drive_id=${user.default_drive_id}&file_id=${file.file_id}`, { headers: { authorization: `Bearer ${user.access_token}` } });
      expect(streamed.status).toBe(409);
      // A later PUT of the completed size to the old upload URL serves nobody.
      expect((await fetch(uploadUrl, { method: 'PUT', body: Buffer.alloc(10, 0x41) })).status).toBe(200);
      const again = await ask();
      expect([again.status, again.body.code]).toEqual([409, 'ContentReplaced']);
      const db = server.deps.db;
      const [blob] = await db.query<{ sha256: string; storage_key: string; client_writable: boolean }>(
        `SELECT b.sha256, b.storage_key, b.client_writable FROM file_revisions r JOIN blobs b ON b.sha256 = r.blob_sha256 WHERE r.file_id = $1`,
        [file.file_id],
      );
      expect(blob!.client_writable).toBe(false);
      expect(blob!.storage_key.startsWith('discarded/')).toBe(true);
      expect(await db.query(`SELECT 1 FROM jobs WHERE payload->>'blob' = $1`, [blob!.sha256])).toEqual([]);
      // Deleted, the file's blob goes with the next GC, like any other; and what the late PUT left too.
      await api.ok('/v2/file/delete', { drive_id: user.default_drive_id, file_id: file.file_id }, user.access_token);
      await server.services.gc.run({ graceSeconds: 0 });
      expect(await db.query(`SELECT 1 FROM blobs WHERE sha256 = $1`, [blob!.sha256])).toEqual([]);
      expect(await server.deps.store.head(blob!.storage_key.slice('discarded/'.length))).toBeNull();
    });

    it('answers 409 ContentReplaced, not a link, for content replaced with another size after complete', async () => {
      await beforeHashing(async () => {
        const { file, uploadUrl } = await upload('swapped.bin', randomBytes(10), 10, { unsized: true });
        // S3 takes a presigned PUT until it expires; the hash job discards such content.
        expect((await fetch(uploadUrl, { method: 'PUT', body: randomBytes(2000) })).status).toBe(200);
        const refused = await api.call('/v2/file/get_download_url', { drive_id: user.default_drive_id, file_id: file.file_id }, user.access_token);
        expect([refused.status, refused.body.code]).toEqual([409, 'ContentReplaced']);
      });
    });
  }
});
