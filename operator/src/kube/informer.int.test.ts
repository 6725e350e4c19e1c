import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoreV1Api, KubeConfig, V1ConfigMap } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { startKubeApiServer, type KubeApiServer } from '../../../test/kube-api/server';
import { createResilientInformer, type InformerEvent, type ResilientInformer } from './informer';

// Against the Kubernetes API test server, which speaks the real list/watch protocol and can expire watch
// history, drop watches and fail requests on demand.
const NS = 'informer-test';
let server: KubeApiServer;
let dir: string;
let kc: KubeConfig;
let core: CoreV1Api;
let makeInformer: typeof import('@kubernetes/client-node', { with: { 'resolution-mode': 'import' } })['makeInformer'];

beforeAll(async () => {
  server = await startKubeApiServer({ bookmarkIntervalMs: 200 });
  dir = await mkdtemp(join(tmpdir(), 'openpds-informer-'));
  await server.writeKubeconfig(join(dir, 'kubeconfig'));
  const k8s = await import('@kubernetes/client-node');
  makeInformer = k8s.makeInformer;
  kc = new k8s.KubeConfig();
  kc.loadFromFile(join(dir, 'kubeconfig'));
  core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
});
afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function eventually(check: () => void, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const configMap = (name: string, value = 'v') => ({ metadata: { name, namespace: NS }, data: { value } });

function startInformer(relistIntervalMs = 0, list = () => core.listNamespacedConfigMap({ namespace: NS })) {
  const events: string[] = [];
  const errors: unknown[] = [];
  const informer: ResilientInformer<V1ConfigMap> = createResilientInformer<V1ConfigMap>({
    makeInformer,
    kubeConfig: kc,
    path: `/api/v1/namespaces/${NS}/configmaps`,
    list,
    onEvent: (event: InformerEvent, o) => events.push(`${event} ${o.metadata?.name}`),
    onError: (error) => errors.push(error),
    baseBackoffMs: 20,
    relistIntervalMs,
  });
  return { informer, events, errors };
}

const listRequests = () => server.hooks.requests().filter((r) => r.method === 'GET' && r.path.endsWith(`/namespaces/${NS}/configmaps`) && !r.query.includes('watch=true')).length;

test('delivers the initial list, then watch events, and survives expired history with a re-list', async () => {
  await core.createNamespacedConfigMap({ namespace: NS, body: configMap('before') });
  const { informer, events, errors } = startInformer();
  await informer.start();
  expect(informer.hasSynced()).toBe(true);
  expect(events).toEqual(['add before']);

  await core.createNamespacedConfigMap({ namespace: NS, body: configMap('during') });
  await core.replaceNamespacedConfigMap({ name: 'during', namespace: NS, body: configMap('during', 'changed') });
  await eventually(() => expect(events).toEqual(['add before', 'add during', 'update during']));

  // Changes made while no watch is open, then a resume that gets 410: only a re-list can see them.
  server.hooks.expireWatchHistory();
  const lists = listRequests();
  expect(server.hooks.dropWatches()).toBeGreaterThan(0);
  await core.deleteNamespacedConfigMap({ name: 'before', namespace: NS });
  await core.createNamespacedConfigMap({ namespace: NS, body: configMap('after-expiry') });
  await eventually(() => expect(events.slice(3).sort()).toEqual(['add after-expiry', 'delete before']));
  expect(listRequests()).toBeGreaterThan(lists);
  expect(informer.get('during', NS)?.data?.value).toBe('changed');
  expect(informer.get('before', NS)).toBeUndefined();
  expect(informer.list(NS).map((o) => o.metadata?.name).sort()).toEqual(['after-expiry', 'during']);
  expect(errors).toEqual([]);
  await informer.stop();
  await core.deleteCollectionNamespacedConfigMap({ namespace: NS });
});

test('restarts with backoff after a failed watch or list instead of stopping for good', async () => {
  const { informer, events, errors } = startInformer();
  server.hooks.failRequests({ status: 500, count: 1 }); // the first list fails
  await informer.start();
  expect(errors).toHaveLength(1);

  server.hooks.failRequests({ status: 500, count: 1 }); // the watch reconnect fails
  server.hooks.dropWatches();
  await eventually(() => expect(errors).toHaveLength(2));
  await core.createNamespacedConfigMap({ namespace: NS, body: configMap('after-500') });
  await eventually(() => expect(events).toEqual(['add after-500']));
  await informer.stop();
  await core.deleteCollectionNamespacedConfigMap({ namespace: NS });
});

test('the watchdog re-lists on its interval without replaying unchanged objects, and stop() ends it', async () => {
  await core.createNamespacedConfigMap({ namespace: NS, body: configMap('steady') });
  const { informer, events, errors } = startInformer(150);
  await informer.start();
  const lists = listRequests();
  await eventually(() => expect(listRequests()).toBeGreaterThanOrEqual(lists + 2));
  await core.createNamespacedConfigMap({ namespace: NS, body: configMap('new') });
  await eventually(() => expect(events).toEqual(['add steady', 'add new']));
  await new Promise((r) => setTimeout(r, 400));
  expect(events).toEqual(['add steady', 'add new']);
  expect(errors).toEqual([]);
  await informer.stop();
  // A re-list the watchdog started just before stop() may still reach the server (counted on arrival);
  // after that, nothing: the watchdog would re-list every 150 ms.
  await new Promise((r) => setTimeout(r, 100));
  const stoppedAt = listRequests();
  await new Promise((r) => setTimeout(r, 400));
  expect(listRequests()).toBe(stoppedAt);
  await eventually(() => expect(server.hooks.openWatches()).toBe(0));
});

test('stop() during a list leaves no watch open (client-node opens one after a list even when stopped)', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { informer } = startInformer(0, async () => {
    const listed = await core.listNamespacedConfigMap({ namespace: NS });
    await gate;
    return listed;
  });
  const started = informer.start();
  await new Promise((r) => setTimeout(r, 100)); // the list is in flight, held at the gate
  await informer.stop();
  await started;
  release();
  await new Promise((r) => setTimeout(r, 300));
  expect(server.hooks.openWatches()).toBe(0);
});

test('stop() while the watch request is being opened leaves no watch open (client-node keeps it only once it answered)', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let held = false;
  // client-node's makeInformer, with the ListWatch's watch request held until the gate opens.
  const gatedMakeInformer: typeof makeInformer = (...args) => {
    const informer = makeInformer(...args);
    const watch = (informer as unknown as { watch: { watch: (...a: unknown[]) => Promise<AbortController> } }).watch;
    const open = watch.watch.bind(watch);
    watch.watch = async (...a: unknown[]) => {
      held = true;
      await gate;
      return open(...a);
    };
    return informer;
  };
  const informer = createResilientInformer<V1ConfigMap>({
    makeInformer: gatedMakeInformer,
    kubeConfig: kc,
    path: `/api/v1/namespaces/${NS}/configmaps`,
    list: () => core.listNamespacedConfigMap({ namespace: NS }),
    onEvent: () => undefined,
    baseBackoffMs: 20,
    relistIntervalMs: 0,
  });
  await informer.start();
  await eventually(() => expect(held).toBe(true)); // listed; the watch request is on its way
  await informer.stop();
  release();
  await new Promise((r) => setTimeout(r, 300));
  expect(server.hooks.openWatches()).toBe(0);
});
