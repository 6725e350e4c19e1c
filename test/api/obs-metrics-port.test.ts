/**
 * OPENPDS_METRICS_PORT: /metrics only on a port of its own, the API port answering it as any unknown
 * route (the chart's Ingress routes `/` to the API port, so /metrics was public; red team,
 * rapid-oracle.mjs). Unset, /metrics stays on the API port (the embedded quick start). `openpds worker`
 * follows the same key.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runMigrations } from '../../api-server/src/main';
import { freePort, spawnOpenpds } from '../e2e/support/child-server';
import { createTestDatabaseUrl } from '../support/test-db';
import { startTestServer } from '../support/test-server';


describe('OPENPDS_METRICS_PORT', () => {
  it('serves /metrics only on its own port, and the API port answers it 404 NotFound.Route', async () => {
    const server = await startTestServer('pglite', 'local', { OPENPDS_METRICS_PORT: '0' });
    const metricsUrl = server.metricsUrl!;
    try {
      expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(metricsUrl).not.toBe(server.url);
      const onApi = await fetch(`${server.url}/metrics`);
      expect(onApi.status).toBe(404);
      expect(await onApi.json()).toMatchObject({ code: 'NotFound.Route' });
      const scraped = await fetch(`${metricsUrl}/metrics`);
      expect(scraped.status).toBe(200);
      // The API port's requests are counted there, the 404 for /metrics included.
      expect(await scraped.text()).toMatch(/openpds_http_request_duration_seconds_count\{route="unmatched",method="GET",status="404"\} [1-9]/);
      expect((await fetch(`${metricsUrl}/readyz`)).status).toBe(404);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      await server.stop();
    }
    // Closed at shutdown with the API port.
    await expect(fetch(`${metricsUrl}/metrics`)).rejects.toThrow();
  });

  it('unset, serves /metrics on the API port as before', async () => {
    const server = await startTestServer('pglite', 'local');
    try {
      expect(server.metricsUrl).toBeUndefined();
      const res = await fetch(`${server.url}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('openpds_http_request_duration_seconds');
    } finally {
      await server.stop();
    }
  });

  it('applies to `openpds worker`', async () => {
    const databaseUrl = await createTestDatabaseUrl();
    await runMigrations({ OPENPDS_DATABASE_URL: databaseUrl });
    const dataDir = mkdtempSync(path.join(tmpdir(), 'openpds-obs-worker-'));
    const [port, metricsPort] = [await freePort(), await freePort()];
    const worker = spawnOpenpds(['worker'], { OPENPDS_DATABASE_URL: databaseUrl, OPENPDS_DATA_DIR: dataDir, OPENPDS_HOST: '127.0.0.1', OPENPDS_PORT: String(port), OPENPDS_METRICS_PORT: String(metricsPort), OPENPDS_LOG_LEVEL: 'warn' });
    try {
      const deadline = Date.now() + 30_000;
      let up = false;
      while (!up && Date.now() < deadline) {
        up = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.ok, () => false);
        if (!up) await new Promise((r) => setTimeout(r, 200));
      }
      expect({ up, output: worker.output() }).toMatchObject({ up: true });
      expect(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()).toContain('openpds_worker_');
      const onMain = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(onMain.status).toBe(404);
      expect(await onMain.json()).toMatchObject({ code: 'NotFound.Route' });
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      expect(await worker.stop()).toBe(0);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
