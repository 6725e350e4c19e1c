/**
 * The domain's Prometheus alerts. Series names are a contract with the data plane's /metrics
 * (api-server/src/shared/metrics.ts) and kube-state-metrics; each rule is scoped to this domain by the
 * namespace and the job label the ServiceMonitor gives its targets (the Service name). OpenPDSDomainNotReady
 * reads the operator's own /metrics instead (openpds_operator_domain_ready, operator/src/domain-ready-metric.ts,
 * scraped through examples/monitoring/operator-servicemonitor.yaml), whose series carry the Domain's
 * namespace and name as labels.
 *
 * Every aggregation keeps `namespace` and `domain` (KEPT_LABELS): the Prometheus Operator routes an
 * AlertmanagerConfig's alerts only when they carry its namespace label, so a bare sum() or max() made
 * alerts no webhook ever received. alert-rules.test.ts checks each expression.
 */
import type { DomainContext } from './domain-context';

/** Labels every alert keeps through its aggregations: the namespace routes it, domain names the Domain. */
export const KEPT_LABELS = ['namespace', 'domain'] as const;
const BY = `by (${KEPT_LABELS.join(', ')})`;

/**
 * The Domain's Ready condition, as the operator exports it: not 1 while it is not Ready, whatever the
 * reason (MissingSecret, ApplyFailed, RolloutFailed... hold a Domain before any Deployment fails, or
 * without one), but Stopped, which is the state `apiServer.replicas: 0` asks for.
 * - max by (namespace, domain): one value per Domain whichever operator replica exported it (only the
 *   leader does; after a failover the series has another pod/instance label, and `for:` goes on).
 * - reason is not among the alert's labels: a Domain that moves from one reason to another (ApplyFailed,
 *   then RolloutFailed) stays one alert whose `for:` keeps counting; the annotations name the reason.
 */
export function domainNotReadyExpr(ns: string, domain: string): string {
  return `max ${BY} (openpds_operator_domain_ready{namespace="${ns}",domain="${domain}",reason!="Stopped"}) < 1`;
}

/** The reason the Domain's series carries when the alert is sent (a Prometheus template query). */
function domainReadyReason(ns: string, domain: string): string {
  return `{{ with query \`max by (reason) (openpds_operator_domain_ready{namespace="${ns}",domain="${domain}"})\` }}{{ . | first | label "reason" }}{{ end }}`;
}

/**
 * Routes whose duration is the client's transfer, not the server's work: a part or a whole object through
 * the local store's signed URLs (PUT /v2/blob/part, PUT /v2/blob/object_upload, GET /v2/blob/object:
 * api-server/src/storage/local-blob.routes.ts) and downloads streamed by the API server (GET
 * /v2/file/download, a 302 on S3 but the bytes on local disk, and GET /v2/file/download_link:
 * modules/downloads). A 16 MB part on a 4 MB/s uplink takes 4 s however healthy the server is, so a p99 over
 * them measures the users' bandwidth. The values are the route labels the data plane's request histogram
 * uses (the route's declared path); monitoring-contract.test.ts checks each against a started data plane.
 */
export const TRANSFER_ROUTES = ['/v2/blob/part', '/v2/blob/object_upload', '/v2/blob/object', '/v2/file/download', '/v2/file/download_link'] as const;

/**
 * Kubelet probes and Prometheus scrapes: every pod answers them every few seconds whatever the users do
 * (a quiet domain's two API pods: ~40 a minute against a few user calls), so counted among the requests
 * they dilute a 40% failure rate of the users' calls below 5%. /readyz's own 503 says a dependency is
 * down, which OpenPDSDomainNotReady and the Deployment report; it is no API error of a user.
 */
export const PROBE_ROUTES = ['/healthz', '/readyz', '/metrics'] as const;

/** A regex matching exactly these route labels (Prometheus anchors label regexes; paths hold no metacharacter). */
const anyRoute = (routes: readonly string[]) => routes.join('|');

/**
 * Whether a counter of the domain's pods counted anything in the last `minutes`, first events of a new
 * process included. increase() needs two samples of a series, so a series whose first scrape already
 * shows 1 (the event came before Prometheus first scraped the pod, or a label value the data plane does
 * not create at 0) loses its first events: a pod's first storage error went unseen. A process younger than
 * the window counted only within it, so its counters count as they are. Its age comes from its own scrape
 * (same instance and job): process_start_time_seconds on `openpds serve`, with the openpds_worker_ prefix
 * on `openpds worker` (workers/src/main.ts). A series new to an older process is still not seen at once;
 * the data plane creates these counters at 0 for every label value it knows, which leaves that rare.
 */
function countedWithin(ctx: DomainContext, metric: string, minutes: number): string {
  const ns = ctx.namespace;
  const series = `${metric}{namespace="${ns}",job=~"${ctx.names.api}|${ctx.names.workerMetrics}"}`;
  const seconds = minutes * 60;
  const young =
    `time() - process_start_time_seconds{namespace="${ns}",job="${ctx.names.api}"} < ${seconds}` +
    ` or time() - openpds_worker_process_start_time_seconds{namespace="${ns}",job="${ctx.names.workerMetrics}"} < ${seconds}`;
  return `sum ${BY} (increase(${series}[${minutes}m])) > 0 or sum ${BY} (${series} > 0 and on (instance, job) (${young}))`;
}

export interface AlertRule {
  alert: string;
  expr: string;
  /** Absent: the alert fires at the first evaluation that finds it. */
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export function domainAlertRules(ctx: DomainContext): AlertRule[] {
  const ns = ctx.namespace;
  const api = `namespace="${ns}",job="${ctx.names.api}"`;
  const userCalls = `${api},route!~"${anyRoute(PROBE_ROUTES)}"`;
  const apiCalls = `${api},route!~"${anyRoute([...PROBE_ROUTES, ...TRANSFER_ROUTES])}"`;
  const jobs = `namespace="${ns}",job=~"${ctx.names.api}|${ctx.names.workerMetrics}"`;
  const domain = ctx.domain.metadata.name;
  const rule = (alert: string, severity: string, expr: string, forDuration: string, summary: string): AlertRule => ({
    alert,
    expr,
    ...(forDuration && { for: forDuration }),
    labels: { severity, openpds_domain: domain },
    annotations: { summary, description: `${summary} (Domain ${ns}/${domain}).` },
  });
  return [
    rule(
      'OpenPDSApiErrorRateHigh',
      'critical',
      // Transfers stay in: a failed upload or download is a failed user call like any other.
      `sum ${BY} (rate(openpds_http_request_duration_seconds_count{${userCalls},status=~"5.."}[5m])) / sum ${BY} (rate(openpds_http_request_duration_seconds_count{${userCalls}}[5m])) > 0.05`,
      '10m',
      'More than 5% of API requests fail with a 5xx status',
    ),
    rule(
      'OpenPDSApiLatencyHigh',
      'warning',
      `histogram_quantile(0.99, sum by (${KEPT_LABELS.join(', ')}, le) (rate(openpds_http_request_duration_seconds_bucket{${apiCalls}}[5m]))) > 2`,
      '15m',
      'p99 API latency (uploads, downloads and probes aside) is above 2 seconds',
    ),
    rule('OpenPDSJobBacklogOld', 'warning', `max ${BY} (openpds_jobs_oldest_age_seconds{${jobs}}) > 900`, '10m', 'The oldest queued job has waited more than 15 minutes'),
    // Any job failed for good: each is work left undone (an upload never hashed) until someone runs
    // `openpds jobs retry-failed`, and the retries with backoff already absorbed the passing faults. No
    // `for`: one failure must alert (rate > 0.1 for 15 min wanted over 6 failures a minute for half an
    // hour and never saw 5 a minute); the alert resolves 15 minutes after the last failure.
    rule('OpenPDSWorkerFailures', 'warning', countedWithin(ctx, 'openpds_jobs_failed_total', 15), '', 'Jobs failed after their retries in the last 15 minutes'),
    // Errors in every 5-minute window for 10 minutes: an outage, not one failed request a retry absorbed.
    rule('OpenPDSStorageErrors', 'critical', countedWithin(ctx, 'openpds_storage_errors_total', 5), '10m', 'The blob store (S3 or volume) returns errors'),
    {
      ...rule('OpenPDSDomainNotReady', 'critical', domainNotReadyExpr(ns, domain), '5m', 'The Domain has not been Ready for 5 minutes'),
      annotations: {
        summary: `The Domain has not been Ready for 5 minutes (reason: ${domainReadyReason(ns, domain)})`,
        description: `Domain ${ns}/${domain} is not Ready (reason: ${domainReadyReason(ns, domain)}); \`kubectl describe domain -n ${ns} ${domain}\` shows why.`,
      },
    },
  ];
}
