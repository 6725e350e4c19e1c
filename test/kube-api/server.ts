import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { builtinResourceTypes } from './builtin-types';
import { createControllers } from './controllers';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from './discovery';
import { createHooks, type KubeApiHooks } from './hooks';
import { sendError, sendJson } from './http-io';
import { writeKubeconfig } from './kubeconfig';
import { createObjectService } from './object-service';
import { groupVersionDocument, openApiRoot } from './openapi';
import { createRegistry } from './registry';
import { handleResource } from './resource-handler';
import { parseRoute } from './routes';
import { pathNotFound } from './status';
import { createStore } from './store';
import { createWatchHub } from './watch-hub';

// The composition root of the Kubernetes API test server: an in-process HTTP server on 127.0.0.1 speaking
// enough of the real REST and watch protocol for kubectl and @kubernetes/client-node (see README.md here).
export interface KubeApiServerOptions {
  /** 0 or absent: a random free port. */
  port?: number;
  /** Watch events kept for resuming watches; older resumes get 410 Expired. */
  historySize?: number;
  /** Interval of BOOKMARK events on watches that allow them (the apiserver uses about a minute). */
  bookmarkIntervalMs?: number;
  /** Controller failures (lost races) are retried on the next change; pass a logger to see them. */
  onControllerError?(error: unknown): void;
}

export interface KubeApiServer {
  url: string;
  port: number;
  /** Set once writeKubeconfig has written a file. */
  kubeconfigPath?: string;
  writeKubeconfig(file: string): Promise<void>;
  hooks: KubeApiHooks;
  close(): Promise<void>;
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const hub = createWatchHub(options.historySize ?? 1000);
  const store = createStore(hub);
  const registry = createRegistry();
  registry.register(builtinResourceTypes());
  const hooks = createHooks(hub, store);
  // The object service and the controllers need each other (writes trigger controllers, controllers
  // write); the late-bound reference is resolved before the first request.
  let controllers: ReturnType<typeof createControllers> | undefined;
  const objects = createObjectService({
    store,
    now,
    changed: () => {
      controllers?.syncCrdTypes();
      controllers?.schedule();
    },
    isTerminating: (storageKey) => controllers?.isTerminating(storageKey) ?? false,
  });
  controllers = createControllers({ store, registry, objects, now, ...(options.onControllerError ? { onError: options.onControllerError } : {}) });
  const nsType = registry.find('', 'v1', 'namespaces')!;
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    objects.create({ type: nsType, dryRun: false, fieldManager: 'kube-apiserver', fieldValidation: 'Ignore', warnings: [] }, { metadata: { name } });
  }
  const deps = { store, hub, objects, bookmarkIntervalMs: options.bookmarkIntervalMs ?? 5000 };
  let serverAddress = '';

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = parseRoute(url.pathname, registry);
    const injected = hooks.record(
      { method: req.method ?? 'GET', path: url.pathname, query: url.search, ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}), ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}) },
      route.kind === 'resource',
    );
    if (injected) throw injected;
    switch (route.kind) {
      case 'version':
        return sendJson(res, 200, SERVER_VERSION);
      case 'health':
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
        return;
      case 'api':
        return sendJson(res, 200, apiVersions(serverAddress));
      case 'apis':
        return sendJson(res, 200, apiGroupList(registry));
      case 'group': {
        const group = apiGroup(registry, route.group);
        if (!group) throw pathNotFound();
        return sendJson(res, 200, group);
      }
      case 'resource-list': {
        const list = apiResourceList(registry, route.group, route.version);
        if (!list) throw pathNotFound();
        return sendJson(res, 200, list);
      }
      case 'openapi-root':
        return sendJson(res, 200, openApiRoot(registry));
      case 'openapi': {
        const doc = groupVersionDocument(registry, route.group, route.version);
        if (!doc) throw pathNotFound();
        return sendJson(res, 200, doc);
      }
      case 'resource':
        return handleResource(deps, route, req, res, url.searchParams);
      case 'not-found':
        throw pathNotFound();
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendError(res, error));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  serverAddress = `127.0.0.1:${port}`;
  const url = `http://${serverAddress}`;
  const api: KubeApiServer = {
    url,
    port,
    hooks,
    async writeKubeconfig(file) {
      await writeKubeconfig(file, url);
      api.kubeconfigPath = file;
    },
    async close() {
      hub.closeAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return api;
}
