/**
 * The blob GC against uploads that complete while it runs. It lists abandoned sessions first and deletes
 * them after; a file/complete in between makes the listed session's object a file's content, which the GC
 * must then leave alone. And a completion in progress (its session `completing`, touched by a heartbeat)
 * is never abandoned, whatever the grace. Each race is played deterministically: the GC's listing query,
 * or the store's assembly, is held while the other side runs. On PGlite + local disk and PostgreSQL +
 * radosgw S3.
 */
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../../api-server/src/db/db';
import { createUploadsRepository, STALE_COMPLETING_SECONDS } from '../../api-server/src/modules/uploads/uploads.repository';
import { MIN_PART_SIZE, type BlobStore } from '../../api-server/src/storage/blob-store';
import { type ApiClient, type LoggedInUser, serverWithUser, type TestServer, withJobsHeld } from '../support/test-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The GC's listing of abandoned sessions (before the fix, uploads.repository's; now gc.repository's). */
const LISTS_ABANDONED = /^\s*SELECT \* FROM upload_sessions WHERE .*ORDER BY updated_at LIMIT/s;

describe.each([
  ['pglite', 'local'],
  ['pg', 's3'],
] as const)('blob GC and uploads completing while it runs, on %s + %s', (dbKind, storeKind) => {
  let server: TestServer;
  let api: ApiClient;
  let user: LoggedInUser;
  serverWithUser(dbKind, storeKind, 'gcrace', (ready) => ({ server, api, user } = ready));

  /** create → PUT every part; the upload is left open. */
  async function openUpload(name: string, content: Buffer, partSize = content.length) {
    const d = user.default_drive_id;
    const parts = Array.from({ length: Math.ceil(content.length / partSize) }, (_, i) => ({ part_number: i + 1 }));
    const created = await api.ok('/v2/file/create', { drive_id: d, name, type: 'file', size: content.length, check_name_mode: 'auto_rename', part_info_list: parts }, user.access_token);
    for (const [i, part] of (created.part_info_list as { upload_url: string }[]).entries()) {
      expect((await fetch(part.upload_url, { method: 'PUT', body: content.subarray(i * partSize, (i + 1) * partSize) })).status).toBe(200);
    }
    const [session] = await server.deps.db.query<{ storage_key: string }>(`SELECT storage_key FROM upload_sessions WHERE upload_id = $1`, [created.upload_id]);
    return { fileId: created.file_id as string, uploadId: created.upload_id as string, storageKey: session!.storage_key };
  }
  const complete = (u: { fileId: string; uploadId: string }) =>
    api.call('/v2/file/complete', { drive_id: user.default_drive_id, file_id: u.fileId, upload_id: u.uploadId }, user.access_token);
  /** 200 and the same bytes → true. Compared with Buffer.equals: jest's toEqual walks megabytes byte by byte. */
  async function downloads(fileId: string, content: Buffer) {
    const res = await fetch(`${api.url}/v2/file/download?drive_id=${user.default_drive_id}&file_id=${fileId}`, { headers: { authorization: `Bearer ${user.access_token}` } });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, same: body.equals(content) };
  }
  const age = (uploadIds: string[], seconds: number) =>
    server.deps.db.query(`UPDATE upload_sessions SET updated_at = now() - make_interval(secs => $2) WHERE upload_id = ANY($1::text[])`, [uploadIds, seconds]);
  const sessionExists = async (uploadId: string) => (await server.deps.db.query(`SELECT 1 FROM upload_sessions WHERE upload_id = $1`, [uploadId])).length > 0;
  const fileExists = async (fileId: string) => (await server.deps.db.query(`SELECT 1 FROM files WHERE file_id = $1`, [fileId])).length > 0;

  const withoutJobs = <T>(fn: () => Promise<T>): Promise<T> => withJobsHeld(server, fn);

  /** Runs `between` once, after the GC listed abandoned sessions and before it acts on any of them. */
  async function gcListingThen(graceSeconds: number, between: () => Promise<void>) {
    const db = server.deps.db;
    const query = db.query;
    let ran = false;
    db.query = (async (sql: string, params?: readonly unknown[]) => {
      const rows = await query.call(db, sql, params);
      if (!ran && LISTS_ABANDONED.test(sql)) {
        ran = true;
        await between();
      }
      return rows;
    }) as Queryable['query'];
    try {
      const report = await server.services.gc.run({ graceSeconds });
      return { report, ran };
    } finally {
      db.query = query;
    }
  }

  it('keeps the bytes of uploads completed after the GC listed them, and still collects the idle one', async () => {
    const onePart = randomBytes(20_000);
    const multipart = randomBytes(MIN_PART_SIZE + 4_000);
    const a = await openUpload('one-part.bin', onePart);
    const b = await openUpload('multipart.bin', multipart, MIN_PART_SIZE);
    const idle = await openUpload('idle.bin', randomBytes(3_000));
    await age([a.uploadId, b.uploadId, idle.uploadId], 3600);

    const { report, ran } = await withoutJobs(() =>
      gcListingThen(60, async () => {
        const done = await Promise.all([complete(a), complete(b)]);
        expect(done.map((r) => [r.status, r.body.status])).toEqual([[200, 'available'], [200, 'available']]);
      }),
    );
    expect(ran).toBe(true);
    expect(report.sessions).toBe(1);
    expect(await downloads(a.fileId, onePart)).toEqual({ status: 200, same: true });
    expect(await downloads(b.fileId, multipart)).toEqual({ status: 200, same: true });
    // Hashed (and sealed) afterwards, the content is still all there.
    await server.services.jobs.drain();
    expect(await downloads(a.fileId, onePart)).toEqual({ status: 200, same: true });
    expect(await downloads(b.fileId, multipart)).toEqual({ status: 200, same: true });

    // The upload nobody completed: session, invisible file row and bytes all gone.
    expect(await sessionExists(idle.uploadId)).toBe(false);
    expect(await fileExists(idle.fileId)).toBe(false);
    expect(await server.deps.store.head(idle.storageKey)).toBeNull();
  });

  it('never takes a live completion, even with a grace shorter than its heartbeat', async () => {
    const content = randomBytes(MIN_PART_SIZE + 2_000);
    const u = await openUpload('completing.bin', content, MIN_PART_SIZE);
    const store = server.deps.store;
    const completeMultipart = store.completeMultipart;
    let ran = false;
    // The completion stalls in the store's assembly (a big object) past the grace, and the GC runs then.
    store.completeMultipart = (async (...args: Parameters<BlobStore['completeMultipart']>) => {
      if (!ran) {
        ran = true;
        expect(await server.deps.db.query(`SELECT status FROM upload_sessions WHERE upload_id = $1`, [u.uploadId])).toEqual([{ status: 'completing' }]);
        await sleep(1_200);
        await server.services.gc.run({ graceSeconds: 1 });
      }
      return completeMultipart.apply(store, args);
    }) as BlobStore['completeMultipart'];
    let done: Awaited<ReturnType<typeof complete>>;
    try {
      done = await complete(u);
    } finally {
      store.completeMultipart = completeMultipart;
    }
    expect(ran).toBe(true);
    expect([done.status, done.body.status]).toEqual([200, 'available']);
    expect(await downloads(u.fileId, content)).toEqual({ status: 200, same: true });
  });

  it('collects a completion that stopped (a crashed server): completing and untouched past the stale age', async () => {
    const stalled = await openUpload('stalled.bin', randomBytes(4_000));
    const recent = await openUpload('recent.bin', randomBytes(4_000));
    await server.deps.db.query(`UPDATE upload_sessions SET status = 'completing' WHERE upload_id = ANY($1::text[])`, [[stalled.uploadId, recent.uploadId]]);
    await age([stalled.uploadId], STALE_COMPLETING_SECONDS + 30);
    await age([recent.uploadId], 5);

    const report = await server.services.gc.run({ graceSeconds: 0 });
    expect(report.sessions).toBe(1);
    expect(await sessionExists(stalled.uploadId)).toBe(false);
    expect(await fileExists(stalled.fileId)).toBe(false);
    expect(await server.deps.store.head(stalled.storageKey)).toBeNull();
    // Touched 5 s ago, as a heartbeat does: a completion still running, kept whatever the grace.
    expect(await sessionExists(recent.uploadId)).toBe(true);
    expect(await fileExists(recent.fileId)).toBe(true);
    expect(await server.deps.store.head(recent.storageKey)).not.toBeNull();
    await age([recent.uploadId], 3600);
    await server.services.gc.run({ graceSeconds: 0 });
  });

  it('a stalled completion that resumes after the GC took its session links nothing', async () => {
    const stalled = await openUpload('resumed.bin', randomBytes(4_000));
    await server.deps.db.query(`UPDATE upload_sessions SET status = 'completing' WHERE upload_id = $1`, [stalled.uploadId]);
    await age([stalled.uploadId], STALE_COMPLETING_SECONDS + 30);
    await server.services.gc.run({ graceSeconds: 0 });
    // What complete() would commit next, had it been frozen meanwhile: its session, and the object, are gone.
    const linked = await createUploadsRepository().linkUpload(server.deps.db, {
      blob: { sha256: `pending:${stalled.uploadId}`, sha1: '', pre_hash: '', size: 4_000, storage_key: stalled.storageKey, hashed: false, client_writable: false },
      uploadId: stalled.uploadId,
      job: null,
      revisionId: `r-${stalled.uploadId}`,
      driveId: user.default_drive_id,
      fileId: stalled.fileId,
      createdBy: 'nobody',
    });
    expect(linked).toBeUndefined();
    expect(await server.deps.db.query(`SELECT 1 FROM blobs WHERE storage_key = $1`, [stalled.storageKey])).toEqual([]);
  });

  it('a failed completion reopens only a session still completing, never one another completion finished', async () => {
    const done = await openUpload('finished.bin', randomBytes(4_000));
    const mine = await openUpload('mine.bin', randomBytes(4_000));
    await server.deps.db.query(`UPDATE upload_sessions SET status = 'completed' WHERE upload_id = $1`, [done.uploadId]);
    await server.deps.db.query(`UPDATE upload_sessions SET status = 'completing' WHERE upload_id = $1`, [mine.uploadId]);
    const repo = createUploadsRepository();
    await repo.reopenSession(server.deps.db, done.uploadId);
    await repo.reopenSession(server.deps.db, mine.uploadId);
    const status = async (uploadId: string) => (await server.deps.db.query<{ status: string }>(`SELECT status FROM upload_sessions WHERE upload_id = $1`, [uploadId]))[0]!.status;
    expect([await status(done.uploadId), await status(mine.uploadId)]).toEqual(['completed', 'open']);
  });
});
