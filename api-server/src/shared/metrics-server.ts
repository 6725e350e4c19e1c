/**
 * /metrics on a port of its own (OPENPDS_METRICS_PORT). On the API port it was public: the chart's Ingress
 * routes `/` to that port, so anyone on the internet could read the metrics (per-route traffic, the
 * rapid-upload counters that told whether a file existed elsewhere; red team, rapid-oracle.mjs). A port
 * of its own is reached only inside the cluster, by Prometheus; the API port then answers /metrics as any
 * unknown route. Unset, /metrics stays on the API port: the embedded quick start has no Ingress and one port.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { applyServerTimeouts } from './server-timeouts';

export const METRICS_PATH = '/metrics';

export interface MetricsServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

const pathOf = (req: IncomingMessage) => (req.url ?? '').split('?')[0];

function sendNotFound(req: IncomingMessage, res: ServerResponse) {
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ code: 'NotFound.Route', message: `no route ${req.method} ${pathOf(req)!.slice(0, 200)}` }));
}

/** Serves the registry's text at GET /metrics. */
export function registryMetricsHandler(registry: Registry): RequestListener {
  return (_req, res) =>
    void registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      },
      () => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'InternalError', message: 'metrics could not be collected' }));
      },
    );
}

/** Listens on port (0: any free one) at host and hands /metrics requests to `handler`; any other path is a 404. */
export async function startMetricsServer({ port, host, handler }: { port: number; host: string; handler: RequestListener }): Promise<MetricsServer> {
  const server = createServer((req, res) => (pathOf(req) === METRICS_PATH ? handler(req, res) : sendNotFound(req, res)));
  applyServerTimeouts(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A scrape in progress is cut: nothing is lost but one sample.
      server.closeAllConnections();
      await closed;
    },
  };
}
