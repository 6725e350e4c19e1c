/**
 * The blob.hash job against the user's calls on the file it hashes. The job used to lock the placeholder
 * blob first, then (moveRevisions) the revisions and files pointing at it; every delete locks the file rows,
 * then their revisions, then the blobs (migration 012's trigger), and file/copy the source file's row, then
 * the key share on its blob. Measured on PostgreSQL right after file/complete, the opposite orders deadlocked:
 * file/delete 7/200 calls 503, trash + recyclebin/clear 30/200, file/revision/delete 1/200, file/copy 1/200
 * (the others of the 40P01s aborted the job). The job now locks the files, then the revisions, then the
 * blob (blob-hashing.ts lockReferences).
 *
 * Each race is played deterministically: a third transaction holds the revision's row lock, so the job
 * stops at its first wait on it; the user's call then starts and waits too (on that revision before the
 * fix, on the file row the job holds after it); then the hold ends. In opposite orders the two then wait for
 * each other and PostgreSQL aborts one after deadlock_timeout (1 s): the call answered 503, or the job
 * failed (its row kept with last_error). Before the fix every case here failed that way but two
 * (revision/delete and drive/delete with the job waiting first: the job then moves the revision and is
 * done before it needs the file); now none does.
 *
 * PostgreSQL only: PGlite has one connection, so no two transactions ever wait on each other there (the
 * job's PGlite runs are in data-plane.int.test.ts and download-links-after-hashing.int.test.ts).
 */
import { accountingDrift, count } from '../support/accounting';
import { ADMIN_PASSWORD, createLoggedInUser, startTestServer, withJobsHeld, type ApiClient } from '../support/test-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('blob.hash job lock order against the calls on the file it hashes, on PostgreSQL (PGlite has one connection)', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let user: { access_token: string; default_drive_id: string; user_id: string };
  let seq = 0;

  beforeAll(async () => {
    // Jobs run as soon as they are queued (no hold-back while uploads are served), two at a time.
    server = await startTestServer('pg', 'local', { OPENPDS_SERVE_JOBS_MAX_HOLD_SECONDS: '0', OPENPDS_JOB_CONCURRENCY: '2' });
    api = server.api;
    user = await createLoggedInUser(api, 'hashorder');
  });
  afterAll(() => server?.stop());
  // A job that lost a deadlock (before the fix) is kept for a retry: not the next case's.
  afterEach(() => server.deps.db.query(`DELETE FROM jobs`));

  const call = (path: string, body: Record<string, unknown>) => api.call(path, { drive_id: user.default_drive_id, ...body }, user.access_token);
  const waiting = () => count(server.deps.db, `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
  async function waitFor(cond: () => Promise<boolean>, what: string) {
    for (let i = 0; i < 400; i++) {
      if (await cond()) return;
      await sleep(10);
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  /** create → PUT → complete without a declared hash: a placeholder blob, its blob.hash job queued. */
  async function uploaded(name: string, extra: Record<string, unknown> = {}, drive = user.default_drive_id) {
    const body = `content of ${name} ${++seq} ${Math.random()}`;
    const created = await api.ok('/v2/file/create', { drive_id: drive, parent_file_id: 'root', name, type: 'file', check_name_mode: 'auto_rename', size: body.length, ...extra }, user.access_token);
    expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body })).status).toBe(200);
    const done = await api.ok('/v2/file/complete', { drive_id: drive, file_id: created.file_id, upload_id: created.upload_id }, user.access_token);
    return { fileId: created.file_id as string, revisionId: done.revision_id as string };
  }

  /**
   * Runs the queued hash job while a third transaction holds `revisionId`'s row (or, with `hold`, another
   * row: a file's, by its id); once the job waits, starts
   * `userCall` and lets it wait too (or the other way round: `first`, which then takes the row first); then
   * ends the hold. Resolves to the call's answer and the jobs left.
   */
  async function race(revisionId: string, userCall: () => Promise<{ status: number; body: any }>, first: 'job' | 'call' = 'job', hold = { table: 'file_revisions', column: 'revision_id', lock: 'NO KEY UPDATE' }) {
    let release!: () => void;
    let held!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const isHeld = new Promise<void>((resolve) => (held = resolve));
    const holder = server.deps.db.transaction(async (tx) => {
      await tx.query(`SELECT 1 FROM ${hold.table} WHERE ${hold.column} = $1 FOR ${hold.lock}`, [revisionId]);
      held();
      await released;
    });
    await isHeld;
    const [job, answer] = first === 'job' ? [server.services.jobs.drain(), undefined] : [undefined, userCall()];
    await waitFor(async () => (await waiting()) === 1, `the ${first} to wait`);
    const [j, a] = [job ?? server.services.jobs.drain(), answer ?? userCall()];
    await waitFor(async () => (await waiting()) === 2, 'both to wait');
    release();
    await holder;
    const [res] = await Promise.all([a, j]);
    // A job that lost a deadlock stays with its error, for a retry seconds later (drain does not wait).
    const jobs = await server.deps.db.query<{ kind: string; last_error: string }>(`SELECT kind, last_error FROM jobs`);
    return { status: res.status, code: res.body?.code as string | undefined, jobs };
  }

  async function expectSettled(file?: string) {
    expect(await accountingDrift(server.deps.db)).toEqual([]);
    if (!file) return;
    // Hashed: the file shows the SHA-1 of its content, its revision points at the real address.
    const [row] = await server.deps.db.query<{ content_hash: string; hashed: boolean }>(
      `SELECT f.content_hash, b.hashed FROM files f JOIN file_revisions r ON r.revision_id = f.revision_id JOIN blobs b ON b.sha256 = r.blob_sha256 WHERE f.file_id = $1`,
      [file],
    );
    expect(row).toMatchObject({ hashed: true });
    expect(row!.content_hash).toMatch(/^[0-9A-F]{40}$/i);
  }

  it.each(['job', 'call'] as const)('file/delete of the file being hashed succeeds, and the job finishes (%s waits first)', async (first) => {
    await withJobsHeld(server, async () => {
      const f = await uploaded('delete.txt');
      const r = await race(f.revisionId, () => call('/v2/file/delete', { file_id: f.fileId }), first);
      expect(r).toEqual({ status: r.status < 300 ? r.status : 'a success', code: undefined, jobs: [] });
    });
    await expectSettled();
  });

  it('recyclebin/clear of the file being hashed succeeds, and the job finishes', async () => {
    await withJobsHeld(server, async () => {
      const f = await uploaded('trashed.txt');
      await api.ok('/v2/recyclebin/trash', { drive_id: user.default_drive_id, file_id: f.fileId }, user.access_token);
      const r = await race(f.revisionId, () => call('/v2/recyclebin/clear', {}));
      expect(r).toEqual({ status: r.status < 300 ? r.status : 'a success', code: undefined, jobs: [] });
    });
    await expectSettled();
  });

  it.each(['job', 'call'] as const)('file/revision/delete of the revision being hashed succeeds, and the job finishes (%s waits first)', async (first) => {
    let fileId = '';
    await withJobsHeld(server, async () => {
      const v1 = await uploaded(`revisions-${first}.txt`);
      fileId = v1.fileId;
      const v2 = await uploaded(`revisions-${first}.txt`, { check_name_mode: 'overwrite' });
      expect(v2.fileId).toBe(v1.fileId);
      // Only v1's job may run in the race: v2's is put off until after it.
      const [v2job] = await server.deps.db.query<{ job_id: string }>(`SELECT job_id FROM jobs ORDER BY job_id DESC LIMIT 1`);
      await server.deps.db.query(`UPDATE jobs SET run_at = now() + interval '1 hour' WHERE job_id = $1`, [v2job!.job_id]);
      const r = await race(v1.revisionId, () => call('/v2/file/revision/delete', { file_id: v1.fileId, revision_id: v1.revisionId }), first);
      expect(r).toEqual({ status: 204, code: undefined, jobs: [{ kind: 'blob.hash', last_error: '' }] }); // v2's, put off
      await server.deps.db.query(`UPDATE jobs SET run_at = now() WHERE job_id = $1`, [v2job!.job_id]);
      await server.services.jobs.drain();
    });
    await expectSettled(fileId);
  });

  // Suspected by the red team (session 21): a restore that read the revision's empty content_hash before the
  // job committed, and wrote it to the file after the job's statement had passed the file over (its current
  // revision was another one then), would leave the file with no hash for good. It cannot: the job locks the
  // files first (lockReferences), and the restore locks the file before it reads the revision. Played both
  // ways: the job first (it holds the file, the restore waits and reads the hashed revision), and the restore
  // first (a third transaction holds the file; the restore, queued first, commits before the job gets it, and
  // the job's later statements see the file at the restored revision).
  it.each([
    ['job', 'file_revisions'],
    ['call', 'files'],
  ] as const)('file/revision/restore of the revision being hashed makes it current with its hash (%s waits first, on %s)', async (first, held) => {
    let fileId = '';
    await withJobsHeld(server, async () => {
      const v1 = await uploaded(`restored-${first}.txt`);
      fileId = v1.fileId;
      await server.services.jobs.drain();
      const v2 = await uploaded(`restored-${first}.txt`, { check_name_mode: 'overwrite' });
      // v1 hashed, v2 pending: restore v2 after making v1 current again, while v2's job runs.
      await api.ok('/v2/file/revision/restore', { drive_id: user.default_drive_id, file_id: fileId, revision_id: v1.revisionId }, user.access_token);
      const restore = () => call('/v2/file/revision/restore', { file_id: fileId, revision_id: v2.revisionId });
      const r = held === 'files' ? await race(fileId, restore, first, { table: 'files', column: 'file_id', lock: 'UPDATE' }) : await race(v2.revisionId, restore, first);
      expect(r).toEqual({ status: 200, code: undefined, jobs: [] });
    });
    await expectSettled(fileId);
    const [file] = await server.deps.db.query<{ content_hash: string; revision_content_hash: string }>(
      `SELECT f.content_hash, r.content_hash AS revision_content_hash FROM files f JOIN file_revisions r ON r.revision_id = f.revision_id WHERE f.file_id = $1`,
      [fileId],
    );
    expect(file!.content_hash).toBe(file!.revision_content_hash);
  });

  // drive/delete still locks the drive, then the revisions, then (the cascade) the files: the opposite of
  // the job's files-then-revisions. The job gives up its wait (lock_timeout, under deadlock_timeout) and
  // starts over, so the call is never the one PostgreSQL aborts. Without that second line the new order
  // alone made drive/delete the victim when it waited first (503); the old order lost the job there.
  it.each(['job', 'call'] as const)('drive/delete of the drive whose file is being hashed succeeds, and the job finishes (%s waits first)', async (first) => {
    const admin = await api.login('admin', ADMIN_PASSWORD);
    const drive = await api.ok('/v2/drive/create', { drive_name: `doomed-${first}`, owner: user.user_id, default: false }, admin.access_token);
    await withJobsHeld(server, async () => {
      const f = await uploaded('in-doomed-drive.txt', {}, drive.drive_id);
      const r = await race(f.revisionId, () => api.call('/v2/drive/delete', { drive_id: drive.drive_id }, admin.access_token), first);
      expect(r).toEqual({ status: r.status < 300 ? r.status : 'a success', code: undefined, jobs: [] });
    });
    await expectSettled();
  });

  it('file/copy of the file being hashed succeeds, and the job finishes; the copy shares the hashed content', async () => {
    await withJobsHeld(server, async () => {
      const f = await uploaded('copied.txt');
      const r = await race(f.revisionId, () => call('/v2/file/copy', { file_id: f.fileId, to_parent_file_id: 'root', check_name_mode: 'auto_rename' }));
      expect(r).toEqual({ status: r.status < 300 ? r.status : 'a success', code: undefined, jobs: [] });
    });
    await expectSettled();
    const rows = await server.deps.db.query<{ blob_sha256: string; hashed: boolean }>(
      `SELECT r.blob_sha256, b.hashed FROM files f JOIN file_revisions r ON r.revision_id = f.revision_id JOIN blobs b ON b.sha256 = r.blob_sha256 WHERE f.name LIKE 'copied%' AND f.status = 'available'`,
    );
    expect(rows).toHaveLength(2);
    expect(rows.every((x) => x.hashed && x.blob_sha256 === rows[0]!.blob_sha256)).toBe(true);
  });

  it('file/delete, trash + recyclebin/clear and file/copy right after file/complete, with the jobs running: no 503, no job lost to a deadlock', async () => {
    // The red team's hammer: before the fix 26 and 23 of these 300 calls answered 503 in two runs (file/delete
    // 10 and 3, trash + clear 10 and 9, file/copy 6 and 11), 4 and 1 jobs failed on "deadlock detected", and
    // the deadlock waits made it take 34-38 s; now none, in ~10 s.
    const ops = ['delete', 'trashclear', 'copy'] as const;
    const TRIES = 100;
    const answers = new Map<string, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < TRIES * ops.length) {
          const i = next++;
          const op = ops[i % ops.length]!;
          const f = await uploaded(`hammer-${op}-${i}.txt`);
          await sleep(Math.floor(Math.random() * 25));
          const r =
            op === 'delete'
              ? await call('/v2/file/delete', { file_id: f.fileId })
              : op === 'trashclear'
                ? await call('/v2/recyclebin/trash', { file_id: f.fileId }).then(() => call('/v2/recyclebin/clear', {}))
                : await call('/v2/file/copy', { file_id: f.fileId, to_parent_file_id: 'root', check_name_mode: 'auto_rename' });
          const key = `${op}:${r.status}`;
          answers.set(key, (answers.get(key) ?? 0) + 1);
        }
      }),
    );
    await server.services.jobs.drain();
    const failedJobs = await count(server.deps.db, `SELECT count(*) AS n FROM jobs WHERE last_error <> ''`);
    expect({ answers: Object.fromEntries([...answers].filter(([k]) => !/:2\d\d$/.test(k))), failedJobs }).toEqual({ answers: {}, failedJobs: 0 });
    await expectSettled();
  }, 40_000);
});
