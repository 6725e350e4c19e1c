/**
 * OPENPDS_MAX_CONNECTIONS caps the connections the API server holds (red team, resources: one client held
 * 19,980 half-open connections, the process ran out of open files and /readyz could not be reached). The
 * connection past the cap is closed unanswered (and counted in openpds_connections_dropped_total); once the
 * others close the server answers again. Headers
 * that never end are cut after HEADERS_TIMEOUT_MS (20 s, Node's default 60 s).
 */
import type { Socket } from 'node:net';
import { rawExchange } from '../../api-server/src/shared/testing/raw-exchange';
import { HEADERS_TIMEOUT_MS } from '../../api-server/src/shared/server-timeouts';
import { startTestServer, type TestServer } from '../support/test-server';

describe('connection limit (pglite + local)', () => {
  let server: TestServer;
  let port: number;
  beforeAll(async () => {
    server = await startTestServer('pglite', 'local', { OPENPDS_MAX_CONNECTIONS: '4' });
    port = Number(new URL(server.url).port);
  });
  afterAll(() => server?.stop());
  /** From the registry, not GET /metrics: a fetch's kept-alive connection would count against the four. */
  const dropped = async () => Number((await server.deps.metrics.registry.getSingleMetricAsString('openpds_connections_dropped_total')).split('\n').find((l) => l.startsWith('openpds_connections_dropped_total '))?.split(' ')[1]);

  it('closes the connection past OPENPDS_MAX_CONNECTIONS unanswered, and answers again once the others close', async () => {
    expect([server.server.maxConnections, server.server.headersTimeout]).toEqual([4, HEADERS_TIMEOUT_MS]);
    const sockets: Socket[] = [];
    // Four clients that send half their headers and hold on (as the flood did).
    const held = Array.from({ length: 4 }, () => rawExchange(port, 'GET /readyz HTTP/1.1\r\nHost: x\r\n', { waitMs: 15_000, then: (s) => sockets.push(s) }));
    await new Promise((r) => setTimeout(r, 200));
    // Each one closed unanswered counts in openpds_connections_dropped_total (from 0: alerts take its rate).
    expect(await dropped()).toBe(0);
    for (let i = 0; i < 2; i++) expect(await rawExchange(port, 'GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { waitMs: 3000 })).toMatchObject({ status: 0, closed: true });
    expect(await dropped()).toBe(2);
    for (const s of sockets) s.destroy();
    await Promise.all(held);
    await new Promise((r) => setTimeout(r, 100));
    expect(await rawExchange(port, 'GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { waitMs: 3000 })).toMatchObject({ status: 200 });
  });

  it('derives the limit from the open-file limit by default', async () => {
    const other = await startTestServer('pglite', 'local');
    try {
      expect(other.server.maxConnections).toBeGreaterThan(100);
    } finally {
      await other.stop();
    }
  });
});
