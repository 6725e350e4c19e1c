/**
 * The embedded PGlite has no autovacuum, so nothing gathered planner statistics and every table looked a
 * few rows long: folder walks over big trees chose a whole-table scan per level (session 12's red team).
 * `serve` runs ANALYZE at start and after each GC run (api-server/src/main.ts).
 */
import { startTestServer } from '../support/test-server';

describe('planner statistics on the embedded PGlite', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
  });
  afterAll(() => server?.stop());

  it('are gathered at start: the tables the file walks read have been analyzed', async () => {
    // reltuples is -1 for a table never analyzed (PostgreSQL 14 and later), a row estimate after.
    const rows = await server.deps.db.query<{ relname: string; reltuples: number }>(
      `SELECT relname, reltuples FROM pg_class WHERE relname IN ('files', 'file_revisions', 'drives', 'upload_sessions') ORDER BY relname`,
    );
    expect(rows.map((r) => r.relname)).toEqual(['drives', 'file_revisions', 'files', 'upload_sessions']);
    for (const r of rows) expect([r.relname, Number(r.reltuples)]).toEqual([r.relname, expect.any(Number)]);
    expect(rows.filter((r) => Number(r.reltuples) < 0)).toEqual([]);
  });
});
