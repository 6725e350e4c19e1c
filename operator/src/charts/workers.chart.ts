/**
 * The job workers (`openpds worker`): Deployment, a headless Service only for metrics scraping, an HPA on
 * the per-domain external metric openpds_jobs_backlog when enabled, and a PodDisruptionBudget. Not built
 * for storage.volume, where the single API server pod runs jobs in process.
 *
 * Workers roll with Recreate, and each worker pod first runs `openpds migrate`: two versions of the job
 * runner never claim jobs side by side (one from before migration 017 claims without the claim count that
 * fences outcomes, README), and no worker runs jobs on a schema older than its code (`openpds worker` does
 * not migrate; the API server does at its start, which a new worker pod could otherwise beat). Jobs are rows
 * in PostgreSQL: while no worker runs they wait, and a job a stopping worker leaves behind is picked up when
 * its lease runs out. The cost is job latency during a roll: old pods' drain (up to 15 s of running jobs),
 * then scheduling, the image pull and the migration of the new ones.
 */
import type { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-32';
import { METRICS_PORT, type DomainContext } from './domain-context';
import { DOMAIN_METRIC_LABEL } from './monitoring.chart';
import { podTemplate } from './pod';
import { workerAutoscaling } from './replica-handover';

/**
 * The external metric the worker HPA follows; a metrics adapter must serve it from the data plane's metric
 * of the same name (examples/monitoring/prometheus-adapter-rules.yaml does, for prometheus-adapter).
 */
export const BACKLOG_METRIC = 'openpds_jobs_backlog';

export function addWorkers(chart: Chart, ctx: DomainContext, configMap: string): void {
  if (ctx.singlePod) return;
  const { spec, names } = ctx;
  // A stopped data plane stops its workers too: jobs write to the storage and database the O&M engineer
  // stopped the domain to have left alone (a migration, a restore). No HPA, which would scale them back.
  const scaling = workerAutoscaling(ctx);
  const replicas = ctx.stopped ? 0 : spec.workers.replicas;
  new k8s.KubeDeployment(chart, 'worker-deployment', {
    metadata: { name: names.worker, labels: ctx.labels('worker') },
    spec: {
      // The HPA's, once the reconciler handed it over (replica-handover.ts): see api-server.chart.ts.
      ...(!scaling && { replicas }),
      revisionHistoryLimit: 3,
      selector: { matchLabels: ctx.selector('worker') },
      // Every old worker has stopped before a new one starts: no mixed versions claiming jobs (above).
      strategy: { type: 'Recreate' },
      template: podTemplate(ctx, { component: 'worker', args: ['worker'], resources: spec.workers.resources, configMap, migrateFirst: true }),
    },
  });
  // Workers take no traffic; the Service exists so the ServiceMonitor can find their /metrics, its only port.
  new k8s.KubeService(chart, 'worker-metrics-service', {
    metadata: { name: names.workerMetrics, labels: { ...ctx.labels('worker'), 'openpds.io/metrics': 'true' } },
    spec: {
      clusterIp: 'None',
      selector: ctx.selector('worker'),
      ports: [{ name: 'metrics', port: METRICS_PORT, targetPort: k8s.IntOrString.fromString('metrics'), protocol: 'TCP' }],
    },
  });
  if (scaling) {
    new k8s.KubeHorizontalPodAutoscalerV2(chart, 'worker-hpa', {
      metadata: { name: names.worker, labels: ctx.labels('worker') },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: names.worker },
        minReplicas: scaling.minReplicas,
        maxReplicas: scaling.maxReplicas,
        metrics: [
          // Every API and worker pod exports the whole domain's backlog (one query of the shared jobs table),
          // so the adapter must answer with one value per domain (max, never sum, over the pods) or the
          // backlog counts once per pod. The selector's `domain` label is the one the ServiceMonitor adds from
          // the Services' DOMAIN_LABEL. AverageValue then means what targetBacklogPerReplica says: the HPA
          // divides the domain's backlog by it to get the replicas (Value would hold the whole backlog at it).
          {
            type: 'External',
            external: {
              metric: { name: BACKLOG_METRIC, selector: { matchLabels: { namespace: ctx.namespace, [DOMAIN_METRIC_LABEL]: ctx.domain.metadata.name } } },
              target: { type: 'AverageValue', averageValue: k8s.Quantity.fromNumber(scaling.targetBacklogPerReplica) },
            },
          },
        ],
        // Jobs come in bursts (an album upload): scale up at once, down slowly so a lull does not kill busy pods.
        behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
      },
    });
  }
  // Evictions (a node drain) go through the budget, one worker at a time; a Recreate roll does not (the
  // Deployment controller deletes its pods itself), so the budget never holds a roll back.
  const minPods = scaling ? scaling.minReplicas : replicas;
  if (minPods > 1) {
    new k8s.KubePodDisruptionBudget(chart, 'worker-pdb', {
      metadata: { name: names.worker, labels: ctx.labels('worker') },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: ctx.selector('worker') } },
    });
  }
}
