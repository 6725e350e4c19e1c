// `npm run kube-api -- --roll-out-deployments` and the operator benchmark rely on this stand-in for the
// Deployment controller: each generation is reported rolled out, with every replica available.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createKubeClient, type KubeClient, type KubeObject } from '../../operator/src/kube/kube-client';
import { eventually } from './contract/target';
import { startDeploymentRollouts } from './deployment-rollouts';
import { startKubeApiServer, type KubeApiServer } from './server';

let server: KubeApiServer;
let client: KubeClient;
let stop: () => Promise<void>;
const dir = mkdtempSync(path.join(tmpdir(), 'openpds-rollouts-'));

beforeAll(async () => {
  server = await startKubeApiServer();
  const kubeconfig = path.join(dir, 'kubeconfig');
  await server.writeKubeconfig(kubeconfig);
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  client = createKubeClient(kc, { userAgent: 'rollouts-test' });
  stop = await startDeploymentRollouts(kubeconfig);
});

afterAll(async () => {
  await stop();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

type Deployment = KubeObject & { status?: { observedGeneration?: number; availableReplicas?: number; updatedReplicas?: number } };

const deployment = (namespace: string, replicas: number, image: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image }] } } },
});

test('every generation of a Deployment, in any namespace, is reported rolled out with all replicas available', async () => {
  for (const ns of ['default', 'other']) await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }).catch(() => undefined);
  await client.create(deployment('default', 2, 'nginx:1'));
  await client.create(deployment('other', 1, 'nginx:1'));
  const ref = (namespace: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: 'web' });
  await eventually(async () => expect((await client.get<Deployment>(ref('default'))).status).toMatchObject({ observedGeneration: 1, availableReplicas: 2, updatedReplicas: 2 }));
  await eventually(async () => expect((await client.get<Deployment>(ref('other'))).status).toMatchObject({ observedGeneration: 1, availableReplicas: 1 }));

  await client.patch(ref('default'), 'merge', { spec: { replicas: 3, template: { spec: { containers: [{ name: 'web', image: 'nginx:2' }] } } } });
  await eventually(async () => expect((await client.get<Deployment>(ref('default'))).status).toMatchObject({ observedGeneration: 2, availableReplicas: 3 }));
});
