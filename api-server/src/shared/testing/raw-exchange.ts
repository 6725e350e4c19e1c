/** For tests: one raw HTTP/1.1 exchange over a socket, for requests fetch cannot make (a body that stops). */
import type { Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';

/** Listens on a free loopback port; answers the port. */
export async function listenOnLoopback(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return (server.address() as AddressInfo).port;
}

/** Closes the server and every connection still open on it (a test's idle or half-sent ones included). */
export async function closeNow(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}

/** What a raw HTTP/1.1 exchange got: the status, the JSON body, whether the server closed, how soon. */
export async function rawExchange(port: number, payload: string | Buffer, { waitMs = 5000, then }: { waitMs?: number; then?: (s: net.Socket) => void } = {}) {
  return new Promise<{ status: number; body: Record<string, unknown> | undefined; closed: boolean; ms: number }>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const started = Date.now();
    let data = '';
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      const text = data.slice(data.indexOf('\r\n\r\n') + 4);
      let body: Record<string, unknown> | undefined;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      resolve({ status, body, closed, ms: Date.now() - started });
    };
    const timer = setTimeout(() => done(false), waitMs);
    socket.on('data', (d) => (data += d));
    socket.on('error', () => {});
    socket.on('close', () => done(true));
    socket.write(payload, () => then?.(socket));
  });
}
