/**
 * A TCP proxy in front of a real service (PostgreSQL, radosgw), for tests of what a stalled or failing
 * network does. Modes, changeable at any moment (mid-response included):
 * - `pass` forwards bytes both ways;
 * - `silent` keeps every connection open and accepts new ones but drops what arrives (an endpoint or load
 *   balancer that hangs, or a body that stops half-way);
 * - `frozen` stops reading either way and holds new connections unanswered, as a SIGSTOPped process does:
 *   back to `pass`, everything held goes through;
 * - `reset` resets every connection, open or new.
 * `port` listens on a given port (a service that comes up where clients already point); by default any.
 */
import net from 'node:net';

export type ProxyMode = 'pass' | 'silent' | 'frozen' | 'reset';

export interface TcpProxy {
  /** http://127.0.0.1:<port>, to use as the service's endpoint. */
  url: string;
  port: number;
  mode: ProxyMode;
  /** Bytes forwarded from the service to clients so far. */
  bytesDown: number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: URL, options: { port?: number } = {}): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let mode: ProxyMode = 'pass';
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    if (mode === 'frozen') s.pause();
  };
  const server = net.createServer((client) => {
    track(client);
    if (mode === 'reset') return void client.resetAndDestroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    track(upstream);
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    const forward = (from: net.Socket, to: net.Socket, down: boolean) =>
      from.on('data', (chunk: Buffer) => {
        if (mode === 'reset') return void client.resetAndDestroy();
        if (mode === 'silent') return; // dropped, the connection stays open
        if (down) proxy.bytesDown += chunk.length;
        to.write(chunk);
      });
    forward(client, upstream, false);
    forward(upstream, client, true);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  const proxy: TcpProxy = {
    url: `http://127.0.0.1:${port}`,
    port,
    get mode() {
      return mode;
    },
    set mode(next: ProxyMode) {
      const was = mode;
      mode = next;
      if (next === 'frozen') sockets.forEach((s) => s.pause());
      else if (was === 'frozen') sockets.forEach((s) => s.resume());
    },
    bytesDown: 0,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return proxy;
}
