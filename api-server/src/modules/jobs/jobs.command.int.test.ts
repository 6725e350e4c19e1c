/** `openpds jobs failed | retry-failed [--kind K]` against both databases. */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDb, DB_KINDS } from '../../../../test/support/test-db';
import type { Db } from '../../db/db';
import { migrate } from '../../db/migrate';
import { runJobsCommand } from './jobs.command';

// A data directory that looks like serve's (the command refuses one without db/PG_VERSION); the database
// itself is the test's, handed in as openDb.
const dataDir = mkdtempSync(path.join(tmpdir(), 'openpds-jobs-cmd-'));
mkdirSync(path.join(dataDir, 'db'));
writeFileSync(path.join(dataDir, 'db', 'PG_VERSION'), '17\n');
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('openpds jobs on a PGlite data directory without a database', () => {
  it('refuses with exit code 1 and says why, creating nothing', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'openpds-jobs-cmd-empty-'));
    try {
      const errors: string[] = [];
      const openDb = jest.fn();
      for (const sub of ['failed', 'retry-failed']) {
        const code = await runJobsCommand([sub], { env: { OPENPDS_DATA_DIR: path.join(empty, 'typo') }, openDb, out: { log: () => undefined, error: (l) => errors.push(l) } });
        expect(code).toBe(1);
      }
      expect(openDb).not.toHaveBeenCalled();
      expect(errors[0]).toContain(path.join(empty, 'typo', 'db', 'PG_VERSION'));
      expect(readdirSync(empty)).toEqual([]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe.each(DB_KINDS)('openpds jobs on %s', (kind) => {
  let db: Db;
  beforeAll(async () => {
    db = await createTestDb(kind, { fromTemplate: true });
    await migrate(db);
  });
  afterAll(() => db?.close());
  beforeEach(() => db.query('DELETE FROM jobs'));

  async function run(...argv: string[]) {
    const lines: string[] = [];
    const errors: string[] = [];
    // The command closes what it opened: hand it the test's database with a close that keeps it open.
    const code = await runJobsCommand(argv, {
      env: { OPENPDS_DATA_DIR: dataDir },
      openDb: async () => Object.assign(Object.create(db) as Db, { close: async () => undefined }),
      out: { log: (l) => lines.push(l), error: (l) => errors.push(l) },
    });
    return { code, lines, errors };
  }

  it('lists failed jobs and queues them again, of one kind or all', async () => {
    await db.query(`INSERT INTO jobs (kind, payload, state, attempts, last_error) VALUES
      ('blob.hash', '{"blob":"pending:1"}', 'failed', 8, 'connect ECONNREFUSED'), ('other', '{}', 'failed', 8, 'no'), ('blob.hash', '{}', 'queued', 1, '')`);
    const listed = await run('failed', '--kind', 'blob.hash');
    expect(listed.code).toBe(0);
    expect(listed.lines).toHaveLength(1);
    expect(listed.lines[0]).toMatch(/^\d+\tblob\.hash\t8\t\{"blob":"pending:1"\}\tconnect ECONNREFUSED$/);

    expect(await run('retry-failed', '--kind=blob.hash')).toMatchObject({ code: 0, lines: ['queued 1 failed job of kind blob.hash to run again'] });
    expect(await db.query(`SELECT kind, state, attempts FROM jobs ORDER BY job_id`)).toEqual([
      { kind: 'blob.hash', state: 'queued', attempts: 0 }, { kind: 'other', state: 'failed', attempts: 8 }, { kind: 'blob.hash', state: 'queued', attempts: 1 },
    ]);
    expect(await run('retry-failed')).toMatchObject({ code: 0, lines: ['queued 1 failed job to run again'] });
    expect(await run('failed')).toMatchObject({ code: 0, lines: ['no failed jobs'] });
  });

  it('refuses an unknown subcommand or argument with usage and exit code 2, touching nothing', async () => {
    await db.query(`INSERT INTO jobs (kind, state) VALUES ('a', 'failed')`);
    for (const argv of [[], ['retry'], ['retry-failed', '--kind'], ['retry-failed', 'a']]) {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      expect(r.errors.join('\n')).toContain('usage: openpds jobs');
    }
    expect(await db.query(`SELECT state FROM jobs`)).toEqual([{ state: 'failed' }]);
  });
});
