/**
 * What the Deployment controller and kubelet would do on a real cluster: the test API server has no
 * controllers for built-in kinds (like envtest), so tests report rollouts through the status subresource.
 */
import type { KubeClient, KubeObject } from '../../../operator/src/kube/kube-client';
import { rolledOutStatus } from '../../kube-api/deployment-rollouts';

type Deployment = KubeObject & { spec?: { replicas?: number } };

/** Marks the Deployment's current generation as rolled out with all replicas available. */
export async function markDeploymentAvailable(client: KubeClient, namespace: string, name: string): Promise<void> {
  const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name };
  const d = await client.get<Deployment>(ref);
  const replicas = d.spec?.replicas ?? 1;
  await client.patch(ref, 'merge', { status: rolledOutStatus(d.metadata?.generation, replicas) }, { subresource: 'status' });
}
