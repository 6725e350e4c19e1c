/**
 * `openpds worker` and `openpds migrate` behave as `serve` does about their database: the worker's /readyz
 * answers within OPENPDS_READINESS_TIMEOUT_SECONDS on a database that hangs (it waited as long as the
 * driver did, past any probe's timeout), and migrate waits OPENPDS_DB_START_TIMEOUT_SECONDS for a
 * PostgreSQL not reachable yet (it failed at once with ECONNREFUSED / ECONNRESET).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { runMigrations } from '../../api-server/src/main';
import { startWorker } from '../../workers/src/main';
import { startTcpProxy } from '../support/tcp-proxy';
import { createTestDatabaseUrl } from '../support/test-db';

const sink = () => {
  const lines: string[] = [];
  return { lines, stream: new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(...chunk.toString().split('\n').filter(Boolean)), done()) }) };
};

/** The test database's URL through a proxy (test/support/tcp-proxy.ts) whose mode the test sets. */
async function proxiedDatabase() {
  const target = new URL(await createTestDatabaseUrl());
  const proxy = await startTcpProxy(target);
  const url = new URL(target);
  url.host = new URL(proxy.url).host;
  return { proxy, url: url.toString() };
}

describe('openpds worker /readyz', () => {
  it('reports a database that stops answering as `timeout` within OPENPDS_READINESS_TIMEOUT_SECONDS', async () => {
    const { proxy, url } = await proxiedDatabase();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'openpds-worker-'));
    const worker = await startWorker({ OPENPDS_DATABASE_URL: url, OPENPDS_DATA_DIR: dataDir, OPENPDS_HOST: '127.0.0.1', OPENPDS_PORT: '0', OPENPDS_LOG_LEVEL: 'silent', OPENPDS_READINESS_TIMEOUT_SECONDS: '1' });
    try {
      expect(await (await fetch(`${worker.url}/readyz`)).json()).toMatchObject({ status: 'ready', database: 'ok', storage: 'ok' });
      proxy.mode = 'silent';
      const started = Date.now();
      const res = await fetch(`${worker.url}/readyz`, { signal: AbortSignal.timeout(10_000) });
      expect(Date.now() - started).toBeLessThan(2_500);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: 'not ready', database: 'timeout', storage: 'ok', jobs: ['blob.hash'] });
    } finally {
      await proxy.close(); // cuts the hung connections, so the pool can end
      await worker.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('openpds migrate', () => {
  it('waits for a PostgreSQL not reachable yet, then migrates', async () => {
    const { proxy, url } = await proxiedDatabase();
    proxy.mode = 'reset';
    const log = sink();
    try {
      setTimeout(() => (proxy.mode = 'pass'), 2_000);
      const started = Date.now();
      const applied = await runMigrations({ OPENPDS_DATABASE_URL: url, OPENPDS_DB_START_TIMEOUT_SECONDS: '30' }, { logDestination: log.stream });
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
      expect(applied.length).toBeGreaterThan(0);
      expect(log.lines.some((l) => l.includes('database not reachable at start'))).toBe(true);
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
