/**
 * The Domain chart's monitoring is a contract with three other parties: the data plane's /metrics (every
 * series an alert or the HPA reads must exist there), the operator's /metrics (OpenPDSDomainNotReady reads
 * the operator's per-Domain Ready gauge, scraped through examples/monitoring/operator-servicemonitor.yaml)
 * and the metrics adapter (the worker HPA's external metric must be served, one value per domain, with the
 * labels the HPA selects on). Checked here against a started API server and worker, an operator on the
 * Kubernetes API test server, and the shipped examples/monitoring files.
 */
import fs, { rmSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { startServer, type RunningServer } from '../../../api-server/src/main';
import { startWorker, type RunningWorker } from '../../../workers/src/main';
import { testServerEnv } from '../../../test/support/test-server';
import { PROBE_ROUTES, TRANSFER_ROUTES } from './alert-rules';
import { buildDomainChart, type Manifest } from './domain.chart';
import { createDomainContext, METRICS_PORT } from './domain-context';
import { serviceLabelMeta } from './monitoring.chart';
import { BOOTSTRAP, fullDomain } from './testing/domain-fixtures';
import { runOperator, type RunningOperator } from '../main';
import { eventually, startTestKube, type TestKube } from '../../../test/operator/support/kube';
import { kubectl } from '../../../test/operator/support/kubectl';

const ADAPTER_RULES = path.resolve(__dirname, '../../../examples/monitoring/prometheus-adapter-rules.yaml');
const OPERATOR_MONITORING = path.resolve(__dirname, '../../../examples/monitoring/operator-servicemonitor.yaml');
const METRICS_SERVICE = path.resolve(__dirname, '../../../config/manager/metrics-service.yaml');
const CRDS = path.resolve(__dirname, '../../../crds');

interface AdapterRule {
  seriesQuery: string;
  resources?: { overrides?: Record<string, { resource: string }> };
  name?: { matches?: string; as?: string };
  metricsQuery: string;
}

const domain = fullDomain();
const ctx = createDomainContext(domain);
const manifests = buildDomainChart(domain, { bootstrap: BOOTSTRAP });
const find = (kind: string, name?: string): Manifest => {
  const found = manifests.find((m) => m.kind === kind && (!name || m.metadata.name === name));
  if (!found) throw new Error(`the chart built no ${kind} ${name ?? ''}`);
  return found;
};
const hpaMetric = (): { name: string; selector: { matchLabels: Record<string, string> } } => {
  const metrics = (find('HorizontalPodAutoscaler', ctx.names.worker) as any).spec.metrics as any[];
  const external = metrics.filter((m) => m.type === 'External');
  expect(external).toHaveLength(1);
  return external[0].external.metric;
};
type Rule = { alert: string; expr: string; annotations?: Record<string, string> };
const alertRules = (): Rule[] => (find('PrometheusRule') as any).spec.groups.flatMap((g: any) => g.rules);
const operatorMonitoring = () => YAML.parseAllDocuments(fs.readFileSync(OPERATOR_MONITORING, 'utf8')).map((d) => d.toJS() as any);
/** The alerts of the Domain's chart and of examples/monitoring/operator-servicemonitor.yaml. */
const allAlertRules = (): Rule[] => [...alertRules(), ...operatorMonitoring().filter((m) => m.kind === 'PrometheusRule').flatMap((m) => m.spec.groups.flatMap((g: any) => g.rules))];
/** openpds_* series an expression reads (kube_* ones come from kube-state-metrics, not the data plane). */
const seriesIn = (expr: string): string[] => [...new Set(expr.match(/\bopenpds_[a-z0-9_]+\b/g) ?? [])];
/** The operator exports openpds_operator_*; the data plane every other openpds_* series. */
const isOperatorSeries = (name: string) => name.startsWith('openpds_operator_');
/** The series a rule reads: in its expression and in template queries of its annotations. */
const ruleSeries = (rule: Rule) => seriesIn([rule.expr, ...Object.values(rule.annotations ?? {})].join(' '));
/**
 * Declared on /metrics. A labelled counter or histogram has no sample until its first event (prom-client
 * prints only its HELP and TYPE), so the TYPE line counts, with a histogram's _bucket/_count/_sum series.
 */
const exported = (metrics: string, name: string) => {
  const base = name.replace(/_(bucket|count|sum)$/, '');
  const type = new RegExp(`^# TYPE (\\S+) (\\S+)$`, 'gm');
  for (const [, declared, kind] of metrics.matchAll(type)) {
    if (declared === name) return true;
    if (declared === base && base !== name && (kind === 'histogram' || kind === 'summary')) return true;
  }
  return false;
};

describe('the worker HPA and the example prometheus-adapter rule', () => {
  const adapter = YAML.parse(fs.readFileSync(ADAPTER_RULES, 'utf8')) as { externalRules: AdapterRule[] };

  test('the adapter serves the HPA metric by that name, from the series of the same name', () => {
    const { name } = hpaMetric();
    const rules = adapter.externalRules.filter((r) => r.name?.as === name);
    expect(rules).toHaveLength(1);
    expect(rules[0]!.seriesQuery.startsWith(`${name}{`)).toBe(true);
    expect(new RegExp(rules[0]!.name!.matches!).test(name)).toBe(true);
  });

  test('one value per domain: max over the pods, grouped by every label the HPA selects on', () => {
    const { name, selector } = hpaMetric();
    const rule = adapter.externalRules.find((r) => r.name?.as === name)!;
    const grouped = /^max by \(([^)]*)\) \(<<\.Series>>\{<<\.LabelMatchers>>\}\)$/.exec(rule.metricsQuery);
    expect(grouped).not.toBeNull();
    const groupBy = grouped![1]!.split(',').map((l) => l.trim());
    for (const label of Object.keys(selector.matchLabels)) {
      expect(groupBy).toContain(label);
      expect(rule.seriesQuery).toContain(`${label}!=""`);
    }
    // The adapter adds the HPA's namespace to the query through this override (HPAs are namespaced).
    expect(rule.resources?.overrides?.namespace).toEqual({ resource: 'namespace' });
    expect(selector.matchLabels.namespace).toBe(ctx.namespace);
  });

  test("the HPA's domain label is the one the ServiceMonitor adds, from a label every scraped Service carries", () => {
    const { selector } = hpaMetric();
    const endpoints = (find('ServiceMonitor') as any).spec.endpoints as { relabelings?: { sourceLabels?: string[]; targetLabel?: string; action?: string }[] }[];
    const scraped = manifests.filter((m) => m.kind === 'Service' && m.metadata.labels?.['openpds.io/metrics'] === 'true');
    expect(scraped.map((s) => s.metadata.name).sort()).toEqual([ctx.names.api, ctx.names.workerMetrics].sort());
    for (const label of Object.keys(selector.matchLabels).filter((l) => l !== 'namespace')) {
      for (const endpoint of endpoints) {
        const relabel = endpoint.relabelings?.find((r) => r.targetLabel === label);
        expect(relabel).toMatchObject({ action: 'replace', sourceLabels: [expect.any(String)] });
        const serviceLabel = Object.keys(scraped[0]!.metadata.labels ?? {}).find((l) => serviceLabelMeta(l) === relabel!.sourceLabels![0]);
        expect(serviceLabel).toBeDefined();
        for (const service of scraped) expect(service.metadata.labels?.[serviceLabel!]).toBe(selector.matchLabels[label]);
      }
    }
  });
});

describe('every series the alerts and the HPA read is on the data plane /metrics', () => {
  let server: RunningServer;
  let worker: RunningWorker;
  let dataDir: string;
  let env: Record<string, string>;
  const scrape = async (url: string) => (await fetch(`${url}/metrics`)).text();

  beforeAll(async () => {
    // The API server and a worker on one PostgreSQL database, as the chart runs them (`npm test` starts it).
    const started = await testServerEnv('pg', 'local');
    dataDir = started.dataDir;
    env = started.env;
    server = await startServer(started.env);
    worker = await startWorker({ ...started.env, OPENPDS_PORT: '0' });
  }, 120_000);
  afterAll(async () => {
    await worker?.close();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('on the pods of every job each selector of an alert names', async () => {
    const byJob: Record<string, string> = { [ctx.names.api]: await scrape(server.url), [ctx.names.workerMetrics]: await scrape(worker.url) };
    const missing: string[] = [];
    for (const { alert, expr } of alertRules()) {
      // Per selector: a process's start time has another name on workers (openpds_worker_ prefix).
      for (const [, name, matchers] of expr.matchAll(/\b((?:openpds_|process_)[a-z0-9_]+)\{([^}]*)\}/g)) {
        if (isOperatorSeries(name!)) continue;
        const jobs = /job=~?"([^"]+)"/.exec(matchers!)?.[1]?.split('|') ?? [];
        expect([alert, name, jobs.length > 0]).toEqual([alert, name, true]);
        for (const job of jobs) if (!exported(byJob[job]!, name!)) missing.push(`${alert}: ${name} on ${job}`);
      }
    }
    expect(missing).toEqual([]);
    // The storage alert must be able to fire: its counter is among them.
    expect(alertRules().flatMap((r) => seriesIn(r.expr))).toContain('openpds_storage_errors_total');
  });

  test('the routes the alerts leave out are route labels of the request histogram', async () => {
    // Each called once (refused: no signature, no token); the histogram labels a call with its route.
    const methods: Record<string, string> = { '/v2/blob/part': 'PUT', '/v2/blob/object_upload': 'PUT' };
    for (const route of [...TRANSFER_ROUTES, ...PROBE_ROUTES]) await (await fetch(`${server.url}${route}`, { method: methods[route] ?? 'GET' })).arrayBuffer();
    const labelled = new Set([...(await scrape(server.url)).matchAll(/^openpds_http_request_duration_seconds_count\{[^}]*route="([^"]+)"/gm)].map((m) => m[1]));
    expect([...TRANSFER_ROUTES, ...PROBE_ROUTES].filter((r) => !labelled.has(r))).toEqual([]);
    for (const route of TRANSFER_ROUTES) expect(alertRules().find((r) => r.alert === 'OpenPDSApiLatencyHigh')!.expr).toContain(route);
  });

  test("the chart's OPENPDS_METRICS_PORT moves /metrics off the API port, which the Ingress routes to", async () => {
    expect((find('ConfigMap') as any).data.OPENPDS_METRICS_PORT).toBe(String(METRICS_PORT));
    // A free port rather than the chart's 9090, which this machine may use. (`openpds worker` follows the
    // key as well: test/api/obs-metrics-port.test.ts spawns one.)
    const moved = await startServer({ ...env, OPENPDS_METRICS_PORT: '0' });
    try {
      expect((await fetch(`${moved.url}/metrics`)).status).toBe(404);
      expect(moved.metricsUrl).toBeDefined();
      expect(exported(await scrape(moved.metricsUrl!), 'openpds_http_request_duration_seconds_count')).toBe(true);
    } finally {
      await moved.close();
    }
  });

  test("the HPA's metric on API and worker pods alike, with no domain label of the data plane's own", async () => {
    const { name, selector } = hpaMetric();
    for (const metrics of [await scrape(server.url), await scrape(worker.url)]) {
      expect(exported(metrics, name)).toBe(true);
      // A label of the same name from the target would be renamed exported_<label> by Prometheus.
      for (const label of Object.keys(selector.matchLabels)) expect(metrics).not.toMatch(new RegExp(`[{,]${label}="`));
    }
  });
});

describe("every series the alerts read from the operator is on the operator's /metrics", () => {
  let kube: TestKube;
  let operator: RunningOperator;
  const scrape = async () => (await fetch(`${operator.metricsUrl}/metrics`)).text();

  beforeAll(async () => {
    // The operator as `openpds operator` runs it, on the Kubernetes API test server with the real CRDs and
    // this chart's Domain. Its Secrets do not exist, so the Domain stops at MissingSecret: Ready False
    // before any Deployment exists, which the Deployment-based alert of old could not see.
    kube = await startTestKube();
    await kubectl(kube.kubeconfig, ['apply', '-k', CRDS]);
    await kube.createNamespace(ctx.namespace);
    const { uid: _uid, generation: _generation, ...metadata } = domain.metadata as typeof domain.metadata & { uid?: string; generation?: number };
    await kube.client.create({ apiVersion: domain.apiVersion, kind: domain.kind, metadata, spec: domain.spec } as never);
    operator = await runOperator({ kubeconfig: kube.kubeconfig, metricsPort: 0, monitoring: false, log: () => undefined });
  }, 60_000);
  afterAll(async () => {
    await operator?.stop();
    await kube?.close();
  });

  test('declared, and the Domain alert selects the series the operator exports for this Domain', async () => {
    const ready = /^openpds_operator_domain_ready\{([^}]*)\} (\S+)$/m;
    const metrics = await eventually(async () => {
      const text = await scrape();
      expect(text).toMatch(/^openpds_operator_domain_ready\{[^}]*reason="MissingSecret"\} 0$/m);
      return text;
    }, 20_000, 100);
    const missing: string[] = [];
    for (const rule of allAlertRules()) {
      for (const name of ruleSeries(rule).filter(isOperatorSeries)) if (!exported(metrics, name)) missing.push(`${rule.alert}: ${name}`);
    }
    expect(missing).toEqual([]);
    const notReady = alertRules().find((r) => r.alert === 'OpenPDSDomainNotReady')!;
    expect(ruleSeries(notReady)).toEqual(['openpds_operator_domain_ready']);
    // Every label the alert matches on is on the operator's series, with this Domain's values: the alert
    // fires for it (reason MissingSecret is not the Stopped the alert leaves out, and 0 is below 1).
    const labels = Object.fromEntries([...ready.exec(metrics)![1]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    expect(labels).toEqual({ namespace: ctx.namespace, domain: domain.metadata.name, reason: 'MissingSecret' });
    const selector = /openpds_operator_domain_ready\{([^}]*)\}/.exec(notReady.expr)![1]!;
    for (const [, label, op, value] of selector.matchAll(/(\w+)(=|!=)"([^"]*)"/g)) {
      expect(labels).toHaveProperty(label!);
      expect(labels[label!] === value).toBe(op === '=');
    }
  });

  test('the example ServiceMonitor scrapes the metrics Service and keeps the Domain namespace label', () => {
    const monitor = operatorMonitoring().find((m) => m.kind === 'ServiceMonitor');
    const service = YAML.parse(fs.readFileSync(METRICS_SERVICE, 'utf8'));
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    // config/ installs the Service in its kustomization's namespace.
    const installedIn = YAML.parse(fs.readFileSync(path.resolve(METRICS_SERVICE, '../../kustomization.yaml'), 'utf8')).namespace;
    expect(monitor.metadata.namespace).toBe(installedIn);
    expect(monitor.spec.namespaceSelector.matchNames).toEqual([installedIn]);
    expect(service.spec.ports.map((p: { name: string }) => p.name)).toContain(monitor.spec.endpoints[0].port);
    // The operator's series carry the Domain's namespace: without honorLabels Prometheus would replace it
    // with the operator's own and keep the Domain's as exported_namespace, and no Domain alert would match.
    expect(monitor.spec.endpoints.map((e: { honorLabels?: boolean }) => e.honorLabels)).toEqual([true]);
  });
});
