import { startWorker } from './main';
import { createTestDatabaseUrl } from '../../test/support/test-db';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

describe('openpds worker process', () => {
  it('serves health, readiness against PostgreSQL and the store, and metrics', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'openpds-worker-'));
    const worker = await startWorker({ OPENPDS_PORT: '0', OPENPDS_HOST: '127.0.0.1', OPENPDS_DATABASE_URL: await createTestDatabaseUrl(), OPENPDS_DATA_DIR: dataDir, OPENPDS_LOG_LEVEL: 'silent' });
    try {
      expect((await fetch(`${worker.url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${worker.url}/readyz`)).json()).toMatchObject({ status: 'ready', database: 'ok', storage: 'ok' });
      expect(await (await fetch(`${worker.url}/metrics`)).text()).toContain('openpds_worker_process_cpu_seconds_total');
    } finally {
      await worker.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to start on the embedded database with a clear message', async () => {
    await expect(startWorker({ OPENPDS_PORT: '0' })).rejects.toThrow('openpds worker needs OPENPDS_DATABASE_URL');
  });
});
