/**
 * NetworkPolicies for the domain's pods: the API server takes HTTP from anywhere (ingress controllers,
 * other namespaces' apps, Prometheus); workers only metrics scrapes on the same port. Egress stays open:
 * S3, PostgreSQL, OpenID providers and webhooks live at addresses the operator cannot know.
 */
import type { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-32';
import { HTTP_PORT, type DomainContext } from './domain-context';

export function addNetworkPolicies(chart: Chart, ctx: DomainContext): void {
  const port = [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(HTTP_PORT) }];
  new k8s.KubeNetworkPolicy(chart, 'api-netpol', {
    metadata: { name: ctx.names.api, labels: ctx.labels('api-server') },
    spec: { podSelector: { matchLabels: ctx.selector('api-server') }, policyTypes: ['Ingress'], ingress: [{ ports: port }] },
  });
  if (ctx.singlePod) return;
  new k8s.KubeNetworkPolicy(chart, 'worker-netpol', {
    metadata: { name: ctx.names.worker, labels: ctx.labels('worker') },
    spec: { podSelector: { matchLabels: ctx.selector('worker') }, policyTypes: ['Ingress'], ingress: [{ ports: port }] },
  });
}
