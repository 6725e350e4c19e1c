/**
 * NetworkPolicies for the domain's pods: the API server takes HTTP from anywhere (ingress controllers,
 * other namespaces' apps); both take metrics scrapes on the metrics port from pods of the cluster only.
 * Prometheus scrapes pod addresses from a pod of its own, in a namespace the operator cannot know (the chart
 * allowed the scrapes from anywhere before), so any namespace's pods may; addresses outside the cluster
 * (load balancers, node ports, the internet through a misrouted Service) may not. Kubelet probes need no
 * rule: traffic from the pod's own node is always allowed, so the workers' http port is closed.
 * Egress stays open: S3, PostgreSQL, OpenID providers and webhooks live at addresses the operator cannot know.
 */
import type { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-32';
import { HTTP_PORT, METRICS_PORT, type DomainContext } from './domain-context';

const tcp = (port: number) => [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) }];

export function addNetworkPolicies(chart: Chart, ctx: DomainContext): void {
  const scrapes: k8s.NetworkPolicyIngressRule = { from: [{ namespaceSelector: {} }], ports: tcp(METRICS_PORT) };
  new k8s.KubeNetworkPolicy(chart, 'api-netpol', {
    metadata: { name: ctx.names.api, labels: ctx.labels('api-server') },
    spec: { podSelector: { matchLabels: ctx.selector('api-server') }, policyTypes: ['Ingress'], ingress: [{ ports: tcp(HTTP_PORT) }, scrapes] },
  });
  if (ctx.singlePod) return;
  new k8s.KubeNetworkPolicy(chart, 'worker-netpol', {
    metadata: { name: ctx.names.worker, labels: ctx.labels('worker') },
    spec: { podSelector: { matchLabels: ctx.selector('worker') }, policyTypes: ['Ingress'], ingress: [scrapes] },
  });
}
