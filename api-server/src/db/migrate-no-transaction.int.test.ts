/**
 * The runner's no-transaction mode (migrate-no-transaction.ts) on both back ends, and, on PostgreSQL, that
 * 021's index builds leave files writable, that a build cut short is redone, and that a second replica
 * waiting for the migration lock does not deadlock with a concurrent build.
 */
import pg from 'pg';
import { createTestDatabaseUrl, createTestDb, DB_KINDS } from '../../../test/support/test-db';
import type { Db } from './db';
import { migrate, readMigrations, type Migration } from './migrate';
import { createPgDb } from './pg.db';

const NO_TX = '-- openpds:no-transaction\n';
const table: Migration = { version: 1, name: '001_t', sql: 'CREATE TABLE t (x int, y int); INSERT INTO t SELECT i, i FROM generate_series(1, 1000) i;' };
const indexes = (second = 'CREATE INDEX CONCURRENTLY IF NOT EXISTS t_y ON t (y)'): Migration => ({
  version: 2,
  name: '002_idx',
  sql: `${NO_TX}-- two builds\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_x ON t (x);\n${second};\n`,
});
const after: Migration = { version: 3, name: '003_after', sql: 'ALTER TABLE t ADD COLUMN z int;' };

const validIndexes = async (db: Db, tableName: string) =>
  (
    await db.query<{ name: string; valid: boolean }>(
      `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = to_regclass($1) ORDER BY 1`,
      [tableName],
    )
  ).map((r) => `${r.name}${r.valid ? '' : ' INVALID'}`);
const recorded = async (db: Db) => (await db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY version')).map((r) => r.name);

describe.each(DB_KINDS)('no-transaction migrations on %s', (kind) => {
  let db: Db;
  beforeEach(async () => (db = await createTestDb(kind, { fromTemplate: true })));
  afterEach(() => db.close());

  it('run between transactional ones, are recorded once built, and are not run again', async () => {
    expect(await migrate(db, [table, indexes(), after])).toEqual(['001_t', '002_idx', '003_after']);
    expect(await validIndexes(db, 't')).toEqual(['t_x', 't_y']);
    expect(await recorded(db)).toEqual(['001_t', '002_idx', '003_after']);
    expect(await migrate(db, [table, indexes(), after])).toEqual([]);
  });

  it('run again from their first statement after one failed midway', async () => {
    await migrate(db, [table]);
    await expect(migrate(db, [table, indexes('CREATE INDEX CONCURRENTLY IF NOT EXISTS t_y ON no_such_table (y)'), after])).rejects.toThrow(/no_such_table/);
    // PostgreSQL keeps what was built before the failure (autocommit); PGlite, all in one transaction, nothing.
    expect(await validIndexes(db, 't')).toEqual(kind === 'pg' ? ['t_x'] : []);
    expect(await recorded(db)).toEqual(['001_t']);
    expect(await migrate(db, [table, indexes(), after])).toEqual(['002_idx', '003_after']);
    expect(await validIndexes(db, 't')).toEqual(['t_x', 't_y']);
  });

  it('apply every shipped migration, 021 included', async () => {
    expect(await migrate(db)).toEqual(readMigrations().map((m) => m.name));
    expect(await validIndexes(db, 'files')).toEqual(expect.arrayContaining(['files_by_category_name', 'files_uploading_children']));
  });
});

describe('no-transaction migrations on PostgreSQL', () => {
  const clients: pg.Client[] = [];
  const dbs: Db[] = [];
  let url: string;
  const client = async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    clients.push(c);
    return c;
  };
  const pool = () => {
    const db = createPgDb(url);
    dbs.push(db);
    return db;
  };
  beforeEach(async () => (url = await createTestDatabaseUrl()));
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end()));
    await Promise.all(dbs.splice(0).map((d) => d.close()));
  });

  /** Waits until a CREATE INDEX CONCURRENTLY on `relation` holds its lock, and answers the modes held on it. */
  async function buildingOn(observer: pg.Client, relation: string): Promise<string[]> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { rows } = await observer.query<{ mode: string; building: boolean }>(
        `SELECT l.mode, a.query ILIKE 'CREATE INDEX CONCURRENTLY%' AS building FROM pg_locks l JOIN pg_stat_activity a USING (pid)
          WHERE l.relation = to_regclass($1) AND l.pid <> pg_backend_pid()`,
        [relation],
      );
      if (rows.some((r) => r.building)) return rows.map((r) => r.mode).sort();
      if (Date.now() > deadline) throw new Error(`no index build on ${relation} seen: ${JSON.stringify(rows)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('021 builds its indexes while files stays writable: SHARE UPDATE EXCLUSIVE, not SHARE', async () => {
    const db = pool();
    await migrate(db, readMigrations().filter((m) => m.version < 21));
    await db.query(`INSERT INTO domains (domain_id) VALUES ('d')`);
    await db.query(`INSERT INTO drives (drive_id, domain_id, drive_name, owner_id, total_size) VALUES ('dr', 'd', 'x', 'u', 0)`);
    await db.query(`INSERT INTO files (file_id, drive_id, parent_file_id, name, type) SELECT 'f' || i, 'dr', 'root', 'n' || i, 'folder' FROM generate_series(1, 1000) i`);
    // An old pod's write still open: the build waits for it (phase 2 of a concurrent build), so the test sees
    // the build in progress for as long as it likes instead of racing a fast build.
    const oldPod = await client();
    await oldPod.query('BEGIN');
    await oldPod.query(`INSERT INTO files (file_id, drive_id, parent_file_id, name, type) VALUES ('old', 'dr', 'root', 'old', 'folder')`);

    const migrating = migrate(db, readMigrations().filter((m) => m.version <= 21)); // 021 alone: later ones are not the subject
    const observer = await client();
    const modes = await buildingOn(observer, 'files');
    expect(modes).toContain('ShareUpdateExclusiveLock');
    expect(modes).not.toContain('ShareLock'); // plain CREATE INDEX's: conflicts with every writer's ROW EXCLUSIVE

    // Another pod uploads, renames, trashes meanwhile: nothing waits (a lock wait would fail at lock_timeout).
    const writer = await client();
    await writer.query(`SET lock_timeout = '2s'`);
    await writer.query(`INSERT INTO files (file_id, drive_id, parent_file_id, name, type) VALUES ('new', 'dr', 'root', 'new', 'folder')`);
    await writer.query(`UPDATE files SET name = 'renamed' WHERE file_id = 'f1'`);
    await writer.query(`UPDATE files SET trashed_at = now() WHERE file_id = 'f2'`);

    await oldPod.query('COMMIT');
    expect(await migrating).toEqual(['021_list_filter_indexes']);
    expect(await validIndexes(db, 'files')).toEqual(expect.arrayContaining(['files_by_category_name', 'files_uploading_children']));
  });

  it('need one connection only, and give it back timed as before, the lock released', async () => {
    // This database's only: the server is shared with the suites running beside this one, whose migrations
    // take the same advisory lock key in their own databases (a count over the server saw theirs).
    const ADVISORY_LOCKS_HERE = `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    const one = createPgDb(url, { max: 1, statementTimeoutMs: 1234 });
    dbs.push(one);
    expect(await migrate(one, [table, indexes(), after])).toEqual(['001_t', '002_idx', '003_after']);
    expect(await one.query('SHOW statement_timeout')).toEqual([{ statement_timeout: '1234ms' }]);
    expect(await one.query(ADVISORY_LOCKS_HERE)).toEqual([{ n: 0 }]);
    const failing = { ...indexes('CREATE INDEX CONCURRENTLY IF NOT EXISTS t_z ON no_such_table (z)'), version: 4, name: '004_bad' };
    await expect(migrate(one, [table, indexes(), after, failing])).rejects.toThrow(/no_such_table/);
    expect(await one.query('SHOW statement_timeout')).toEqual([{ statement_timeout: '1234ms' }]);
    expect(await one.query(ADVISORY_LOCKS_HERE)).toEqual([{ n: 0 }]);
  });

  it('drops an INVALID index a cut-short build left, and builds it again', async () => {
    const db = pool();
    await migrate(db, [table]);
    // A concurrent build that fails leaves its index INVALID, as one killed midway does.
    await db.query('INSERT INTO t VALUES (1, 1)');
    await expect(db.exec('CREATE UNIQUE INDEX CONCURRENTLY t_x ON t (x)')).rejects.toThrow(/could not create unique index/);
    expect(await validIndexes(db, 't')).toEqual(['t_x INVALID']);
    expect(await migrate(db, [table, indexes()])).toEqual(['002_idx']);
    expect(await validIndexes(db, 't')).toEqual(['t_x', 't_y']);
  });

  it('a second replica waits for the lock without holding a snapshot the build would wait for', async () => {
    const first = pool();
    const second = pool();
    await migrate(first, [table]);
    const oldPod = await client();
    await oldPod.query('BEGIN');
    await oldPod.query('INSERT INTO t VALUES (0, 0)');
    const one = migrate(first, [table, indexes(), after], { lockPollMs: 20 });
    await buildingOn(await client(), 't');
    const two = migrate(second, [table, indexes(), after], { lockPollMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, 200)); // the second polls meanwhile
    await oldPod.query('COMMIT');
    // Had the second waited in pg_advisory_xact_lock, the build would wait for it and it for the lock: for good.
    expect([await one, await two]).toEqual([['002_idx', '003_after'], []]);
  });
});
