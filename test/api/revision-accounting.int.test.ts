/**
 * New revisions and moved references are counted once per statement (migration 012: statement triggers
 * over transition tables): a folder copy of a few hundred files leaves used_size and ref_count equal to a
 * recount, a copy that does not fit the quota is refused whole (nothing copied, nothing counted), the hash
 * job's move of many revisions of one blob counts right, concurrent copies into one drive respect its quota
 * together (PostgreSQL), and 012 applies on a database holding data from 011. Through the API, a folder copy
 * that does not fit still answers 403 QuotaExhausted.Drive. On PGlite and on PostgreSQL.
 */
import type { Db, Queryable } from '../../api-server/src/db/db';
import { migrate, readMigrations } from '../../api-server/src/db/migrate';
import { createFilesRepository } from '../../api-server/src/modules/files/files.repository';
import { createUploadsRepository } from '../../api-server/src/modules/uploads/uploads.repository';
import { createTestDb, DB_KINDS, type DbKind } from '../support/test-db';
import { ADMIN_PASSWORD, createLoggedInUser, startTestServer } from '../support/test-server';
import { accountingDrift, count } from '../support/accounting';

const FOLDER_FILES = 300;
const files = createFilesRepository();
const uploads = createUploadsRepository();

/** Folder `<drive>-src` of `count` files on 40 blobs shared by everything (so one blob gains many references at once). */
async function seedFolder(db: Queryable, drive: string, count: number): Promise<void> {
  await db.query(`INSERT INTO files (file_id, drive_id, parent_file_id, name, type) VALUES ($1 || '-src', $1, 'root', 'src', 'folder')`, [drive]);
  await db.query(`INSERT INTO files (file_id, drive_id, parent_file_id, name, type) VALUES ($1 || '-sub', $1, $1 || '-src', 'sub', 'folder')`, [drive]);
  await db.query(
    `INSERT INTO files (file_id, drive_id, parent_file_id, name, type, size, content_hash, revision_id)
     SELECT $1 || '-f' || i, $1, $1 || CASE WHEN i % 3 = 0 THEN '-sub' ELSE '-src' END, 'f' || i, 'file', 1 + i % 40, 'h', $1 || '-r' || i
     FROM generate_series(0, $2 - 1) i`,
    [drive, count],
  );
  // An older revision of every file too (v = 1): a copy takes the current one only.
  await db.query(
    `INSERT INTO file_revisions (revision_id, file_id, drive_id, blob_sha256, size, content_hash)
     SELECT $1 || '-r' || i || CASE WHEN v = 1 THEN '-old' ELSE '' END, $1 || '-f' || i, $1, 'blob' || ((i + v) % 40), 1 + (i + v) % 40, 'h'
     FROM generate_series(0, $2 - 1) i, generate_series(0, 1) v`,
    [drive, count],
  );
}

async function seed(db: Db): Promise<void> {
  await db.query(`INSERT INTO domains (domain_id) VALUES ('d')`);
  await db.query(`INSERT INTO blobs (sha256, sha1, pre_hash, size, storage_key) SELECT 'blob' || i, 'h', 'p', 1 + i, 'k' || i FROM generate_series(0, 49) i`);
  for (const drive of ['a', 'b']) await db.query(`INSERT INTO drives (drive_id, domain_id, drive_name, owner_id) VALUES ($1, 'd', $1, 'u')`, [drive]);
  await seedFolder(db, 'a', FOLDER_FILES);
  // An open upload in b: its reservation counts against b's quota.
  await db.query(`INSERT INTO files (file_id, drive_id, parent_file_id, name, type, status) VALUES ('b-up', 'b', 'root', 'up', 'file', 'uploading')`);
  await db.query(`INSERT INTO upload_sessions (upload_id, file_id, drive_id, storage_key, store_upload_id, size, part_count) VALUES ('b-u', 'b-up', 'b', 'blobs/b-u', '', 1000, 1)`);
}


async function usedAndReserved(db: Queryable, drive: string): Promise<[number, number]> {
  const [d] = await db.query<{ used_size: string; reserved_size: string }>(`SELECT used_size, reserved_size FROM drives WHERE drive_id = $1`, [drive]);
  return [Number(d!.used_size), Number(d!.reserved_size)];
}
/** Bytes a copy of folder `<drive>-src` adds: its files' current revisions. */
const folderBytes = (db: Queryable, drive: string) =>
  count(db, `SELECT sum(r.size) AS n FROM files f JOIN file_revisions r ON r.revision_id = f.revision_id WHERE f.drive_id = $1 AND f.trashed_at IS NULL`, [drive]);

let copies = 0;
/** What files.service copy does inside its transaction: the live subtree, copied in two statements. */
async function copyFolder(tx: Queryable, from: string, to: string): Promise<string> {
  const tag = `c${++copies}`;
  const tree = await files.subtree(tx, from, `${from}-src`);
  const newId = (id: string) => `${tag}-${id}`;
  await files.copyRows(tx, {
    srcDriveId: from,
    dstDriveId: to,
    createdBy: 'u',
    rows: tree.map((f) => ({ oldId: f.file_id, newId: newId(f.file_id), newParent: f.depth === 0 ? 'root' : newId(f.parent_file_id), newName: f.depth === 0 ? tag : f.name, newRevisionId: `${tag}-rev-${f.file_id}` })),
  });
  return tag;
}

describe.each(DB_KINDS)('revision accounting on %s', (kind) => {
  let db: Db;
  afterEach(() => db?.close());
  // A fresh database for each test; PGlite's a copy of the initdb'd test template (an initdb in memory
  // took 20–40 s per test on two busy cores).
  const newDb = () => createTestDb(kind, { fromTemplate: true });

  it('fires a statement’s AFTER triggers in the order they were queued, a statement trigger’s when its table’s part has run', async () => {
    // linkUpload relies on it (the session's row trigger, queued first, releases the reservation before the
    // revision's statement trigger checks the quota); this pins down the order on this engine.
    db = await newDb();
    await db.exec(`
      CREATE TABLE t_row (id int); CREATE TABLE t_stmt (id int); CREATE TABLE t_log (n serial, what text);
      CREATE FUNCTION t_row_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t_log (what) VALUES ('row'); RETURN NULL; END $$;
      CREATE FUNCTION t_stmt_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t_log (what) VALUES ('statement ' || (SELECT count(*) FROM added)); RETURN NULL; END $$;
      CREATE TRIGGER t_row AFTER UPDATE ON t_row FOR EACH ROW EXECUTE FUNCTION t_row_log();
      CREATE TRIGGER t_stmt AFTER INSERT ON t_stmt REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION t_stmt_log();
      INSERT INTO t_row VALUES (1), (2);`);
    const log = async () => (await db.query<{ what: string }>(`DELETE FROM t_log RETURNING n, what`)).sort((x: any, y: any) => x.n - y.n).map((r) => r.what);
    // As in linkUpload: the insert is built from the updated rows, so they change first.
    await db.query(`WITH s AS (UPDATE t_row SET id = id + 10 RETURNING id), i AS (INSERT INTO t_stmt SELECT id FROM s) SELECT 1`);
    expect(await log()).toEqual(['row', 'row', 'statement 2']);
    // Not "statement triggers after every row trigger": the insert's part runs to its end first here.
    await db.query(`WITH i AS (INSERT INTO t_stmt VALUES (0) RETURNING id), s AS (UPDATE t_row SET id = id + 10 RETURNING id) SELECT (SELECT count(*) FROM i), (SELECT count(*) FROM s)`);
    expect(await log()).toEqual(['statement 1', 'row', 'row']);
  });

  it('counts a folder copy of a few hundred files exactly, and refuses whole one that does not fit', async () => {
    db = await newDb();
    await migrate(db);
    await seed(db);
    expect(await accountingDrift(db)).toEqual([]);
    const bytes = await folderBytes(db, 'a');

    // Within drive a, unlimited: every copied file gains a revision, every blob its references.
    const tag = await db.transaction((tx) => copyFolder(tx, 'a', 'a'));
    expect(await count(db, `SELECT count(*) AS n FROM file_revisions WHERE revision_id LIKE $1`, [`${tag}-rev-%`])).toBe(FOLDER_FILES);
    expect(await accountingDrift(db)).toEqual([]);

    // Into b, whose quota leaves one byte less than the copy needs beside the open upload's reservation.
    const [used, reserved] = await usedAndReserved(db, 'b');
    expect([used, reserved]).toEqual([0, 1000]);
    await db.query(`UPDATE drives SET total_size = $1 WHERE drive_id = 'b'`, [used + reserved + bytes - 1]);
    await expect(db.transaction((tx) => copyFolder(tx, 'a', 'b'))).rejects.toMatchObject({ code: 'OP001', message: expect.stringMatching(/^drive b quota exhausted \(open uploads included\)$/) });
    expect(await count(db, `SELECT count(*) AS n FROM files WHERE drive_id = 'b'`)).toBe(1);
    expect(await usedAndReserved(db, 'b')).toEqual([0, 1000]);
    expect(await accountingDrift(db)).toEqual([]);

    // One byte more and it fits to the byte.
    await db.query(`UPDATE drives SET total_size = total_size + 1 WHERE drive_id = 'b'`);
    await db.transaction((tx) => copyFolder(tx, 'a', 'b'));
    expect(await usedAndReserved(db, 'b')).toEqual([bytes, 1000]);
    expect(await count(db, `SELECT count(*) AS n FROM files WHERE drive_id = 'b' AND type = 'file' AND status = 'available'`)).toBe(FOLDER_FILES);
    expect(await accountingDrift(db)).toEqual([]);

    // A single revision still meets the check on its own: b is full.
    await expect(
      db.query(`INSERT INTO file_revisions (revision_id, file_id, drive_id, blob_sha256, size, content_hash) VALUES ('one-more', 'b-up', 'b', 'blob0', 1, 'h')`),
    ).rejects.toMatchObject({ code: 'OP001' });
    expect(await accountingDrift(db)).toEqual([]);
  });

  it('moves many revisions of one blob to another in one statement (the hash job)', async () => {
    db = await newDb();
    await migrate(db);
    await seed(db);
    await db.query(`INSERT INTO blobs (sha256, sha1, pre_hash, size, storage_key, hashed) VALUES ('pending:x', '', '', 5, 'blobs/x', false), ('real', 's', 'p', 5, 'k-real', true)`);
    await db.query(
      `INSERT INTO file_revisions (revision_id, file_id, drive_id, blob_sha256, size, content_hash) SELECT 'p' || i, 'a-f' || i, 'a', 'pending:x', 5, '' FROM generate_series(0, 199) i`,
    );
    // 'real' already has a reference: the move merges onto it.
    await db.query(`INSERT INTO file_revisions (revision_id, file_id, drive_id, blob_sha256, size, content_hash) VALUES ('q', 'a-f0', 'a', 'real', 5, 's')`);
    expect(await accountingDrift(db)).toEqual([]);
    await db.transaction((tx) => uploads.moveRevisions(tx, 'pending:x', 'real', 's'));
    const blobs = await db.query<{ sha256: string; ref_count: number; gone: boolean }>(
      `SELECT sha256, ref_count, unreferenced_since IS NOT NULL AS gone FROM blobs WHERE sha256 IN ('pending:x', 'real') ORDER BY sha256`,
    );
    expect(blobs).toEqual([{ sha256: 'pending:x', ref_count: 0, gone: true }, { sha256: 'real', ref_count: 201, gone: false }]);
    expect(await accountingDrift(db)).toEqual([]);
    // An UPDATE that moves nothing counts nothing.
    await db.query(`UPDATE file_revisions SET content_hash = 't' WHERE blob_sha256 = 'real'`);
    expect(await accountingDrift(db)).toEqual([]);
  });

  it('applies 012 on a database holding data from 011, and the data stays counted right', async () => {
    db = await newDb();
    const upTo011 = readMigrations().filter((m) => m.version <= 11);
    expect(upTo011.length).toBeLessThan(readMigrations().length);
    await migrate(db, upTo011);
    await seed(db);
    expect(await accountingDrift(db)).toEqual([]);
    expect(await migrate(db)).toEqual(readMigrations().filter((m) => m.version > 11).map((m) => m.name));
    expect(await accountingDrift(db)).toEqual([]);
    // The old rows go through the new triggers: a copy, a move, a purge of the copy.
    const tag = await db.transaction((tx) => copyFolder(tx, 'a', 'b'));
    await db.query(`UPDATE file_revisions SET blob_sha256 = 'blob49' WHERE blob_sha256 = 'blob0'`);
    expect(await accountingDrift(db)).toEqual([]);
    await db.query(`UPDATE files SET trashed_at = now(), trash_root_id = $1 WHERE drive_id = 'b' AND file_id LIKE $2`, [`${tag}-a-src`, `${tag}-%`]);
    await files.deleteTrashed(db, 'b', [`${tag}-a-src`]);
    expect(await usedAndReserved(db, 'b')).toEqual([0, 1000]);
    expect(await accountingDrift(db)).toEqual([]);
  });

  // Concurrency needs a second connection: PostgreSQL only.
  (kind === 'pg' ? it : it.skip)('two concurrent copies into one drive respect its quota together', async () => {
    db = await newDb();
    await migrate(db);
    await seed(db);
    const bytes = await folderBytes(db, 'a');
    for (const [room, fulfilled] of [[2 * bytes - 1, 1], [2 * bytes, 2]] as const) {
      await db.query(`UPDATE drives SET total_size = used_size + reserved_size + $1 WHERE drive_id = 'b'`, [room]);
      // Both copies insert their rows, then wait in the trigger for the drive row, which a third holds.
      let release!: () => void;
      let locked!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holder = db.transaction(async (tx) => {
        await tx.query(`SELECT 1 FROM drives WHERE drive_id = 'b' FOR NO KEY UPDATE`);
        locked();
        await released;
      });
      await isLocked;
      const racing = [0, 1].map(() => db.transaction((tx) => copyFolder(tx, 'a', 'b')));
      await waitFor(async () => (await count(db, `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)) === 2);
      release();
      await holder;
      const results = await Promise.allSettled(racing);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(fulfilled);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'OP001' });
      expect(await accountingDrift(db)).toEqual([]);
      const [used, reserved] = await usedAndReserved(db, 'b');
      const [total] = await db.query<{ total_size: string }>(`SELECT total_size FROM drives WHERE drive_id = 'b'`);
      expect(used + reserved).toBeLessThanOrEqual(Number(total!.total_size));
    }
  });

  // 010's delete trigger locked its blobs FOR UPDATE, which waits for the FOR KEY SHARE locks that the
  // foreign-key checks of an insert take row by row: a delete holding blob X and waiting for Y's key-share
  // lock met that insert's check of X next, and one of them died (40P01). Pinned down by holding the insert
  // between its two rows (a third transaction locks the second row's file).
  (kind === 'pg' ? it : it.skip)('a bulk delete and an insert of revisions on the same blobs do not deadlock', async () => {
    db = await newDb();
    await migrate(db);
    await seed(db);
    await db.query(`INSERT INTO drives (drive_id, domain_id, drive_name, owner_id) VALUES ('c', 'd', 'c', 'u')`);
    await db.query(`INSERT INTO files (file_id, drive_id, parent_file_id, name, type) VALUES ('c-1', 'c', 'root', '1', 'file'), ('c-2', 'c', 'root', '2', 'file')`);
    await db.query(`INSERT INTO file_revisions (revision_id, file_id, drive_id, blob_sha256, size, content_hash) VALUES ('c-r1', 'c-1', 'c', 'blob1', 2, 'h'), ('c-r2', 'c-2', 'c', 'blob2', 3, 'h')`);
    let release!: () => void;
    let locked!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = db.transaction(async (tx) => {
      await tx.query(`SELECT 1 FROM files WHERE file_id = 'a-f2' FOR UPDATE`);
      locked();
      await released;
    });
    await isLocked;
    // Rows in this order: blob2's key-share lock is taken, then the check of a-f2 waits for the holder.
    const insert = db.query(
      `INSERT INTO file_revisions (revision_id, file_id, drive_id, blob_sha256, size, content_hash)
       SELECT * FROM (VALUES ('x1', 'a-f1', 'a', 'blob2', 3::bigint, 'h'), ('x2', 'a-f2', 'a', 'blob1', 2::bigint, 'h')) v`,
    );
    const waiting = (n: number) => async () => (await count(db, `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)) === n;
    await waitFor(waiting(1));
    // The delete locks blob1, then blob2 (sorted); then the insert goes on to check blob1.
    let purged = false;
    const purge = db.query(`DELETE FROM file_revisions WHERE drive_id = 'c'`).finally(() => (purged = true));
    // Done already (012), or waiting for blob2 (010's FOR UPDATE).
    await waitFor(async () => purged || (await waiting(2)()));
    release();
    await holder;
    const results = await Promise.allSettled([insert, purge]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok'))).toEqual(['ok', 'ok']);
    expect(await accountingDrift(db)).toEqual([]);
  });
});

// The copy API keeps its answer: 403 QuotaExhausted.Drive, and nothing of the folder copied.
describe.each([['pglite'], ['pg']] as const)('folder copy through the API on %s', (dbKind: DbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
  });
  afterAll(() => server?.stop());

  it('refuses a folder copy that does not fit whole with 403 QuotaExhausted.Drive, and copies it once it fits', async () => {
    const { api } = server;
    const db = server.deps.db;
    const admin = (await api.login('admin', ADMIN_PASSWORD)).access_token;
    const user = await createLoggedInUser(api, 'copier');
    const drive = user.default_drive_id;
    await db.query(`INSERT INTO blobs (sha256, sha1, pre_hash, size, storage_key) SELECT 'blob' || i, 'h', 'p', 1 + i, 'k' || i FROM generate_series(0, 49) i ON CONFLICT DO NOTHING`);
    // The seeded folder lives in the user's drive under ids of its own.
    await seedFolder(db, drive, 120);
    const src = `${drive}-src`;
    const before = await count(db, `SELECT count(*) AS n FROM files WHERE drive_id = $1`, [drive]);
    const [used] = await usedAndReserved(db, drive);
    const bytes = await folderBytes(db, drive);
    await api.ok('/v2/drive/update', { drive_id: drive, total_size: used + bytes - 1 }, admin);

    const refused = await api.call('/v2/file/copy', { drive_id: drive, file_id: src, to_parent_file_id: 'root', new_name: 'copy' }, user.access_token);
    expect([refused.status, refused.body.code]).toEqual([403, 'QuotaExhausted.Drive']);
    expect(await count(db, `SELECT count(*) AS n FROM files WHERE drive_id = $1`, [drive])).toBe(before);
    expect(await usedAndReserved(db, drive)).toEqual([used, 0]);

    await api.ok('/v2/drive/update', { drive_id: drive, total_size: used + bytes }, admin);
    const copied = await api.call('/v2/file/copy', { drive_id: drive, file_id: src, to_parent_file_id: 'root', new_name: 'copy' }, user.access_token);
    expect([copied.status, copied.body.name]).toEqual([201, 'copy']);
    expect(await count(db, `SELECT count(*) AS n FROM files WHERE drive_id = $1`, [drive])).toBe(before + 122);
    expect(await usedAndReserved(db, drive)).toEqual([used + bytes, 0]);
    expect(await accountingDrift(db)).toEqual([]);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
