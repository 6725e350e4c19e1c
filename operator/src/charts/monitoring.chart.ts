/**
 * Prometheus Operator objects: a ServiceMonitor scraping the API server and worker Services, the
 * PrometheusRule with the domain's alerts, and an AlertmanagerConfig routing them to spec.alerts.webhooks.
 * Plain ApiObjects (cdk8s has no types for these CRDs), typed by the prometheus-operator model interfaces
 * (type-only imports of an ESM-only dev package: erased at build, nothing loads it at run time).
 */
import { ApiObject, type Chart } from 'cdk8s';
import type { IAlertmanagerConfig } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1/AlertmanagerConfig' with { 'resolution-mode': 'import' };
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule' with { 'resolution-mode': 'import' };
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor' with { 'resolution-mode': 'import' };
import { domainAlertRules } from './alert-rules';
import { DOMAIN_LABEL, type DomainContext } from './domain-context';

type Body<T> = Omit<T, 'apiVersion' | 'kind' | 'metadata'>;

/**
 * The label every series scraped from a domain's pods carries, valued the Domain's name (DOMAIN_LABEL on
 * its Services). The worker HPA's external metric selects on it, and the prometheus-adapter rule in
 * examples/monitoring/prometheus-adapter-rules.yaml groups by it.
 *
 * It is added here, at scrape time, rather than exported by the data plane: one domain per data plane makes
 * it a constant of the deployment, not of the process, and the usual prometheus-adapter external rule
 * (`<<.LabelMatchers>>` from the HPA's selector, `namespace` mapped to the HPA's namespace) only needs the
 * label on the stored series. A data plane outside Kubernetes then has no label it cannot fill, and there is
 * no `domain` label in /metrics to clash with this one (Prometheus would rename it exported_domain).
 */
export const DOMAIN_METRIC_LABEL = 'domain';

/** How Kubernetes service discovery names a Service label: `__meta_kubernetes_service_label_<sanitized>`. */
export const serviceLabelMeta = (label: string): string => `__meta_kubernetes_service_label_${label.replace(/[^a-zA-Z0-9_]/g, '_')}`;

/** The Prometheus Operator kinds a Domain's chart can render, with the API version each is served at. */
export const MONITORING_KINDS = [
  { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor' },
  { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule' },
  { apiVersion: 'monitoring.coreos.com/v1alpha1', kind: 'AlertmanagerConfig' },
] as const;
export type MonitoringKind = (typeof MONITORING_KINDS)[number]['kind'];

/**
 * Which monitoring kinds to render: all (true, the default), none (false), or those listed: the kinds a
 * cluster serves. A cluster may have some and not others (the ServiceMonitor CRD alone comes with several
 * agents besides the Prometheus Operator), and applying a kind it does not serve fails the whole chart.
 */
export type MonitoringOption = boolean | readonly MonitoringKind[];

export function monitoringKinds(option: MonitoringOption | undefined): ReadonlySet<MonitoringKind> {
  if (option === undefined || option === true) return new Set(MONITORING_KINDS.map((k) => k.kind));
  return new Set(option === false ? [] : option);
}

export function addMonitoring(chart: Chart, ctx: DomainContext, kinds: ReadonlySet<MonitoringKind> = monitoringKinds(true)): void {
  // spec.monitoring.labels first: the operator's own labels (which select and prune) win; the CRD refuses
  // keys in their prefixes anyway.
  const metadata = { name: ctx.names.monitoring, labels: { ...ctx.spec.monitoring.labels, ...ctx.labels('monitoring') } };
  const serviceMonitor: Body<IServiceMonitor> = {
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/instance': ctx.domain.metadata.name, 'openpds.io/metrics': 'true' } },
      endpoints: [
        {
          // The Services' metrics port: /metrics is served there only (OPENPDS_METRICS_PORT, config.chart.ts).
          port: 'metrics',
          path: '/metrics',
          interval: '30s',
          relabelings: [{ action: 'replace', sourceLabels: [serviceLabelMeta(DOMAIN_LABEL)], targetLabel: DOMAIN_METRIC_LABEL }],
        },
      ],
    },
  };
  if (kinds.has('ServiceMonitor')) new ApiObject(chart, 'service-monitor', { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata, ...serviceMonitor });
  const rules: Body<IPrometheusRule> = { spec: { groups: [{ name: `openpds.${ctx.namespace}.${ctx.domain.metadata.name}`, rules: domainAlertRules(ctx) }] } };
  if (kinds.has('PrometheusRule')) new ApiObject(chart, 'prometheus-rule', { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata, ...rules });
  const webhooks = ctx.spec.alerts.webhooks;
  if (webhooks.length === 0 || !kinds.has('AlertmanagerConfig')) return;
  const route: Body<IAlertmanagerConfig> = {
    spec: {
      // Alertmanager scopes an AlertmanagerConfig to its namespace; the domain label narrows it to this domain.
      route: {
        receiver: 'openpds-webhooks',
        matchers: [{ name: 'openpds_domain', value: ctx.domain.metadata.name, matchType: '=' }],
        groupBy: ['alertname'],
      },
      receivers: [
        {
          name: 'openpds-webhooks',
          webhookConfigs: webhooks.map((w) =>
            w.urlSecretRef ? { urlSecret: { name: w.urlSecretRef.name, key: w.urlSecretRef.key ?? 'url' }, sendResolved: true } : { url: w.url, sendResolved: true },
          ),
        },
      ],
    },
  };
  new ApiObject(chart, 'alertmanager-config', { apiVersion: 'monitoring.coreos.com/v1alpha1', kind: 'AlertmanagerConfig', metadata, ...route });
}
