/**
 * The domain's Prometheus alerts. Series names are a contract with the data plane's /metrics
 * (api-server/src/shared/metrics.ts) and kube-state-metrics; each rule is scoped to this domain by the
 * namespace and the job label the ServiceMonitor gives its targets (the Service name).
 */
import type { DomainContext } from './domain-context';

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export function domainAlertRules(ctx: DomainContext): AlertRule[] {
  const ns = ctx.namespace;
  const api = `namespace="${ns}",job="${ctx.names.api}"`;
  const jobs = `namespace="${ns}",job=~"${ctx.names.api}|${ctx.names.workerMetrics}"`;
  const domain = ctx.domain.metadata.name;
  const rule = (alert: string, severity: string, expr: string, forDuration: string, summary: string): AlertRule => ({
    alert,
    expr,
    for: forDuration,
    labels: { severity, openpds_domain: domain },
    annotations: { summary, description: `${summary} (Domain ${ns}/${domain}).` },
  });
  return [
    rule(
      'OpenPDSApiErrorRateHigh',
      'critical',
      `sum(rate(openpds_http_request_duration_seconds_count{${api},status=~"5.."}[5m])) / sum(rate(openpds_http_request_duration_seconds_count{${api}}[5m])) > 0.05`,
      '10m',
      'More than 5% of API requests fail with a 5xx status',
    ),
    rule(
      'OpenPDSApiLatencyHigh',
      'warning',
      `histogram_quantile(0.99, sum by (le) (rate(openpds_http_request_duration_seconds_bucket{${api}}[5m]))) > 2`,
      '15m',
      'p99 API latency is above 2 seconds',
    ),
    rule('OpenPDSJobBacklogOld', 'warning', `max(openpds_jobs_oldest_age_seconds{${jobs}}) > 900`, '10m', 'The oldest queued job has waited more than 15 minutes'),
    rule('OpenPDSWorkerFailures', 'warning', `sum(rate(openpds_jobs_failed_total{${jobs}}[15m])) > 0.1`, '15m', 'Jobs keep failing after their retries'),
    rule('OpenPDSStorageErrors', 'critical', `sum(rate(openpds_storage_errors_total{${jobs}}[5m])) > 0`, '10m', 'The blob store (S3 or volume) returns errors'),
    rule(
      'OpenPDSDomainNotReady',
      'critical',
      `kube_deployment_status_replicas_available{namespace="${ns}",deployment="${ctx.names.api}"} < 1 and kube_deployment_spec_replicas{namespace="${ns}",deployment="${ctx.names.api}"} > 0`,
      '5m',
      'No API server pod is available',
    ),
  ];
}
