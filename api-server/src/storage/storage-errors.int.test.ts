import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer } from '../main';
import { startTestServer, testServerEnv } from '../../../test/support/test-server';

const line = (operation: string) => new RegExp(`^openpds_storage_errors_total\\{operation="${operation}",store="local"\\} (\\d+)$`, 'm');
const count = (metrics: string, operation: string) => Number(line(operation).exec(metrics)?.[1]);

describe('the data plane exports openpds_storage_errors_total', () => {
  it('counts a blob volume that cannot be used, on /metrics', async () => {
    const { env, dataDir } = await testServerEnv('pglite', 'local');
    // The blobs directory is a file: the store can neither create its directories nor write.
    writeFileSync(path.join(dataDir, 'blobs'), 'not a directory');
    const server = await startServer(env);
    try {
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ storage: expect.stringMatching(/^unreachable/) });
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(count(metrics, 'ping')).toBe(1);
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('leaves it at 0 for a HEAD of a missing key and a reachable store', async () => {
    const server = await startTestServer('pglite', 'local');
    try {
      expect(await server.deps.store.head('blobs/never-written')).toBeNull();
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(count(metrics, 'head')).toBe(0);
      expect(count(metrics, 'ping')).toBe(0);
    } finally {
      await server.stop();
    }
  });
});
