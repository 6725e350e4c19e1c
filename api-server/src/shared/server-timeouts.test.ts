import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rawExchange } from './testing/raw-exchange';
import { applyServerTimeouts } from './server-timeouts';

const IDLE_MS = 300;

describe('server timeouts: idleness is cut, a slow transfer that keeps moving is not', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer();
    applyServerTimeouts(server, { idleMs: IDLE_MS, keepAliveMs: IDLE_MS });
    server.on('request', (req, res) => {
      let bytes = 0;
      req.on('data', (d: Buffer) => (bytes += d.length));
      // /slow: the server's own work takes 3 idle periods after the body has arrived.
      req.on('end', () => setTimeout(() => res.end(JSON.stringify({ bytes })), req.url === '/slow' ? IDLE_MS * 3 : 0));
    });
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it.each([
    ['a body that stopped half-way', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"user'],
    ['a chunked body with no last chunk', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n'],
    ['headers that never end', 'POST / HTTP/1.1\r\nHost: x\r\n'],
  ])('closes a connection on which nothing moves: %s', async (_label, payload) => {
    const r = await rawExchange(port, payload, { waitMs: IDLE_MS * 10 });
    expect(r.closed).toBe(true);
    expect(r.ms).toBeLessThan(IDLE_MS * 5);
  });

  it('keeps a body that trickles in for many idle periods, and answers it', async () => {
    const size = 30;
    const r = await rawExchange(port, `POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${size}\r\n\r\n`, {
      waitMs: 10_000,
      then: (socket) => {
        let sent = 0;
        const tick = setInterval(() => {
          socket.write('x');
          if (++sent === size) clearInterval(tick);
        }, IDLE_MS / 3);
      },
    });
    expect(r).toMatchObject({ status: 200, body: { bytes: size } });
    expect(r.ms).toBeGreaterThan(IDLE_MS * 3);
  });

  it('spares a request whose body has arrived while the server works on the answer', async () => {
    const r = await rawExchange(port, 'POST /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}', { waitMs: 10_000 });
    expect(r).toMatchObject({ status: 200, body: { bytes: 2 } });
  });

  it('still closes an idle keep-alive connection (the timeout listener takes that over from Node)', async () => {
    const r = await rawExchange(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}', { waitMs: IDLE_MS * 10 });
    expect(r).toMatchObject({ status: 200, closed: true });
    expect(r.ms).toBeLessThan(IDLE_MS * 5);
  });
});
