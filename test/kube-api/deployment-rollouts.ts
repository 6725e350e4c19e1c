/**
 * What the Deployment controller and kubelet would report on a real cluster, for a cluster that has
 * neither (this test server, like envtest): every new generation of a Deployment rolled out, all its
 * replicas available. No pod runs; whoever needs one starts the process itself (a data plane on loopback,
 * reached through the operator's --domain-endpoint). Used by bench/operator-domains.ts and by
 * `npm run kube-api -- --roll-out-deployments`.
 */
import { createKubeClient } from '../../operator/src/kube/kube-client';

/** A Deployment's status once `generation` rolled out: every one of its `replicas` updated, ready and available. */
export function rolledOutStatus(generation: number | undefined, replicas: number) {
  return { observedGeneration: generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas };
}

/** Starts reporting rollouts of the Deployments in `namespace` (all namespaces when absent); resolves with a stop function. */
export async function startDeploymentRollouts(kubeconfigFile: string, options: { namespace?: string; userAgent?: string } = {}): Promise<() => Promise<void>> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigFile);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const client = createKubeClient(kc, { userAgent: options.userAgent ?? 'deployment-rollouts' });
  const { namespace } = options;
  const path = namespace ? `/apis/apps/v1/namespaces/${namespace}/deployments` : '/apis/apps/v1/deployments';
  const informer = k8s.makeInformer(kc, path, () => (namespace ? apps.listNamespacedDeployment({ namespace }) : apps.listDeploymentForAllNamespaces()));
  const roll = (d: import('@kubernetes/client-node', { with: { 'resolution-mode': 'import' } }).V1Deployment) => {
    const replicas = d.spec?.replicas ?? 1;
    if (d.status?.observedGeneration === d.metadata?.generation && d.status?.availableReplicas === replicas) return;
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: d.metadata!.namespace!, name: d.metadata!.name! };
    const status = rolledOutStatus(d.metadata?.generation, replicas);
    // The answer (the whole Deployment, managedFields included) is not read: parsing it cost the benchmark
    // ~0.4 s of CPU per 1,000 Domains, charged to the operator's figure.
    void client.patch(ref, 'merge', { status }, { subresource: 'status', discardResponse: true }).catch((e: unknown) => console.error('deployment rollouts:', (e as Error).message));
  };
  informer.on('add', roll);
  informer.on('update', roll);
  // A dropped watch is restarted, but not once stopped: the server closing after stop() ends the watch
  // with an error too, and a restart then would keep the process alive for ever.
  let stopped = false;
  informer.on('error', () => void (stopped || setTimeout(() => void (stopped || informer.start()), 500)));
  await informer.start();
  return async () => {
    stopped = true;
    await informer.stop();
  };
}
