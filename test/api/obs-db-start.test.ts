/**
 * `serve` waits for a PostgreSQL it cannot reach at start (OPENPDS_DB_START_TIMEOUT_SECONDS) instead of
 * exiting 1 at once, which made pods crash-loop and come back up to 5 minutes after the database (red
 * team, outage-db.sh); other database errors still fail the start at once; and what a failed start
 * prints is one JSON line with a code, not a multi-line stack trace.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startServer } from '../../api-server/src/main';
import { freePort } from '../e2e/support/child-server';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { createTestDatabaseUrl } from '../support/test-db';
import { testServerEnv } from '../support/test-server';

const ROOT = path.join(__dirname, '../..');

/** `openpds serve` as a child; its exit code and every line it printed. */
async function serveChild(env: Record<string, string>) {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/openpds.js'), 'serve'], { env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  // bin/openpds.js may say first that dist/ is stale (as in test/operator/plan-state.e2e.test.ts).
  return { code, lines: output.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('openpds: dist/ is older')) };
}

describe('a PostgreSQL not reachable at start', () => {
  it('is waited for, and the server starts once it answers', async () => {
    const databaseUrl = new URL(await createTestDatabaseUrl());
    const port = await freePort();
    const unreachable = new URL(databaseUrl);
    unreachable.host = `127.0.0.1:${port}`;
    const { env } = await testServerEnv('pglite', 'local', { OPENPDS_DATABASE_URL: unreachable.toString(), OPENPDS_DB_START_TIMEOUT_SECONDS: '30' });
    let forwarding: TcpProxy | undefined;
    const later = new Promise<void>((resolve) => setTimeout(resolve, 2000)).then(async () => void (forwarding = await startTcpProxy(databaseUrl, { port })));
    const started = Date.now();
    const server = await startServer(env);
    try {
      await later;
      expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      await server.close();
      await forwarding?.close();
    }
  });

  it('fails the start at once when the error is not a connection error (a database that does not exist)', async () => {
    const missing = new URL(await createTestDatabaseUrl());
    missing.pathname = '/no_such_database_here';
    const { env } = await testServerEnv('pglite', 'local', { OPENPDS_DATABASE_URL: missing.toString(), OPENPDS_DB_START_TIMEOUT_SECONDS: '60' });
    const started = Date.now();
    await expect(startServer(env)).rejects.toMatchObject({ code: '3D000' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('`openpds serve` gives up after OPENPDS_DB_START_TIMEOUT_SECONDS: exit 1, every line JSON, the last one fatal with a code', async () => {
    const unreachable = `postgres://postgres@127.0.0.1:${await freePort()}/openpds`;
    const { env } = await testServerEnv('pglite', 'local', { OPENPDS_DATABASE_URL: unreachable, OPENPDS_DB_START_TIMEOUT_SECONDS: '2', OPENPDS_LOG_LEVEL: 'info' });
    const started = Date.now();
    const { code, lines } = await serveChild(env);
    expect(code).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    const records = lines.map((l) => JSON.parse(l) as { level: number; msg: string; code?: string; attempt?: number });
    expect(records.filter((r) => r.level === 40 && r.attempt !== undefined).length).toBeGreaterThanOrEqual(2);
    expect(records.at(-1)).toMatchObject({ level: 60, code: 'ServiceUnavailable.Database', msg: expect.stringContaining('not reachable within 2 s') });
  }, 60_000);

  it('`openpds serve` with an invalid setting prints one JSON line with a code', async () => {
    const { code, lines } = await serveChild({ OPENPDS_PORT: 'eighty' });
    expect(code).toBe(1);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 60, code: 'InvalidConfiguration', msg: 'openpds: invalid configuration: OPENPDS_PORT must be an integer, got "eighty"' });
  }, 60_000);
});
