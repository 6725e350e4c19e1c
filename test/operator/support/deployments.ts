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

export type ConfigMap = KubeObject & { data: Record<string, string>; immutable?: boolean };

/**
 * The ConfigMap a Deployment's pods read (envFrom): the chart names it by its content
 * (`<domain>-config-<hash>`), so a test finds it through the Deployment, as a pod does.
 */
export async function podConfigMap(client: KubeClient, namespace: string, deployment: string): Promise<ConfigMap> {
  const d = await client.get<KubeObject & { spec: { template: { spec: { containers: { envFrom?: { configMapRef?: { name?: string } }[] }[] } } } }>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: deployment });
  const name = d.spec.template.spec.containers[0]?.envFrom?.[0]?.configMapRef?.name;
  if (!name) throw new Error(`Deployment ${namespace}/${deployment} reads no ConfigMap`);
  return client.get<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name });
}

/** The Domain's settings ConfigMaps as they are, sorted by name. */
export async function domainConfigMaps(client: KubeClient, namespace: string, domain: string): Promise<ConfigMap[]> {
  const list = await client.list<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace }, { labelSelector: `openpds.io/domain=${domain},app.kubernetes.io/component=config` });
  return list.items.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}
