/**
 * PostgreSQL's statement_timeout on the data plane's pool (pg.db.ts): a runaway query fails instead of
 * holding its connection for good (ten of them once took the whole pool), while migrations (`exec`) and
 * the statements a folder's size makes long (files.repository allowLongStatements) are not cut. PostgreSQL
 * only: PGlite is one connection in the process and has no pool to exhaust.
 */
import pg from 'pg';
import type { Db } from '../../api-server/src/db/db';
import { createPgDb, DEFAULT_STATEMENT_TIMEOUT_MS } from '../../api-server/src/db/pg.db';
import { migrate, MIGRATION_LOCK_KEY } from '../../api-server/src/db/migrate';
import { createDrivesRepository } from '../../api-server/src/modules/drives/drives.repository';
import { createFilesRepository } from '../../api-server/src/modules/files/files.repository';
import { createTestDatabaseUrl } from '../support/test-db';

const LIMIT_MS = 300;
const LONGER = 'SELECT pg_sleep(0.6)';
const setting = async (db: Pick<Db, 'query'>) => (await db.query<{ statement_timeout: string }>('SHOW statement_timeout'))[0]!.statement_timeout;

describe('statement_timeout on PostgreSQL', () => {
  let url: string;
  let db: Db;
  beforeAll(async () => {
    url = await createTestDatabaseUrl();
    // One connection: what a statement changes would show in the next one.
    db = createPgDb(url, { max: 1, statementTimeoutMs: LIMIT_MS });
  });
  afterAll(() => db?.close());

  it(`is ${DEFAULT_STATEMENT_TIMEOUT_MS / 1000} s unless told otherwise`, async () => {
    const plain = createPgDb(url);
    try {
      expect(await setting(plain)).toBe(`${DEFAULT_STATEMENT_TIMEOUT_MS / 1000}s`);
      // Set by a SET after connecting ('session'), not sent as a startup parameter ('client'), which
      // PgBouncer refuses by default.
      expect(await plain.query(`SELECT source FROM pg_settings WHERE name = 'statement_timeout'`)).toEqual([{ source: 'session' }]);
    } finally {
      await plain.close();
    }
  });

  it('is set before a new connection is used, never queued behind or ahead of a query (pg 9 refuses that)', async () => {
    // pg 8 warns (DeprecationWarning) when a query is sent while the client's queue is not empty; the
    // condition it checks, recorded here where it is checked.
    const queued: string[] = [];
    const original = pg.Client.prototype.query;
    const spy = jest.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client & { _queryQueue: unknown[] }, ...args: unknown[]) {
      if (this._queryQueue.length > 0) queued.push(String(args[0]));
      return (original as (...a: unknown[]) => unknown).apply(this, args) as never;
    });
    const fresh = createPgDb(url, { max: 3, statementTimeoutMs: LIMIT_MS });
    try {
      const settings = await Promise.all([setting(fresh), fresh.transaction((tx) => setting(tx)), setting(fresh), setting(fresh)]);
      expect(settings).toEqual(Array(4).fill(`${LIMIT_MS}ms`));
      expect(queued).toEqual([]);
    } finally {
      spy.mockRestore();
      await fresh.close();
    }
  });

  it('cuts a longer query, in and out of transactions', async () => {
    await expect(db.query(LONGER)).rejects.toMatchObject({ code: '57014' });
    await expect(db.transaction((tx) => tx.query(LONGER))).rejects.toMatchObject({ code: '57014' });
  });

  it('does not cut exec (migrations), and the connection keeps its limit afterwards', async () => {
    await db.exec(LONGER);
    expect(await setting(db)).toBe(`${LIMIT_MS}ms`);
    await db.transaction(async (tx) => {
      await tx.exec(LONGER);
      await tx.query(LONGER); // the rest of the migration transaction too
    });
    expect(await setting(db)).toBe(`${LIMIT_MS}ms`);
    await expect(db.query(LONGER)).rejects.toMatchObject({ code: '57014' });
  });

  it('is lifted for the rest of a transaction by allowLongStatements, and only there', async () => {
    const repo = createFilesRepository();
    await db.transaction(async (tx) => {
      await repo.allowLongStatements(tx);
      await tx.query(LONGER);
    });
    await expect(db.query(LONGER)).rejects.toMatchObject({ code: '57014' });
  });

  it('does not cut a replica\'s wait for another one\'s migration', async () => {
    const two = createPgDb(url, { max: 2, statementTimeoutMs: LIMIT_MS });
    try {
      // Another replica migrating for longer than the limit: it holds the migration lock.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const lockTaken = new Promise<void>((r) => (locked = r));
      const other = two.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
        locked();
        await held;
      });
      await lockTaken;
      const waiting = migrate(two, []);
      await new Promise((r) => setTimeout(r, 2 * LIMIT_MS));
      release();
      await other;
      await expect(waiting).resolves.toEqual([]);
    } finally {
      await two.close();
    }
  });

  it('does not cut deleting a drive, however long its cascade takes, nor a user\'s drives', async () => {
    const own = createPgDb(await createTestDatabaseUrl(), { max: 1, statementTimeoutMs: LIMIT_MS });
    try {
      await migrate(own);
      // A cascade as slow as a drive with tens of thousands of files, whose triggers touch the drive per row.
      await own.exec(`CREATE FUNCTION slow_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.6); RETURN OLD; END $$;
        CREATE TRIGGER slow_delete BEFORE DELETE ON drives FOR EACH ROW EXECUTE FUNCTION slow_delete();
        INSERT INTO domains (domain_id) VALUES ('d') ON CONFLICT DO NOTHING;
        INSERT INTO drives (drive_id, domain_id, drive_name, owner_id) VALUES ('big', 'd', 'big', 'u1'), ('hers', 'd', 'hers', 'u2');`);
      const drives = createDrivesRepository();
      await expect(own.transaction((tx) => drives.delete(tx, 'd', 'big'))).resolves.toBe(true);
      await own.transaction((tx) => drives.deleteOwnedByUser(tx, 'd', 'u2'));
      expect(await own.query(`SELECT drive_id FROM drives`)).toEqual([]);
      expect(await setting(own)).toBe(`${LIMIT_MS}ms`);
    } finally {
      await own.close();
    }
  });
});
