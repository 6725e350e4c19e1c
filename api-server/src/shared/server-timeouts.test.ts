import { createServer, type Server } from 'node:http';
import { closeNow, listenOnLoopback, rawExchange } from './testing/raw-exchange';
import { applyServerTimeouts, FALLBACK_MAX_CONNECTIONS, limitConnections, maxConnectionsFor } from './server-timeouts';

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
    port = await listenOnLoopback(server);
  });
  afterAll(async () => {
    await closeNow(server);
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

describe('headers timeout', () => {
  it('cuts headers that trickle in (a byte now and then keeps the idle timeout away) after the headers timeout', async () => {
    const server = createServer({ connectionsCheckingInterval: 100 });
    applyServerTimeouts(server, { idleMs: 10_000, headersMs: 500 });
    server.on('request', (_req, res) => res.end('{}'));
    const headersPort = await listenOnLoopback(server);
    try {
      let tick: NodeJS.Timeout | undefined;
      const r = await rawExchange(headersPort, 'GET / HTTP/1.1\r\nHost: x\r\n', {
        waitMs: 5000,
        then: (socket) => (tick = setInterval(() => socket.write('X-Pad: 1\r\n'), 50)),
      });
      clearInterval(tick);
      expect(r).toMatchObject({ status: 408, closed: true });
      expect(r.ms).toBeGreaterThanOrEqual(450);
      expect(r.ms).toBeLessThan(2000);
    } finally {
      await closeNow(server);
    }
  });
});

describe('connection limit', () => {
  const limits = (soft: string) => () =>
    `Limit                     Soft Limit           Hard Limit           Units     \nMax processes             63704                63704                processes \nMax open files            ${soft}                1048576              files     \n`;

  it('derives the limit from the soft open-file limit, or takes the setting as it is', () => {
    expect(maxConnectionsFor(undefined, limits('20000'))).toBe(16_000 - 256);
    expect(maxConnectionsFor(undefined, limits('1024'))).toBe(819 - 256);
    expect(maxConnectionsFor(undefined, limits('unlimited'))).toBe(FALLBACK_MAX_CONNECTIONS);
    expect(maxConnectionsFor(undefined, () => { throw new Error('ENOENT'); })).toBe(FALLBACK_MAX_CONNECTIONS);
    expect(maxConnectionsFor(7, limits('20000'))).toBe(7);
    expect(maxConnectionsFor(0, limits('20000'))).toBe(0);
  });

  it('closes connections over the limit as they arrive, logs that once a minute, and takes new ones once others close', async () => {
    const server = createServer((_req, res) => res.end('{}'));
    const warnings: Array<Record<string, unknown>> = [];
    limitConnections(server, 3, { warn: ((obj: Record<string, unknown>) => void warnings.push(obj)) as never });
    const port = await listenOnLoopback(server);
    const held: Array<Promise<unknown>> = [];
    const sockets: Array<import('node:net').Socket> = [];
    try {
      for (let i = 0; i < 3; i++) held.push(rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n', { waitMs: 10_000, then: (s) => sockets.push(s) }));
      await new Promise((r) => setTimeout(r, 100));
      for (let i = 0; i < 2; i++) expect(await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { waitMs: 2000 })).toMatchObject({ status: 0, closed: true });
      expect(warnings).toEqual([expect.objectContaining({ dropped: 1, max_connections: 3 })]);
      for (const s of sockets) s.destroy();
      await Promise.all(held);
      await new Promise((r) => setTimeout(r, 50));
      expect(await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatchObject({ status: 200 });
    } finally {
      await closeNow(server);
    }
  });
});
