/**
 * Test servers on PGlite start from a copy of one initdb'd directory (test/support/pglite-template.ts):
 * each must still be a database of its own, migrated, with its own instance_id (the storage claim tells
 * instances apart by it), as two first starts are.
 */
import { mkdtempSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pgliteTemplatePath, seedPgliteDataDir } from '../support/pglite-template';
import { startTestServer } from '../support/test-server';

it('gives each PGlite test server its own migrated database and instance_id', async () => {
  const servers = await Promise.all([startTestServer('pglite', 'local'), startTestServer('pglite', 'local')]);
  try {
    const ids = await Promise.all(servers.map(async (s) => (await s.deps.db.query<{ value: string }>(`SELECT value FROM instance_settings WHERE name = 'instance_id'`))[0]!.value));
    expect(new Set(ids).size).toBe(2);
    for (const s of servers) {
      const [{ n }] = (await s.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM schema_migrations`)) as [{ n: number }];
      expect(n).toBeGreaterThanOrEqual(16);
    }
    await servers[0]!.deps.db.query(`CREATE TABLE only_in_the_first (x int)`);
    expect(await servers[1]!.deps.db.query(`SELECT to_regclass('only_in_the_first') AS t`)).toEqual([{ t: null }]);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
});

it('marks the template as in use each time it seeds a data directory, so other PGlite builds keep it', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'openpds-template-touch-'));
  try {
    const template = await pgliteTemplatePath();
    const longAgo = new Date(Date.now() - 3 * 3_600_000);
    utimesSync(template, longAgo, longAgo);
    await seedPgliteDataDir(dataDir);
    // Reading it changes no mtime: without the touch, another build's run would take it for abandoned.
    expect(Date.now() - statSync(template).mtimeMs).toBeLessThan(3_600_000);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
