/**
 * drive-delete: deleting a drive of N files, and purging a trashed folder of N files, on the schema with
 * migration 010 (statement triggers over transition tables, one accounting update per drive and per blob)
 * against, in the same run: the same deletes on a database migrated only to 009 (row triggers, the
 * statements the repositories ran before 010), and a plain DELETE of as many rows from untriggered tables
 * of the same shape (no triggers, no foreign keys: a floor the foreign-key cascades alone stay above).
 * Targets: ≤ 0.5× the 009 time; linear growth (N files ≤ 5× the time of N/4, where row triggers grew
 * quadratically); ≤ 30× the plain DELETE.
 *
 * Data, inserted with INSERT … SELECT generate_series (untimed): folders of 100 files, one revision per
 * file; nine files in ten have content of their own, one in ten shares one blob (a file copied many
 * times), as copies and rapid uploads share blobs. Each measured delete gets a fresh database, checkpointed
 * before the clock starts, and each figure is the median of --runs (default 3) such deletes: one sample
 * each, a checkpoint of the seed's WAL or another process's burst landing in a 40 ms delete of 2,500 files
 * moved the growth ratio from 3.9× to 6.1× between two runs of the same code (session 14).
 *
 *   npx tsx bench/drive-delete.ts [--files 10000] [--db pg] [--runs 3]
 */
import type { Db } from '../api-server/src/db/db';
import { migrate, readMigrations } from '../api-server/src/db/migrate';
import { createDrivesRepository } from '../api-server/src/modules/drives/drives.repository';
import { createFilesRepository } from '../api-server/src/modules/files/files.repository';
import { createTestDb, type DbKind } from '../test/support/test-db';
import { flag, intFlag } from './lib/args';
import { fmt, info, median, reportRatio, runBench, timed } from './lib/report';
import { ensureServices, stopServices } from './lib/services';

const fileCount = intFlag('files', 10_000);
const dbKind = (flag('db') ?? 'pg') as DbKind;
const runs = Math.max(1, intFlag('runs', 3));
const BEFORE_010 = readMigrations().filter((m) => m.version <= 9);

/** Drive `dr` with fileCount files under folders of 100, all in the trash under the first folder. */
async function seed(db: Db, fileCount: number): Promise<void> {
  await db.query(`INSERT INTO domains (domain_id) VALUES ('d')`);
  await db.query(`INSERT INTO drives (drive_id, domain_id, drive_name, owner_id) VALUES ('dr', 'd', 'bench', 'u')`);
  await db.query(`INSERT INTO blobs (sha256, sha1, pre_hash, size, storage_key) SELECT 'b' || i, 'h', 'p', 1000 + i, 'k' || i FROM generate_series(0, $1) i`, [fileCount]);
  await db.query(
    `INSERT INTO files (file_id, drive_id, parent_file_id, name, type, trashed_at, trash_root_id)
     SELECT 'dir' || i, 'dr', CASE WHEN i = 0 THEN 'root' ELSE 'dir0' END, 'dir' || i, 'folder', now(), 'dir0' FROM generate_series(0, $1 / 100) i`,
    [fileCount],
  );
  await db.query(
    `INSERT INTO files (file_id, drive_id, parent_file_id, name, type, size, trashed_at, trash_root_id)
     SELECT 'f' || i, 'dr', 'dir' || (i / 100), 'f' || i, 'file', 1000, now(), 'dir0' FROM generate_series(1, $1) i`,
    [fileCount],
  );
  await db.query(
    `INSERT INTO file_revisions (revision_id, file_id, drive_id, blob_sha256, size, content_hash)
     SELECT 'r' || i, 'f' || i, 'dr', CASE WHEN i % 10 = 0 THEN 'b0' ELSE 'b' || i END, 1000, 'h' FROM generate_series(1, $1) i`,
    [fileCount],
  );
}

/** The median of `runs` measureOnce. */
async function measure(...args: Parameters<typeof measureOnce>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await measureOnce(...args));
  return median(samples);
}

/**
 * A fresh seeded database on the given migrations, `prepare` run on it untimed, then checkpointed (the
 * seed's WAL is not flushed inside the timed delete); resolves to `run`'s time, after checking `table`
 * (the revisions `run` deletes) is empty.
 */
async function measureOnce(
  migrations: ReturnType<typeof readMigrations>,
  run: (db: Db) => Promise<unknown>,
  opts: { prepare?: (db: Db) => Promise<void>; table?: string; files?: number } = {},
): Promise<number> {
  const db = await createTestDb(dbKind);
  try {
    await migrate(db, migrations);
    await seed(db, opts.files ?? fileCount);
    await opts.prepare?.(db);
    await db.query('CHECKPOINT');
    const { ms } = await timed(() => run(db));
    const [left] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${opts.table ?? 'file_revisions'}`);
    if (left!.n !== 0) throw new Error(`${left!.n} rows of ${opts.table ?? 'file_revisions'} left after the delete`);
    return ms;
  } finally {
    await db.close();
  }
}

const withoutTimeout = (db: Db, sql: string) =>
  db.transaction(async (tx) => {
    if (db.dialect === 'pg') await tx.query(`SET LOCAL statement_timeout = 0`);
    await tx.query(sql);
  });

runBench(
  'drive-delete',
  async () => {
    if (dbKind === 'pg') await ensureServices({ pg: true });
    info(`${fileCount} files in folders of 100, one revision each (1 in 10 on one shared blob), on ${dbKind}; each figure the median of ${runs} run(s)`);
    const drives = createDrivesRepository();
    const files = createFilesRepository();

    // The floor: the same rows in tables of the same shape with no triggers and no foreign keys.
    const plain = await measure(
      BEFORE_010,
      (db) =>
        db.transaction(async (tx) => {
          await tx.query(`DELETE FROM plain_revisions WHERE drive_id = 'dr'`);
          await tx.query(`DELETE FROM plain_files WHERE drive_id = 'dr'`);
        }),
      {
        table: 'plain_revisions',
        prepare: (db) =>
          db.exec(`CREATE TABLE plain_files (LIKE files INCLUDING ALL); CREATE TABLE plain_revisions (LIKE file_revisions INCLUDING ALL);
            INSERT INTO plain_files SELECT * FROM files; INSERT INTO plain_revisions SELECT * FROM file_revisions;`),
      },
    );
    info(`plain DELETE of ${fileCount} revisions + ${fileCount + Math.floor(fileCount / 100) + 1} files and folders (untriggered tables): ${fmt(plain)} ms`);

    const deleteDrive = (db: Db) => db.transaction((tx) => drives.delete(tx, 'd', 'dr'));
    const driveBefore = await measure(BEFORE_010, (db) => withoutTimeout(db, `DELETE FROM drives WHERE drive_id = 'dr'`));
    const driveAfter = await measure(readMigrations(), deleteDrive);
    const purgeBefore = await measure(BEFORE_010, (db) => withoutTimeout(db, `DELETE FROM files WHERE drive_id = 'dr' AND trash_root_id = 'dir0'`));
    const purgeAfter = await measure(readMigrations(), (db) => files.deleteTrashed(db, 'dr', ['dir0']));
    const quarter = Math.max(100, Math.round(fileCount / 400) * 100);
    const purgeBeforeQuarter = await measure(BEFORE_010, (db) => withoutTimeout(db, `DELETE FROM files WHERE drive_id = 'dr' AND trash_root_id = 'dir0'`), { files: quarter });
    const driveAfterQuarter = await measure(readMigrations(), deleteDrive, { files: quarter });
    const purgeAfterQuarter = await measure(readMigrations(), (db) => files.deleteTrashed(db, 'dr', ['dir0']), { files: quarter });
    info(`row triggers (009): drive delete ${fmt(driveBefore)} ms, trash purge ${fmt(purgeBefore)} ms (${quarter} files: ${fmt(purgeBeforeQuarter)} ms)`);
    info(`statement triggers (010), ${quarter} files: drive delete ${fmt(driveAfterQuarter)} ms, trash purge ${fmt(purgeAfterQuarter)} ms`);

    reportRatio({ name: 'drive delete vs 009', figure: driveAfter, baseline: driveBefore, unit: 'ms', op: '<=', target: 0.5, baselineLabel: 'row triggers (009)' });
    reportRatio({ name: 'trash purge vs 009', figure: purgeAfter, baseline: purgeBefore, unit: 'ms', op: '<=', target: 0.5, baselineLabel: 'row triggers (009)' });
    const growth = fileCount / quarter;
    reportRatio({ name: `drive delete growth ×${fmt(growth, 0)} files`, figure: driveAfter, baseline: driveAfterQuarter, unit: 'ms', op: '<=', target: growth * 1.25, baselineLabel: `${quarter} files` });
    reportRatio({ name: `trash purge growth ×${fmt(growth, 0)} files`, figure: purgeAfter, baseline: purgeAfterQuarter, unit: 'ms', op: '<=', target: growth * 1.25, baselineLabel: `${quarter} files` });
    reportRatio({ name: 'drive delete vs plain DELETE', figure: driveAfter, baseline: plain, unit: 'ms', op: '<=', target: 30, baselineLabel: 'plain DELETE' });
    reportRatio({ name: 'trash purge vs plain DELETE', figure: purgeAfter, baseline: plain, unit: 'ms', op: '<=', target: 30, baselineLabel: 'plain DELETE' });
  },
  stopServices,
);
