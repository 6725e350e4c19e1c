/**
 * buildDomainChart: the desired Kubernetes objects of one Domain, pure and deterministic (no clock, no
 * randomness, fixed order), so applying it twice is a no-op and Argo CD sees no drift.
 *
 * Every object gets the Domain's generation in GENERATION_LABEL: after applying, the reconciler deletes
 * objects with the domain label and an older generation (a disabled Ingress or HPA). Every object but
 * those annotated openpds.io/retain-on-delete (the data volume's claim and the admin Secret, whose
 * credentials the kept data answers to) is owned by the Domain, so deleting the Domain cleans up.
 *
 * Every Deployment records a hash of its pod template in TEMPLATE_HASH_ANNOTATION (on its metadata: the
 * template itself must not change for it). With GENERATION_LABEL it tells the reconciler, from the watch
 * cache alone, whether applying would restart pods the Domain's own spec did not ask to restart (a newer
 * operator's chart), which the rollout budget (reconcilers/domain-rollouts.ts) spreads over time. While a
 * storage-claim takeover is pending, each Deployment also carries that annotation (storage-claim.ts), so
 * the budget tells the takeover and its roll back, O&M's acts, from an operator upgrade.
 */
import { createHash } from 'node:crypto';
import { App, Chart } from 'cdk8s';
import type { Domain } from '../domain-types';
import { addApiServer } from './api-server.chart';
import { addConfig, type BootstrapCredentials } from './config.chart';
import { createDomainContext, GENERATION_LABEL, type DomainContext } from './domain-context';
import { addMonitoring, monitoringKinds, type MonitoringOption } from './monitoring.chart';
import { addNetworkPolicies } from './network-policy.chart';
import { secretEnvVars } from './pod';
import { storageClaimDeploymentAnnotations } from './storage-claim';
import { addWorkers } from './workers.chart';
import { compareCodeUnits } from '../code-unit-order';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
  };
  [field: string]: unknown;
}

export interface DomainChartOptions {
  bootstrap: BootstrapCredentials;
  /** Render the Prometheus Operator kinds: all (default), none, or the ones the cluster serves. */
  monitoring?: MonitoringOption;
  /**
   * Extra annotations on every pod template. A test hook: it stands in for a newer operator whose chart
   * changes the pod template (a new annotation, env or probe) without a second copy of the operator.
   */
  podAnnotations?: Record<string, string>;
  /** Extra ConfigMap variables: a test hook like podAnnotations, for a newer operator that adds a setting. */
  configEnv?: Record<string, string>;
}

/** On each Deployment's metadata: a hash of the pod template the chart rendered (templateHash). */
export const TEMPLATE_HASH_ANNOTATION = 'openpds.io/template-hash';

/** A short stable hash of a pod template: sha256 of its JSON with sorted keys, 16 hex digits. */
export function templateHash(template: unknown): string {
  return createHash('sha256').update(JSON.stringify(sortObject(template))).digest('hex').slice(0, 16);
}

/** Apply order: what others reference first (config before pods, Deployments before their HPA). */
const KIND_ORDER = [
  'ConfigMap',
  'Secret',
  'PersistentVolumeClaim',
  'Service',
  'Deployment',
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
  'NetworkPolicy',
  'Ingress',
  'ServiceMonitor',
  'PrometheusRule',
  'AlertmanagerConfig',
];

export function buildDomainChart(domain: Domain, options: DomainChartOptions): Manifest[] {
  const ctx = createDomainContext(domain);
  const app = new App();
  // Names are chosen by the builders, so cdk8s must not append its hashes.
  const chart = new Chart(app, domain.metadata.name, { namespace: ctx.namespace, disableResourceNameHashes: true });
  const configMap = addConfig(chart, ctx, options.bootstrap, options.configEnv);
  addApiServer(chart, ctx, configMap);
  addWorkers(chart, ctx, configMap);
  addNetworkPolicies(chart, ctx);
  addMonitoring(chart, ctx, monitoringKinds(options.monitoring));

  const generation = String(domain.metadata.generation ?? 0);
  const manifests = (chart.toJson() as Manifest[]).map((m) => {
    m.metadata.labels = { ...m.metadata.labels, [GENERATION_LABEL]: generation };
    if (m.kind === 'Deployment') {
      const template = (m.spec as { template: { metadata?: { annotations?: Record<string, string> } } }).template;
      if (options.podAnnotations) template.metadata = { ...template.metadata, annotations: { ...template.metadata?.annotations, ...options.podAnnotations } };
      m.metadata.annotations = { ...m.metadata.annotations, [TEMPLATE_HASH_ANNOTATION]: templateHash(template), ...storageClaimDeploymentAnnotations(domain) };
    }
    const retained = m.metadata.annotations?.['openpds.io/retain-on-delete'] === 'true';
    if (ctx.ownerReferences && !retained) m.metadata.ownerReferences = ctx.ownerReferences;
    return sortObject(m) as Manifest;
  });
  return manifests.sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || compareCodeUnits(a.metadata.name, b.metadata.name));
}

export interface SecretKeyUse {
  secret: string;
  key: string;
  /** What reads the key: an environment variable of the pods, or an Alertmanager webhook. */
  readBy: string;
}

/**
 * Every Secret key the data plane's objects read, but the operator's own admin Secret: the pods'
 * secretKeyRef env (from pod.ts, which mounts them; that includes CloudNativePG's `<cluster>-app` Secret)
 * and, when the chart renders the AlertmanagerConfig (options.monitoring names it, as buildDomainChart takes it),
 * the alert webhooks' URLs. A missing Secret or key keeps pods from starting
 * (CreateContainerConfigError), so the reconciler checks them before applying. Without the Prometheus
 * Operator no webhook is rendered and nothing reads their Secrets: requiring them then held the whole
 * data plane at MissingSecret for an alert route that does not exist. domain.chart.test.ts checks this
 * list against every secretKeyRef in the built manifests, with and without monitoring. Sorted by Secret,
 * then key.
 */
export function referencedSecretKeys(ctx: DomainContext, options: Pick<DomainChartOptions, 'monitoring'> = {}): SecretKeyUse[] {
  const uses: SecretKeyUse[] = [];
  for (const env of secretEnvVars(ctx)) {
    const ref = env.valueFrom?.secretKeyRef;
    // An empty name is a reference too (to no Secret): skipped, it reached the pods unchecked and the
    // Deployment failed to apply; kept, the Secret check refuses it before anything is applied.
    if (ref && ref.name !== ctx.names.adminSecret) uses.push({ secret: ref.name ?? '', key: ref.key, readBy: env.name });
  }
  if (!monitoringKinds(options.monitoring).has('AlertmanagerConfig')) return sorted(uses);
  for (const w of ctx.spec.alerts.webhooks) if (w.urlSecretRef) uses.push({ secret: w.urlSecretRef.name, key: w.urlSecretRef.key ?? 'url', readBy: `alert webhook ${w.name}` });
  return sorted(uses);
}

const sorted = (uses: SecretKeyUse[]): SecretKeyUse[] => uses.sort((a, b) => compareCodeUnits(a.secret, b.secret) || compareCodeUnits(a.key, b.key));

/**
 * Object keys in sorted order at every depth (arrays keep their order: it means something there). A plain
 * loop: this ran for every manifest of every Domain and was the chart's largest cost after cdk8s itself.
 */
function sortObject(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortObject);
  if (value && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    // The default sort compares UTF-16 code units, the same order as `<` on strings.
    for (const key of Object.keys(value).sort()) sorted[key] = sortObject((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}
