/**
 * /readyz answers within its deadline (OPENPDS_READINESS_TIMEOUT_SECONDS) whatever its dependencies do:
 * a frozen PostgreSQL or a hung S3 is named as `timeout` (it waited > 70 s and 99 s, past the kubelet's
 * 3 s; red team, freeze-db.sh and outage-s3.sh), and a store that refuses the key says so.
 */
import { createTestDatabaseUrl } from '../support/test-db';
import { startTestServer, type TestServer } from '../support/test-server';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

const readyz = async (server: TestServer) => {
  const started = Date.now();
  const res = await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as Record<string, string>, ms: Date.now() - started };
};

describe('/readyz on a frozen PostgreSQL', () => {
  let proxy: TcpProxy;
  let server: TestServer;
  beforeAll(async () => {
    const url = new URL(await createTestDatabaseUrl());
    proxy = await startTcpProxy(new URL(url));
    url.host = `127.0.0.1:${proxy.port}`;
    server = await startTestServer('pglite', 'local', { OPENPDS_DATABASE_URL: url.toString(), OPENPDS_READINESS_TIMEOUT_SECONDS: '1' });
  });
  afterAll(async () => {
    if (proxy) proxy.mode = 'pass';
    await server?.stop();
    await proxy?.close();
  });

  it('answers 503 `database: timeout` within the deadline, logs it once, and is ready again after the thaw', async () => {
    const warn = jest.spyOn(server.deps.logger, 'warn');
    try {
      expect(await readyz(server)).toMatchObject({ status: 200 });
      proxy.mode = 'frozen';
      for (let i = 0; i < 3; i++) {
        const frozen = await readyz(server);
        expect(frozen).toMatchObject({ status: 503, body: { status: 'not ready', database: 'timeout', storage: 'ok', storage_claim: 'ok' } });
        expect(frozen.ms).toBeLessThan(2500);
      }
      expect(warn.mock.calls.filter(([, msg]) => msg === 'readiness: database timeout')).toHaveLength(1);
      proxy.mode = 'pass';
      const deadline = Date.now() + 10_000;
      let after = await readyz(server);
      while (after.status !== 200 && Date.now() < deadline) after = await readyz(server);
      expect(after).toMatchObject({ status: 200, body: { database: 'ok' } });
    } finally {
      warn.mockRestore();
    }
  });
});

const haveS3 = Boolean(process.env.OPENPDS_TEST_S3_ENDPOINT);
(haveS3 ? describe : describe.skip)('/readyz on S3', () => {
  it('answers `storage: timeout` within the deadline while the endpoint hangs', async () => {
    const proxy = await startTcpProxy(new URL(process.env.OPENPDS_TEST_S3_ENDPOINT!));
    const server = await startTestServer('pglite', 's3', { OPENPDS_S3_ENDPOINT: proxy.url, OPENPDS_READINESS_TIMEOUT_SECONDS: '1', OPENPDS_S3_IDLE_TIMEOUT_SECONDS: '3' });
    try {
      expect(await readyz(server)).toMatchObject({ status: 200 });
      proxy.mode = 'silent';
      const hung = await readyz(server);
      expect(hung).toMatchObject({ status: 503, body: { database: 'ok', storage: 'timeout' } });
      expect(hung.ms).toBeLessThan(2500);
    } finally {
      proxy.mode = 'pass';
      await server.stop();
      await proxy.close();
    }
  });

  it('says the store rejected the credentials for a wrong secret key, not that it is unreachable', async () => {
    const server = await startTestServer('pglite', 's3', { OPENPDS_S3_SECRET_ACCESS_KEY: 'not-the-secret-key-not-the-secret-key' });
    try {
      expect(await readyz(server)).toMatchObject({ status: 503, body: { storage: 'credentials rejected' } });
    } finally {
      await server.stop();
    }
  });
});
