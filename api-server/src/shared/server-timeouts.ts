/**
 * The data plane's HTTP server limits idleness, never duration. Node's requestTimeout (the whole request,
 * body included) stays 0: a 5 GiB part PUT to a local upload URL takes as long as the client's link needs,
 * and any cap on it would cut a slow upload that is still moving. What is cut is a connection on which no
 * byte moves for IDLE_SOCKET_TIMEOUT_MS while the server waits for the client: a body that stopped half-way
 * (Content-Length 100 with 6 bytes sent, a chunked body with no last chunk), headers that never end, a
 * download nobody reads. Those were held open for ever (red team session 14).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export const IDLE_SOCKET_TIMEOUT_MS = 120_000;
/** Longer than common load balancers' idle timeouts (60 s), so they close first and never reuse a closed one. */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
export const HEADERS_TIMEOUT_MS = 60_000;

export function applyServerTimeouts(server: Server, { idleMs = IDLE_SOCKET_TIMEOUT_MS, keepAliveMs = KEEP_ALIVE_TIMEOUT_MS } = {}): void {
  server.keepAliveTimeout = keepAliveMs;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = 0;
  // socket.setTimeout on every connection: fires once idleMs pass with nothing read or written, and is
  // re-armed by any byte, so it only ever catches a stalled connection.
  server.timeout = idleMs;
  const current = new WeakMap<Socket, { req: IncomingMessage; res: ServerResponse }>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    current.set(req.socket, { req, res });
    res.once('close', () => current.get(req.socket)?.res === res && current.delete(req.socket));
  });
  // With a listener here Node no longer destroys a timed-out socket itself; this decides. A request whose
  // body has all arrived and whose answer has not started is the server's own work (a long copy, a query
  // under the statement timeout): cutting it would leave the client without an answer while the work goes
  // on, so it is spared. Everything else (idle keep-alive, the client owing bytes or not reading) is cut.
  server.on('timeout', (socket: Socket) => {
    const open = current.get(socket);
    if (open && open.req.complete && !open.res.headersSent) return;
    socket.destroy();
  });
}
