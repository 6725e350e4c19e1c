/**
 * A folder copy racing the blob.hash jobs of its fresh uploads (the red team's copyrace.mjs, PostgreSQL):
 * a job moves the revisions of a placeholder blob (`pending:<upload id>`) to the content address and
 * deletes the placeholder's row; a copy whose revision insert had read the placeholder just before that
 * commit failed on file_revisions_blob_sha256_fkey, and after its one retry, with several files being
 * hashed, file/copy answered 500. copyRows now key-share locks the source blobs first: a job holding one
 * is waited for, and the copy takes the moved address. Played deterministically here: a transaction does
 * what the job does, holding the placeholder's row while the copy starts. That race on PostgreSQL only:
 * PGlite runs one transaction at a time, so no job commits in the middle of a copy there. The 503 that
 * replaces the 500 when the copy still loses, on both.
 */
import type { Db } from '../../api-server/src/db/db';
import { migrate } from '../../api-server/src/db/migrate';
import { createFilesRepository } from '../../api-server/src/modules/files/files.repository';
import { createUploadsRepository } from '../../api-server/src/modules/uploads/uploads.repository';
import { accountingDrift, count } from '../support/accounting';
import { createTestDb, DB_KINDS } from '../support/test-db';
import { createLoggedInUser, startTestServer } from '../support/test-server';

const files = createFilesRepository();
const uploads = createUploadsRepository();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FILES = 3;

describe('folder copy against the hash jobs of its files, on PostgreSQL', () => {
  let db: Db;
  beforeAll(async () => {
    db = await createTestDb('pg');
    await migrate(db);
    await db.query(`INSERT INTO domains (domain_id) VALUES ('d')`);
    await db.query(`INSERT INTO drives (drive_id, domain_id, drive_name, owner_id) VALUES ('a', 'd', 'a', 'u')`);
    await db.query(`INSERT INTO files (file_id, drive_id, parent_file_id, name, type) VALUES ('src', 'a', 'root', 'src', 'folder')`);
    for (let i = 0; i < FILES; i++) {
      await db.query(`INSERT INTO blobs (sha256, sha1, pre_hash, size, storage_key) VALUES ($1, '', '', 10, $2)`, [`pending:u${i}`, `blobs/u${i}`]);
      await db.query(`INSERT INTO files (file_id, drive_id, parent_file_id, name, type, size, revision_id) VALUES ($1, 'a', 'src', $1, 'file', 10, $2)`, [`f${i}`, `r${i}`]);
      await db.query(`INSERT INTO file_revisions (revision_id, file_id, drive_id, blob_sha256, size, content_hash) VALUES ($1, $2, 'a', $3, 10, '')`, [`r${i}`, `f${i}`, `pending:u${i}`]);
    }
  });
  afterAll(() => db?.close());

  /** What the blob.hash job's transaction does to placeholder `i` (blob-hashing.ts attempt), up to its commit, which waits for `commit`. */
  function hashJob(i: number, commit: Promise<void>, locked: () => void) {
    return db.transaction(async (tx) => {
      await tx.query(`SELECT 1 FROM files WHERE file_id = $1 FOR NO KEY UPDATE`, [`f${i}`]);
      await tx.query(`SELECT 1 FROM file_revisions WHERE revision_id = $1 FOR NO KEY UPDATE`, [`r${i}`]);
      await uploads.getBlob(tx, `pending:u${i}`, { forUpdate: true });
      await uploads.insertHashedBlob(tx, { sha256: `real${i}`, sha1: `SHA1-${i}`, pre_hash: '', size: 10, storage_key: `blobs/real${i}` });
      await uploads.moveRevisions(tx, `pending:u${i}`, `real${i}`, `SHA1-${i}`);
      await uploads.deleteBlob(tx, `pending:u${i}`);
      locked();
      await commit;
    });
  }

  it('waits for a hash job that holds a source blob, and copies onto the moved address', async () => {
    let commit!: () => void;
    const committing = new Promise<void>((resolve) => (commit = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const job = hashJob(0, committing, locked);
    await isLocked;
    const tree = await files.subtree(db, 'a', 'src');
    const copy = db.transaction((tx) =>
      files.copyRows(tx, {
        srcDriveId: 'a',
        dstDriveId: 'a',
        createdBy: 'u',
        rows: tree.map((f) => ({
          oldId: f.file_id,
          newId: `copy-${f.file_id}`,
          newParent: f.depth === 0 ? 'root' : `copy-${f.parent_file_id}`,
          newName: f.depth === 0 ? 'copy' : f.name,
          newRevisionId: `copy-${f.file_id}-rev`,
        })),
      }),
    );
    const waited = copy.then(() => 'done', () => 'done');
    // The copy waits on the job (a lock), or has read the placeholder (old code) and waits on its row.
    expect(await Promise.race([waited, sleep(300).then(() => 'waiting')])).toBe('waiting');
    commit();
    await job;
    await copy; // rejected with a foreign key violation on file_revisions_blob_sha256_fkey before the fix
    const copied = await db.query<{ file_id: string; blob_sha256: string }>(
      `SELECT f.file_id, r.blob_sha256 FROM files f JOIN file_revisions r ON r.revision_id = f.revision_id WHERE f.file_id LIKE 'copy-f%' ORDER BY f.file_id`,
    );
    expect(copied).toEqual([
      { file_id: 'copy-f0', blob_sha256: 'real0' },
      { file_id: 'copy-f1', blob_sha256: 'pending:u1' },
      { file_id: 'copy-f2', blob_sha256: 'pending:u2' },
    ]);
    // And a job that comes while a copy holds its placeholder gives up its wait (lock_timeout, as the real
    // job sets it) instead of deleting the row under the copy; it starts over once the copy committed.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const copyStarted = new Promise<void>((resolve) => (started = resolve));
    const secondCopy = db.transaction(async (tx) => {
      await files.copyRows(tx, { srcDriveId: 'a', dstDriveId: 'a', createdBy: 'u', rows: [{ oldId: 'f1', newId: 'copy2-f1', newParent: 'root', newName: 'f1-copy', newRevisionId: 'copy2-f1-rev' }] });
      started();
      await held;
    });
    await copyStarted;
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`SET LOCAL lock_timeout = '300ms'`);
        await uploads.getBlob(tx, 'pending:u1', { forUpdate: true });
      }),
    ).rejects.toMatchObject({ code: '55P03' });
    release();
    await secondCopy;
    expect(await accountingDrift(db)).toEqual([]);
    expect(await count(db, `SELECT count(*) AS n FROM files f LEFT JOIN file_revisions r ON r.revision_id = f.revision_id WHERE f.type = 'file' AND r.revision_id IS NULL`)).toBe(0);
  });
});

// Should the insert keep missing its blob all the same (a copy attempted while one hash job after another
// moves its sources), file/copy gives up after a few attempts with 503 and Retry-After, never 500. Forced
// here by a trigger that fails every revision insert as a moved blob would.
describe.each(DB_KINDS)('file/copy whose sources keep moving, on %s', (kind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer(kind, 'local');
  });
  afterAll(() => server?.stop());

  it('answers 503 ServiceUnavailable.Conflict with Retry-After, and copies nothing', async () => {
    const { api } = server;
    const u = await createLoggedInUser(api, 'mover');
    const ref = { drive_id: u.default_drive_id };
    const folder = await api.ok('/v2/file/create', { ...ref, parent_file_id: 'root', name: 'album', type: 'folder' }, u.access_token);
    const created = await api.ok('/v2/file/create', { ...ref, parent_file_id: folder.file_id, name: 'a.jpg', type: 'file', size: 5 }, u.access_token);
    await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: 'hello' });
    await api.ok('/v2/file/complete', { ...ref, file_id: created.file_id, upload_id: created.upload_id }, u.access_token);
    await server.deps.db.exec(`
      CREATE FUNCTION test_blob_moved() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        RAISE foreign_key_violation USING MESSAGE = 'insert or update on table "file_revisions" violates foreign key constraint "file_revisions_blob_sha256_fkey"',
          CONSTRAINT = 'file_revisions_blob_sha256_fkey';
      END $$;
      CREATE TRIGGER test_blob_moved BEFORE INSERT ON file_revisions FOR EACH ROW EXECUTE FUNCTION test_blob_moved();`);
    try {
      const res = await fetch(`${server.url}/v2/file/copy`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${u.access_token}` },
        body: JSON.stringify({ ...ref, file_id: folder.file_id, to_parent_file_id: 'root', new_name: 'album-copy' }),
      });
      expect({ status: res.status, retryAfter: res.headers.get('retry-after'), code: ((await res.json()) as { code: string }).code }).toEqual({
        status: 503,
        retryAfter: '1',
        code: 'ServiceUnavailable.Conflict',
      });
    } finally {
      await server.deps.db.exec(`DROP TRIGGER test_blob_moved ON file_revisions; DROP FUNCTION test_blob_moved()`);
    }
    const listed = await api.ok('/v2/file/list', { ...ref, parent_file_id: 'root' }, u.access_token);
    expect(listed.items.map((f: { name: string }) => f.name)).toEqual(['album']);
  });
});
