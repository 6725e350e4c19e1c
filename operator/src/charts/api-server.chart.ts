/**
 * The API server (`openpds serve`): Deployment, Service, Ingress when a host is given, a CPU-based
 * HorizontalPodAutoscaler when enabled and a PodDisruptionBudget when more than one pod runs.
 */
import type { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-32';
import { HTTP_PORT, METRICS_PORT, type DomainContext } from './domain-context';
import { podTemplate } from './pod';
import { apiServerAutoscaling } from './replica-handover';
import { compareCodeUnits } from '../code-unit-order';

export function addApiServer(chart: Chart, ctx: DomainContext, configMap: string): void {
  const { spec, names } = ctx;
  const scaling = apiServerAutoscaling(ctx);
  new k8s.KubeDeployment(chart, 'api-deployment', {
    metadata: { name: names.api, labels: ctx.labels('api-server') },
    spec: {
      // Under an HPA the replica count is the HPA's: leaving it out keeps applies from fighting it. The
      // reconciler first hands the field over (replica-handover.ts), or dropping it would reset it to 1.
      ...(!scaling && { replicas: spec.apiServer.replicas }),
      revisionHistoryLimit: 3,
      selector: { matchLabels: ctx.selector('api-server') },
      // A ReadWriteOnce volume cannot be attached to the old and the new pod at once.
      strategy: ctx.singlePod
        ? { type: 'Recreate' }
        : { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
      template: withSpread(podTemplate(ctx, { component: 'api-server', args: ['serve'], resources: spec.apiServer.resources, configMap }), ctx),
    },
  });
  new k8s.KubeService(chart, 'api-service', {
    metadata: { name: names.api, labels: { ...ctx.labels('api-server'), 'openpds.io/metrics': 'true' } },
    spec: {
      type: 'ClusterIP',
      selector: ctx.selector('api-server'),
      // The Ingress routes to http only; metrics is the ServiceMonitor's.
      ports: [
        { name: 'http', port: HTTP_PORT, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP' },
        { name: 'metrics', port: METRICS_PORT, targetPort: k8s.IntOrString.fromString('metrics'), protocol: 'TCP' },
      ],
    },
  });
  if (spec.ingress) {
    const { host, tlsSecretName, className, annotations } = spec.ingress;
    new k8s.KubeIngress(chart, 'ingress', {
      metadata: { name: names.ingress, labels: ctx.labels('api-server'), ...(annotations && { annotations: sortKeys(annotations) }) },
      spec: {
        ...(className && { ingressClassName: className }),
        ...(tlsSecretName && { tls: [{ hosts: [host], secretName: tlsSecretName }] }),
        rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: names.api, port: { name: 'http' } } } }] } }],
      },
    });
  }
  if (scaling) {
    new k8s.KubeHorizontalPodAutoscalerV2(chart, 'api-hpa', {
      metadata: { name: names.api, labels: ctx.labels('api-server') },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: names.api },
        minReplicas: scaling.minReplicas,
        maxReplicas: scaling.maxReplicas,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: scaling.targetCPUUtilizationPercentage } } }],
      },
    });
  }
  // One pod (a volume, or replicas 1) gets no budget: maxUnavailable 0 would block every node drain.
  const minPods = scaling ? scaling.minReplicas : spec.apiServer.replicas;
  if (!ctx.singlePod && minPods > 1) {
    new k8s.KubePodDisruptionBudget(chart, 'api-pdb', {
      metadata: { name: names.api, labels: ctx.labels('api-server') },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: ctx.selector('api-server') } },
    });
  }
}

/** Spread API server pods over nodes and zones when possible, so one node loss keeps the domain up. */
function withSpread(template: k8s.PodTemplateSpec, ctx: DomainContext): k8s.PodTemplateSpec {
  const labelSelector = { matchLabels: ctx.selector('api-server') };
  return {
    ...template,
    spec: {
      ...template.spec!,
      topologySpreadConstraints: [
        { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector },
        { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector },
      ],
    },
  };
}

export function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => compareCodeUnits(a, b)));
}
