/** `openpds jobs failed | retry-failed [--kind K]` against both databases. */
import { createTestDb, DB_KINDS } from '../../../../test/support/test-db';
import type { Db } from '../../db/db';
import { migrate } from '../../db/migrate';
import { runJobsCommand } from './jobs.command';

describe.each(DB_KINDS)('openpds jobs on %s', (kind) => {
  let db: Db;
  beforeAll(async () => {
    db = await createTestDb(kind);
    await migrate(db);
  });
  afterAll(() => db?.close());
  beforeEach(() => db.query('DELETE FROM jobs'));

  async function run(...argv: string[]) {
    const lines: string[] = [];
    const errors: string[] = [];
    // The command closes what it opened: hand it the test's database with a close that keeps it open.
    const code = await runJobsCommand(argv, {
      env: {},
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
