/**
 * The data plane's HTTP server limits idleness, never duration. Node's requestTimeout (the whole request,
 * body included) stays 0: a 5 GiB part PUT to a local upload URL takes as long as the client's link needs,
 * and any cap on it would cut a slow upload that is still moving. What is cut is a connection on which no
 * byte moves for IDLE_SOCKET_TIMEOUT_MS while the server waits for the client: a body that stopped half-way
 * (Content-Length 100 with 6 bytes sent, a chunked body with no last chunk), headers that never end, a
 * download nobody reads. Those were held open for ever (red team session 14).
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';

export const IDLE_SOCKET_TIMEOUT_MS = 120_000;
/** Longer than common load balancers' idle timeouts (60 s), so they close first and never reuse a closed one. */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/**
 * From a request's first byte to the end of its headers (Node's default is 60 s). Headers are a few kB:
 * even a 2G phone link sends them in about a second, so 20 s leaves a stalling mobile client room, while
 * a client that trickles headers to hold connections open loses each within 20–25 s (it was ~86 s: 60 s
 * plus Node's 30 s check interval, red team, resources). A request's body is not counted (json-body.ts
 * and the idle timeout below bound it). Idle keep-alive time is not either: the clock starts at a byte.
 */
export const HEADERS_TIMEOUT_MS = 20_000;
/** How often Node looks for connections past HEADERS_TIMEOUT_MS (default 30 s); a pass over them is cheap. */
export const CONNECTIONS_CHECK_INTERVAL_MS = 5_000;

/** For http.createServer: options that can only be given there. */
export const HTTP_SERVER_OPTIONS: ServerOptions = { connectionsCheckingInterval: CONNECTIONS_CHECK_INTERVAL_MS };

export function applyServerTimeouts(server: Server, { idleMs = IDLE_SOCKET_TIMEOUT_MS, keepAliveMs = KEEP_ALIVE_TIMEOUT_MS, headersMs = HEADERS_TIMEOUT_MS } = {}): void {
  server.keepAliveTimeout = keepAliveMs;
  server.headersTimeout = headersMs;
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

/** Where the open-file limit cannot be read (not Linux) or is unlimited. */
export const FALLBACK_MAX_CONNECTIONS = 4096;
/** Open files kept back beyond the 20%: an idle PGlite server already holds ~260 (240 of them database files), more with downloads and outgoing sockets. */
const FILE_RESERVE = 256;

/**
 * OPENPDS_MAX_CONNECTIONS as a number (undefined: `auto`): 80% of the soft RLIMIT_NOFILE less
 * FILE_RESERVE. Node raises the soft limit to the hard one as it starts, so /proc/self/limits shows what
 * the process can really open. `readLimits` is for tests.
 */
export function maxConnectionsFor(setting: number | undefined, readLimits: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number {
  if (setting !== undefined) return setting;
  let soft: number | undefined;
  try {
    const m = /^Max open files\s+(\d+)\s/m.exec(readLimits());
    soft = m ? Number(m[1]) : undefined;
  } catch {
    soft = undefined;
  }
  if (!soft) return FALLBACK_MAX_CONNECTIONS;
  return Math.max(16, Math.floor(soft * 0.8) - FILE_RESERVE);
}

/** How often, at most, connections closed for the limit are logged (a flood would log each). */
const DROP_LOG_INTERVAL_MS = 60_000;

/**
 * Caps the connections `server` holds (0: none). Node then closes each one past the cap as soon as it is
 * accepted (net.Server `maxConnections`: the client sees the connection reset, no answer) and emits
 * 'drop'; each is counted in `dropped` (openpds_connections_dropped_total), and the count logged at most
 * once a minute. Without a cap, one client opened 19,980 half-open connections and the process ran out of
 * open files: /readyz could not even be connected to, PGlite and the local store could open no file (red
 * team, resources). With it, the server itself keeps working,
 * though new clients are refused while the flood lasts; headers are cut after HEADERS_TIMEOUT_MS.
 */
export function limitConnections(
  server: Server,
  max: number,
  logger: Pick<Logger, 'warn'>,
  { now = Date.now, dropped }: { now?: () => number; dropped?: { inc(): void } } = {},
): void {
  server.maxConnections = max;
  if (!max) return;
  let lastLog = -Infinity;
  let droppedSinceLog = 0;
  server.on('drop', (data?: { remoteAddress?: string }) => {
    // Every drop counted (openpds_connections_dropped_total); the log line only sums them up.
    dropped?.inc();
    droppedSinceLog++;
    if (now() - lastLog < DROP_LOG_INTERVAL_MS) return;
    lastLog = now();
    logger.warn(
      { dropped: droppedSinceLog, max_connections: max, last_remote_address: data?.remoteAddress },
      `connections over OPENPDS_MAX_CONNECTIONS (${max}) are being closed as they arrive: a client holding many, or too low a limit`,
    );
    droppedSinceLog = 0;
  });
}
