/**
 * A TCP proxy in front of a real service (radosgw), for tests of what a stalled or failing network does:
 * `pass` forwards bytes both ways; `silent` keeps every connection open and accepts new ones but forwards
 * nothing (an endpoint or load balancer that hangs, or a body that stops half-way); `reset` resets every
 * connection, open or new. The mode can change at any moment, mid-response included.
 */
import net from 'node:net';

export type ProxyMode = 'pass' | 'silent' | 'reset';

export interface TcpProxy {
  /** http://127.0.0.1:<port>, to use as the service's endpoint. */
  url: string;
  mode: ProxyMode;
  /** Bytes forwarded from the service to clients so far. */
  bytesDown: number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: URL): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  };
  const server = net.createServer((client) => {
    track(client);
    if (proxy.mode === 'reset') return void client.resetAndDestroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    track(upstream);
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    const forward = (from: net.Socket, to: net.Socket, down: boolean) =>
      from.on('data', (chunk: Buffer) => {
        if (proxy.mode === 'reset') return void client.resetAndDestroy();
        if (proxy.mode !== 'pass') return; // silent: dropped, the connection stays open
        if (down) proxy.bytesDown += chunk.length;
        to.write(chunk);
      });
    forward(client, upstream, false);
    forward(upstream, client, true);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: TcpProxy = {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    mode: 'pass',
    bytesDown: 0,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return proxy;
}
