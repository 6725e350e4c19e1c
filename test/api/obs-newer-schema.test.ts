/**
 * A data plane started on a database that a newer OpenPDS migrated (an image rolled back: migrations are
 * forward-only) says so at start, naming the migrations it does not know. It used to start silently on a
 * schema it was not written for. It still starts: during a rolling upgrade the old pods meet the new schema
 * for a while, by design.
 */
import { rmSync } from 'node:fs';
import { loadConfig } from '../../api-server/src/config/config';
import { unknownAppliedMigrations } from '../../api-server/src/db/migrate';
import { openDb, startServer } from '../../api-server/src/main';
import { logSink } from '../support/log-sink';
import { testServerEnv } from '../support/test-server';

describe('a database migrated by a newer OpenPDS', () => {
  it('is served with a warning naming the migrations this version does not know', async () => {
    const { env, dataDir } = await testServerEnv('pglite', 'local');
    try {
      const quiet = logSink();
      let server = await startServer({ ...env, OPENPDS_LOG_LEVEL: 'warn' }, { logDestination: quiet.stream });
      await server.close();
      expect(quiet.lines.join('\n')).not.toContain('migrated by a newer OpenPDS');

      const db = await openDb(loadConfig(env));
      try {
        expect(await unknownAppliedMigrations(db)).toEqual([]);
        await db.query(`INSERT INTO schema_migrations (version, name) VALUES (998, '998_from_the_future')`);
        expect(await unknownAppliedMigrations(db)).toEqual([{ version: 998, name: '998_from_the_future' }]);
      } finally {
        await db.close();
      }

      const log = logSink();
      server = await startServer({ ...env, OPENPDS_LOG_LEVEL: 'warn' }, { logDestination: log.stream });
      try {
        expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
        const warning = log.lines.map((l) => JSON.parse(l) as { msg?: string; migrations?: string[] }).find((l) => l.msg?.includes('migrated by a newer OpenPDS'));
        expect(warning).toMatchObject({ migrations: ['998_from_the_future'] });
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
