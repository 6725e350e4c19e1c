/**
 * folder-copy: copying a folder of N files (file/copy: the subtree read, then files.repository copyRows,
 * one INSERT of the files and one of their revisions) on the schema with migration 012 (one accounting
 * update per drive and per blob for the statement) against, in the same run, a database migrated only to
 * 011 (a row trigger: the drive row updated once per copied file). Also the hash job's move of N revisions
 * of one placeholder blob (uploads.repository moveRevisions), which 011 counted row by row too.
 * Targets: ≤ 0.5× the 011 time; linear growth (N files ≤ 5× the time of N/4).
 *
 *   npx tsx bench/folder-copy.ts [--files 10000] [--db pg]
 *
 * Data, inserted with INSERT … SELECT generate_series (untimed): folders of 100 files under one folder, one
 * revision per file; nine files in ten have content of their own, one in ten shares one blob. The drive has
 * a quota (room to spare), so every copy is checked against it. Each measurement gets a fresh database,
 * analyzed before the timed part.
 */
import type { Db, Queryable } from '../api-server/src/db/db';
import { migrate, readMigrations } from '../api-server/src/db/migrate';
import { createFilesRepository } from '../api-server/src/modules/files/files.repository';
import { createUploadsRepository } from '../api-server/src/modules/uploads/uploads.repository';
import { createTestDb, type DbKind } from '../test/support/test-db';
import { flag, intFlag } from './lib/args';
import { fmt, info, reportRatio, runBench, timed } from './lib/report';
import { ensureServices, stopServices } from './lib/services';

const fileCount = intFlag('files', 10_000);
const dbKind = (flag('db') ?? 'pg') as DbKind;
const BEFORE_012 = readMigrations().filter((m) => m.version <= 11);
const files = createFilesRepository();
const uploads = createUploadsRepository();

/** Drive `dr` (quota 1 TB) with folder `src` holding fileCount files in folders of 100. */
async function seed(db: Db, fileCount: number): Promise<void> {
  await db.query(`INSERT INTO domains (domain_id) VALUES ('d')`);
  await db.query(`INSERT INTO drives (drive_id, domain_id, drive_name, owner_id, total_size) VALUES ('dr', 'd', 'bench', 'u', 1e12)`);
  await db.query(`INSERT INTO blobs (sha256, sha1, pre_hash, size, storage_key) SELECT 'b' || i, 'h', 'p', 1000, 'k' || i FROM generate_series(0, $1) i`, [fileCount]);
  await db.query(`INSERT INTO blobs (sha256, sha1, pre_hash, size, storage_key, hashed) VALUES ('pending:x', '', '', 1000, 'blobs/x', false)`);
  await db.query(
    `INSERT INTO files (file_id, drive_id, parent_file_id, name, type)
     SELECT 'dir' || i, 'dr', CASE WHEN i = 0 THEN 'root' ELSE 'dir0' END, 'dir' || i, 'folder' FROM generate_series(0, $1 / 100) i`,
    [fileCount],
  );
  await db.query(
    `INSERT INTO files (file_id, drive_id, parent_file_id, name, type, size, content_hash, revision_id)
     SELECT 'f' || i, 'dr', 'dir' || (i / 100), 'f' || i, 'file', 1000, 'h', 'r' || i FROM generate_series(1, $1) i`,
    [fileCount],
  );
  await db.query(
    `INSERT INTO file_revisions (revision_id, file_id, drive_id, blob_sha256, size, content_hash)
     SELECT 'r' || i, 'f' || i, 'dr', CASE WHEN i % 10 = 0 THEN 'b0' ELSE 'b' || i END, 1000, 'h' FROM generate_series(1, $1) i`,
    [fileCount],
  );
}

/** What files.service copy runs in its transaction for a folder: lift the timeout, read the subtree, copy it. */
async function copyFolder(tx: Queryable): Promise<void> {
  await files.allowLongStatements(tx);
  const tree = await files.subtree(tx, 'dr', 'dir0');
  const newId = (id: string) => `c-${id}`;
  await files.copyRows(tx, {
    srcDriveId: 'dr',
    dstDriveId: 'dr',
    createdBy: 'u',
    rows: tree.map((f) => ({ oldId: f.file_id, newId: newId(f.file_id), newParent: f.depth === 0 ? 'root' : newId(f.parent_file_id), newName: f.depth === 0 ? 'copy' : f.name, newRevisionId: `c-r-${f.file_id}` })),
  });
}

/** Points every revision at the placeholder (untimed), then moves them all to b1 as the hash job does. */
async function prepareMove(db: Db): Promise<void> {
  await db.transaction(async (tx) => {
    if (db.dialect === 'pg') await tx.query(`SET LOCAL statement_timeout = 0`);
    await tx.query(`UPDATE file_revisions SET blob_sha256 = 'pending:x'`);
  });
}
const moveAll = (db: Db) =>
  db.transaction(async (tx) => {
    if (db.dialect === 'pg') await tx.query(`SET LOCAL statement_timeout = 0`);
    await uploads.moveRevisions(tx, 'pending:x', 'b1', 'h');
  });

/** A fresh seeded database on the given migrations; resolves to `run`'s time, after checking the counts against a recount. */
async function measure(migrations: typeof BEFORE_012, run: (db: Db) => Promise<unknown>, opts: { files?: number; prepare?: (db: Db) => Promise<void> } = {}): Promise<number> {
  const db = await createTestDb(dbKind);
  try {
    await migrate(db, migrations);
    await seed(db, opts.files ?? fileCount);
    // Statistics, as autovacuum gathers them on a drive this size: without them the subtree read plans a
    // nested loop over every file of the drive (seconds at 4k files), which would hide what is measured.
    await db.query(`ANALYZE`);
    await opts.prepare?.(db);
    const { ms } = await timed(() => run(db));
    const [drift] = await db.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM drives d WHERE used_size <> (SELECT coalesce(sum(size), 0) FROM file_revisions r WHERE r.drive_id = d.drive_id))
            + (SELECT count(*) FROM blobs b WHERE ref_count <> (SELECT count(*) FROM file_revisions r WHERE r.blob_sha256 = b.sha256)) AS n`,
    );
    if (Number(drift!.n) !== 0) throw new Error(`${drift!.n} drives or blobs counted wrong after the run`);
    return ms;
  } finally {
    await db.close();
  }
}

runBench(
  'folder-copy',
  async () => {
    if (dbKind === 'pg') await ensureServices({ pg: true });
    info(`a folder of ${fileCount} files in folders of 100, one revision each (1 in 10 on one shared blob), on ${dbKind}`);
    const copy = (db: Db) => db.transaction(copyFolder);
    const quarter = Math.max(100, Math.round(fileCount / 400) * 100);

    const copyBefore = await measure(BEFORE_012, copy);
    const copyAfter = await measure(readMigrations(), copy);
    const copyBeforeQuarter = await measure(BEFORE_012, copy, { files: quarter });
    const copyAfterQuarter = await measure(readMigrations(), copy, { files: quarter });
    const moveBefore = await measure(BEFORE_012, moveAll, { prepare: prepareMove });
    const moveAfter = await measure(readMigrations(), moveAll, { prepare: prepareMove });
    const moveAfterQuarter = await measure(readMigrations(), moveAll, { files: quarter, prepare: prepareMove });
    info(`row trigger (011): copy ${fmt(copyBefore)} ms (${quarter} files: ${fmt(copyBeforeQuarter)} ms), move of ${fileCount} revisions of one blob ${fmt(moveBefore)} ms`);
    info(`statement triggers (012), ${quarter} files: copy ${fmt(copyAfterQuarter)} ms, move ${fmt(moveAfterQuarter)} ms`);

    reportRatio({ name: 'folder copy vs 011', figure: copyAfter, baseline: copyBefore, unit: 'ms', op: '<=', target: 0.5, baselineLabel: 'row trigger (011)' });
    reportRatio({ name: 'revision move vs 011', figure: moveAfter, baseline: moveBefore, unit: 'ms', op: '<=', target: 0.5, baselineLabel: 'row trigger (011)' });
    const growth = fileCount / quarter;
    reportRatio({ name: `folder copy growth ×${fmt(growth, 0)} files`, figure: copyAfter, baseline: copyAfterQuarter, unit: 'ms', op: '<=', target: growth * 1.25, baselineLabel: `${quarter} files` });
    reportRatio({ name: `revision move growth ×${fmt(growth, 0)} files`, figure: moveAfter, baseline: moveAfterQuarter, unit: 'ms', op: '<=', target: growth * 1.25, baselineLabel: `${quarter} files` });
  },
  stopServices,
);
