import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoreV1Api, KubeConfig, KubernetesObject } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { startKubeApiServer, type KubeApiServer } from '../../../test/kube-api/server';
import { createController, type Controller } from './controller';

// A `primary` secondary watch (the Drive conflict index) rides on the controller's own informer: it sees
// every add, update (with the object before) and delete, and no second watch of the kind is opened.
const NS = 'controller-test';
let server: KubeApiServer;
let dir: string;
let kc: KubeConfig;
let core: CoreV1Api;
let k8s: typeof import('@kubernetes/client-node', { with: { 'resolution-mode': 'import' } });

beforeAll(async () => {
  server = await startKubeApiServer();
  dir = await mkdtemp(join(tmpdir(), 'openpds-controller-'));
  await server.writeKubeconfig(join(dir, 'kubeconfig'));
  k8s = await import('@kubernetes/client-node');
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

it('feeds a primary watch from its own informer, with the previous object, and wakes the keys it names', async () => {
  const seen: string[] = [];
  const reconciled: string[] = [];
  const valueOf = (o: KubernetesObject | undefined) => (o as { data?: { value?: string } } | undefined)?.data?.value;
  const controller: Controller<KubernetesObject> = createController({
    kind: 'ConfigMap',
    kubeConfig: kc,
    makeInformer: k8s.makeInformer as never,
    path: `/api/v1/namespaces/${NS}/configmaps`,
    list: () => core.listNamespacedConfigMap({ namespace: NS }) as never,
    reconcile: async ({ name }) => void reconciled.push(name),
    resyncIntervalMs: 3_600_000,
    secondary: [
      {
        primary: true,
        // A change to "a" wakes "b" too, as a Drive's identity change wakes the Drives sharing it.
        ownerKeys(object, event, previous) {
          seen.push(`${event} ${object.metadata!.name} ${valueOf(previous) ?? '-'}→${valueOf(object)}`);
          return object.metadata!.name === 'a' ? [`${NS}/b`] : [];
        },
      },
    ],
  });
  const watchesBefore = server.hooks.openWatches();
  await controller.start();
  try {
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'b' }, data: { value: '1' } } });
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'a' }, data: { value: '1' } } });
    await eventually(() => expect(seen).toContain('add a -→1'));
    expect(server.hooks.openWatches() - watchesBefore).toBe(1);
    expect(controller.secondaries[0]).toBe(controller.informer);

    reconciled.length = 0;
    await core.patchNamespacedConfigMap({ namespace: NS, name: 'a', body: { data: { value: '2' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await eventually(() => expect(seen).toContain('update a 1→2'));
    await eventually(() => expect(reconciled).toContain('b'));
    await core.deleteNamespacedConfigMap({ namespace: NS, name: 'a' });
    await eventually(() => expect(seen.some((s) => s.startsWith('delete a'))).toBe(true));
  } finally {
    await controller.stop();
  }
});

// client-go's WaitForCacheSync: the rollout budget reads the Deployment cache to count Domains rolling,
// and an operator restarted mid-upgrade reconciled every Domain before that cache had listed anything
// (nothing rolling, so every Domain rolled at once). No reconcile runs before every cache has synced.
it('runs no reconcile before every secondary cache has synced', async () => {
  await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'synced-first' } } });
  const seenSynced: boolean[] = [];
  let listed = false;
  const controller: Controller<KubernetesObject> = createController({
    kind: 'ConfigMap',
    kubeConfig: kc,
    makeInformer: k8s.makeInformer as never,
    path: `/api/v1/namespaces/${NS}/configmaps`,
    list: () => core.listNamespacedConfigMap({ namespace: NS }) as never,
    reconcile: async () => void seenSynced.push(listed && controller.secondaries[0]!.hasSynced()),
    resyncIntervalMs: 3_600_000,
    secondary: [
      {
        path: `/api/v1/namespaces/${NS}/secrets`,
        // The secondary's list lands well after the primary's (a slow or retried list).
        list: async () => {
          await new Promise((r) => setTimeout(r, 300));
          const list = await core.listNamespacedSecret({ namespace: NS });
          listed = true;
          return list as never;
        },
        ownerKeys: () => [],
      },
    ],
  });
  await controller.start();
  try {
    await eventually(() => expect(seenSynced.length).toBeGreaterThan(0));
    expect(seenSynced.every(Boolean)).toBe(true);
  } finally {
    await controller.stop();
  }
});
