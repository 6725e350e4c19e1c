import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from '../../api-server/src/main';
import { createTestDatabaseUrl } from '../../test/support/test-db';
import { ADMIN_PASSWORD, createApiClient, testServerEnv } from '../../test/support/test-server';
import { startWorker } from './main';

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

  it('runs the jobs the API server leaves to it: an upload without a declared hash gets hashed by the worker', async () => {
    const { env, dataDir } = await testServerEnv('pg', 's3', { OPENPDS_SERVE_RUNS_JOBS: 'false' });
    const server = await startServer(env);
    const worker = await startWorker({ ...env, OPENPDS_PORT: '0' });
    try {
      const api = createApiClient(server.url);
      const s = await api.login('admin', ADMIN_PASSWORD);
      const content = randomBytes(300_000);
      const created = await api.ok('/v2/file/create', { drive_id: s.default_drive_id, parent_file_id: 'root', name: 'w.bin', type: 'file', size: content.length }, s.access_token);
      expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content })).ok).toBe(true);
      const done = await api.ok('/v2/file/complete', { drive_id: s.default_drive_id, file_id: created.file_id, upload_id: created.upload_id }, s.access_token);
      expect(done.content_hash).toBe('');
      const sha1 = createHash('sha1').update(content).digest('hex');
      const deadline = Date.now() + 15_000;
      let file = done;
      while (!file.content_hash && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        file = await api.ok('/v2/file/get', { drive_id: s.default_drive_id, file_id: created.file_id }, s.access_token);
      }
      expect(file.content_hash).toBe(sha1);
      const metrics = await (await fetch(`${worker.url}/metrics`)).text();
      expect(metrics).toMatch(/^openpds_job_duration_seconds_count\{kind="blob.hash",result="ok"\} 1$/m);
      expect(metrics).toMatch(/^openpds_jobs_backlog 0$/m);
      expect(await (await fetch(`${worker.url}/readyz`)).json()).toMatchObject({ status: 'ready', jobs: ['blob.hash'] });
    } finally {
      await worker.close();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
