/**
 * The blob GC's claim of an abandoned upload session against a file/complete of the same upload. The claim
 * deleted the session, then the invisible file; file/complete's commit (linkUpload) locks the file row
 * first, then the session. Measured with grace 0 on PostgreSQL, 12/900 completes answered 503 and 3 GC
 * runs aborted (skipping the rest of each run). The claim now locks the file row first (gc.repository.ts).
 * And one claim that fails no longer ends the run: the others are still taken.
 */
import type { Db, Queryable } from '../../api-server/src/db/db';
import { accountingDrift, count } from '../support/accounting';
import { createLoggedInUser, startTestServer, type ApiClient } from '../support/test-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(['pglite', 'pg'] as const)('blob GC claims of abandoned uploads on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let user: { access_token: string; default_drive_id: string };
  let seq = 0;

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    api = server.api;
    user = await createLoggedInUser(api, 'gcorder');
  });
  afterAll(() => server?.stop());

  /** create → PUT; left open (abandoned at once with grace 0). */
  async function opened() {
    const body = `open upload ${++seq} ${Math.random()}`;
    const created = await api.ok('/v2/file/create', { drive_id: user.default_drive_id, parent_file_id: 'root', name: `open-${seq}.txt`, type: 'file', check_name_mode: 'auto_rename', size: body.length }, user.access_token);
    expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body })).status).toBe(200);
    return { fileId: created.file_id as string, uploadId: created.upload_id as string };
  }
  const sessionExists = async (uploadId: string) => (await count(server.deps.db, `SELECT count(*) AS n FROM upload_sessions WHERE upload_id = $1`, [uploadId])) > 0;

  it('takes the other abandoned sessions when one claim fails, and leaves that one for the next run', async () => {
    const [a, b, c] = [await opened(), await opened(), await opened()];
    const db = server.deps.db;
    const transaction = db.transaction;
    // The claim of b fails inside its transaction (as a lost deadlock or a dropped connection would).
    db.transaction = (<T>(fn: (tx: Queryable) => Promise<T>) =>
      transaction.call(db, (tx) =>
        fn({
          ...tx,
          query: (sql: string, params?: readonly unknown[]) => {
            if (/DELETE FROM upload_sessions/.test(sql) && params?.includes(b.uploadId)) return Promise.reject(Object.assign(new Error('deadlock detected'), { code: '40P01' }));
            return tx.query(sql, params);
          },
        } as Queryable),
      )) as Db['transaction'];
    let report;
    try {
      report = await server.services.gc.run({ graceSeconds: 0 });
    } finally {
      db.transaction = transaction;
    }
    expect(report.sessions).toBe(2);
    expect([await sessionExists(a.uploadId), await sessionExists(b.uploadId), await sessionExists(c.uploadId)]).toEqual([false, true, false]);
    expect((await server.services.gc.run({ graceSeconds: 0 })).sessions).toBe(1);
    expect(await sessionExists(b.uploadId)).toBe(false);
    expect(await accountingDrift(db)).toEqual([]);
  });

  // PostgreSQL only: PGlite has one connection, so no two transactions ever wait on each other there.
  (dbKind === 'pg' ? it : it.skip)('a GC claim and a file/complete of the same upload take turns, neither deadlocks', async () => {
    const db = server.deps.db;
    const waiting = () => count(db, `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
    const waitFor = async (n: number, what: string) => {
      for (let i = 0; i < 400 && (await waiting()) !== n; i++) await sleep(10);
      if ((await waiting()) !== n) throw new Error(`timed out waiting for ${what}`);
    };
    const u = await opened();
    // A third transaction holds the session's row: the GC's claim stops at its first wait, then the
    // completion at its own, then the hold ends. Before the fix the GC waited on the session (the file
    // unlocked), the completion locked the file and waited on the session: once the hold ended the GC
    // deleted the session and waited for the file, and PostgreSQL aborted one of the two after 1 s.
    let release!: () => void;
    let held!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const isHeld = new Promise<void>((resolve) => (held = resolve));
    const holder = db.transaction(async (tx) => {
      await tx.query(`SELECT 1 FROM upload_sessions WHERE upload_id = $1 FOR NO KEY UPDATE`, [u.uploadId]);
      held();
      await released;
    });
    await isHeld;
    const gc = server.services.gc.run({ graceSeconds: 0 }).then(
      (report) => report.sessions,
      (err: unknown) => err,
    );
    await waitFor(1, 'the GC to wait');
    const completed = api.call('/v2/file/complete', { drive_id: user.default_drive_id, file_id: u.fileId, upload_id: u.uploadId }, user.access_token);
    await waitFor(2, 'the completion to wait');
    release();
    await holder;
    const [res, sessions] = await Promise.all([completed, gc]);
    // The GC came first: the upload is gone, and the completion says so (404), never 503.
    expect({ status: res.status, code: res.body?.code, sessions }).toEqual({ status: 404, code: 'NotFound.UploadId', sessions: 1 });
    expect(await sessionExists(u.uploadId)).toBe(false);
    expect(await count(db, `SELECT count(*) AS n FROM files WHERE file_id = $1`, [u.fileId])).toBe(0);
    expect(await accountingDrift(db)).toEqual([]);
  });

  // PostgreSQL only (PGlite has one connection). The red team's hammer, shorter: GC runs with grace 0 while
  // the uploads they find abandoned complete. Rare here: on the old claim 3 of 1,560 completes answered 503
  // and 2 GC runs aborted over five runs of it (three of them clean); the deterministic case above is the one
  // that always failed. Now, a few completes lose the session to the GC (404) and none answers 503.
  (dbKind === 'pg' ? it : it.skip)('completes racing GC runs with grace 0: no 503, no GC run aborted, no file left without its session', async () => {
    const answers = new Map<string, number>();
    const tally = (k: string) => answers.set(k, (answers.get(k) ?? 0) + 1);
    for (let round = 0; round < 12; round++) {
      // Opened together (they are all abandoned before the race below begins): 360 one after another took
      // most of the test's time.
      const ups = await Promise.all(Array.from({ length: 30 }, () => opened()));
      const gcs = [0, 15].map(async (delay) => {
        await sleep(delay);
        await server.services.gc.run({ graceSeconds: 0 }).then(() => tally('gc:ok'), (err: { code?: string; message?: string }) => tally(`gc:${err.code ?? err.message}`));
      });
      const completes = ups.map(async (u) => {
        await sleep(Math.floor(Math.random() * 80));
        const r = await api.call('/v2/file/complete', { drive_id: user.default_drive_id, file_id: u.fileId, upload_id: u.uploadId }, user.access_token);
        tally(`complete:${r.status}`);
      });
      await Promise.all([...gcs, ...completes]);
    }
    const bad = [...answers].filter(([k]) => !['gc:ok', 'complete:200', 'complete:404'].includes(k));
    expect(Object.fromEntries(bad)).toEqual({});
    const db = server.deps.db;
    expect(await count(db, `SELECT count(*) AS n FROM files f WHERE status = 'uploading' AND NOT EXISTS (SELECT 1 FROM upload_sessions s WHERE s.file_id = f.file_id)`)).toBe(0);
    await server.services.jobs.drain();
    expect(await accountingDrift(db)).toEqual([]);
  }, 40_000);
});
