/**
 * Bulk deletes keep the accounting right (migration 010: statement triggers over transition tables, one
 * update per drive and per blob instead of one per row): after a trash purge, a folder delete, a drive
 * delete and a user's drives delete, every drive's used_size and reserved_size and every blob's ref_count
 * equal a recount from the rows left. Also applied on a database that already holds data (009 → 010).
 * On PGlite and on PostgreSQL, through the repositories those deletes use.
 */
import type { Db } from '../../api-server/src/db/db';
import { migrate, readMigrations } from '../../api-server/src/db/migrate';
import { createDrivesRepository } from '../../api-server/src/modules/drives/drives.repository';
import { createFilesRepository } from '../../api-server/src/modules/files/files.repository';
import { createTestDb, DB_KINDS } from '../support/test-db';
import { accountingDrift, count } from '../support/accounting';

const FILES_PER_DRIVE = 400;
const drives = createDrivesRepository();
const files = createFilesRepository();

/**
 * A drive of `count` files in folders of 100 (every third folder trashed), two revisions per file on blobs
 * shared across drives (so one blob loses many references in one statement), and open sessions, sized and
 * not, some already completed.
 */
async function seedDrive(db: Db, owner: string, drive: string, count: number): Promise<void> {
  await db.query(`INSERT INTO drives (drive_id, domain_id, drive_name, owner_id) VALUES ($1, 'd', $1, $2)`, [drive, owner]);
  await db.query(
    `INSERT INTO files (file_id, drive_id, parent_file_id, name, type, trashed_at, trash_root_id)
     SELECT $1 || '-dir' || i, $1, 'root', 'dir' || i, 'folder',
       CASE WHEN i % 3 = 0 THEN now() END, CASE WHEN i % 3 = 0 THEN $1 || '-dir' || i END
     FROM generate_series(0, $2 / 100) i`,
    [drive, count],
  );
  await db.query(
    `INSERT INTO files (file_id, drive_id, parent_file_id, name, type, size, trashed_at, trash_root_id)
     SELECT $1 || '-f' || i, $1, $1 || '-dir' || (i / 100), 'f' || i, 'file', 7,
       CASE WHEN (i / 100) % 3 = 0 THEN now() END, CASE WHEN (i / 100) % 3 = 0 THEN $1 || '-dir' || (i / 100) END
     FROM generate_series(0, $2 - 1) i`,
    [drive, count],
  );
  await db.query(
    `INSERT INTO file_revisions (revision_id, file_id, drive_id, blob_sha256, size, content_hash)
     SELECT $1 || '-r' || i || '-' || v, $1 || '-f' || i, $1, 'blob' || ((i * v) % 50), 1 + (i * v) % 50, 'h'
     FROM generate_series(0, $2 - 1) i, generate_series(1, 2) v`,
    [drive, count],
  );
  await db.query(
    `INSERT INTO upload_sessions (upload_id, file_id, drive_id, storage_key, store_upload_id, size, part_count, status)
     SELECT $1 || '-u' || i, $1 || '-f' || i, $1, 'blobs/' || $1 || '-u' || i, '', CASE WHEN i % 4 = 0 THEN NULL ELSE 10 + i END, 1,
       CASE WHEN i % 5 = 0 THEN 'completed' ELSE 'open' END
     FROM generate_series(0, $2 - 1, 7) i`,
    [drive, count],
  );
}

async function seed(db: Db): Promise<void> {
  await db.query(`INSERT INTO domains (domain_id) VALUES ('d')`);
  await db.query(`INSERT INTO blobs (sha256, sha1, pre_hash, size, storage_key) SELECT 'blob' || i, 'h', 'p', 1 + i, 'k' || i FROM generate_series(0, 49) i`);
  for (const [owner, drive] of [['alice', 'a1'], ['alice', 'a2'], ['bob', 'b1'], ['carol', 'c1']]) await seedDrive(db, owner!, drive!, FILES_PER_DRIVE);
}



describe.each(DB_KINDS)('bulk delete accounting on %s', (kind) => {
  let db: Db;
  afterEach(() => db?.close());

  it('keeps used_size, reserved_size and blob references equal to a recount through every bulk delete', async () => {
    db = await createTestDb(kind, { fromTemplate: true });
    await migrate(db);
    await seed(db);
    expect(await accountingDrift(db)).toEqual([]);
    expect(await count(db, `SELECT sum(reserved_size) AS n FROM drives`)).toBeGreaterThan(0);

    // Trash purge (recyclebin/clear, the retention sweep): many trash roots of one drive at once.
    const roots = (await files.listTrashRoots(db, 'a1', null, 1000)).map((f) => f.file_id);
    const purged = await files.deleteTrashed(db, 'a1', roots);
    expect(purged).toBeGreaterThan(FILES_PER_DRIVE / 4);
    expect(await accountingDrift(db)).toEqual([]);

    // Folder delete (file/delete of a folder): a live folder's whole subtree.
    const subtree = (await files.subtree(db, 'a1', 'a1-dir1')).map((f) => f.file_id);
    await db.transaction((tx) => files.deleteSubtree(tx, 'a1', subtree));
    expect(await count(db, `SELECT count(*) AS n FROM files WHERE file_id = ANY($1::text[])`, [subtree])).toBe(0);
    expect(await accountingDrift(db)).toEqual([]);

    // Drive delete, then a user's drives: the blobs they shared with the drives left keep those references.
    expect(await db.transaction((tx) => drives.delete(tx, 'd', 'b1'))).toBe(true);
    await db.transaction((tx) => drives.deleteOwnedByUser(tx, 'd', 'alice'));
    for (const table of ['files', 'file_revisions', 'upload_sessions'])
      expect(await count(db, `SELECT count(*) AS n FROM ${table} WHERE drive_id <> 'c1'`)).toBe(0);
    expect(await count(db, `SELECT count(*) AS n FROM file_revisions`)).toBe(2 * FILES_PER_DRIVE);
    expect(await accountingDrift(db)).toEqual([]);

    // And the last one: every blob unreferenced, marked so for the GC.
    await db.transaction((tx) => drives.delete(tx, 'd', 'c1'));
    expect(await count(db, `SELECT count(*) AS n FROM blobs WHERE ref_count = 0 AND unreferenced_since IS NOT NULL`)).toBe(50);
    expect(await accountingDrift(db)).toEqual([]);
  });

  it('applies 010 on a database holding data from before it, and the data stays counted right', async () => {
    db = await createTestDb(kind, { fromTemplate: true });
    const upTo009 = readMigrations().filter((m) => m.version <= 9);
    expect(upTo009.length).toBeLessThan(readMigrations().length);
    await migrate(db, upTo009);
    await seed(db);
    expect(await accountingDrift(db)).toEqual([]);
    expect(await migrate(db)).toEqual(readMigrations().filter((m) => m.version > 9).map((m) => m.name));
    expect(await accountingDrift(db)).toEqual([]);

    // The old rows go through the new triggers: a single revision, a single session, then a whole drive.
    await db.query(`DELETE FROM file_revisions WHERE revision_id = 'c1-r5-1'`);
    await db.query(`DELETE FROM upload_sessions WHERE upload_id = 'c1-u7'`);
    await db.transaction((tx) => drives.delete(tx, 'd', 'b1'));
    expect(await accountingDrift(db)).toEqual([]);

    // Reservations now count for new revisions: a drive with its room reserved refuses one more byte.
    const [c1] = await db.query<{ used_size: number; reserved_size: number }>(`SELECT used_size, reserved_size FROM drives WHERE drive_id = 'c1'`);
    await db.query(`UPDATE drives SET total_size = $1 WHERE drive_id = 'c1'`, [c1!.used_size + c1!.reserved_size]);
    await expect(
      db.query(`INSERT INTO file_revisions (revision_id, file_id, drive_id, blob_sha256, size, content_hash) VALUES ('c1-extra', 'c1-f1', 'c1', 'blob1', 1, 'h')`),
    ).rejects.toMatchObject({ code: 'OP001' });
    expect(await accountingDrift(db)).toEqual([]);
  });
});
