// /metrics on its own port (OPENPDS_METRICS_PORT): every piece of the chart has to agree on it, or
// Prometheus scrapes a port that answers 404, or the Ingress and the internet reach /metrics again.
import { buildDomainChart, type Manifest } from './domain.chart';
import { HTTP_PORT, METRICS_PORT } from './domain-context';
import { BOOTSTRAP, fullDomain, hostingDomain, quickstartDomain } from './testing/domain-fixtures';

type Port = { name?: string; port?: number; containerPort?: number; targetPort?: string | number };
const spec = (m: Manifest) => (m as any).spec;

describe.each([
  ['quickstart (volume)', quickstartDomain],
  ['hosting', hostingDomain],
  ['standard s3, every option', fullDomain],
])('%s', (_name, fixture) => {
  const manifests = buildDomainChart(fixture(), { bootstrap: BOOTSTRAP });
  const of = (kind: string) => manifests.filter((m) => m.kind === kind);

  test('the data plane is told the port, and every container declares it beside http', () => {
    const configMap = of('ConfigMap')[0]!;
    expect((configMap as any).data).toMatchObject({ OPENPDS_PORT: String(HTTP_PORT), OPENPDS_METRICS_PORT: String(METRICS_PORT) });
    for (const deployment of of('Deployment')) {
      for (const container of spec(deployment).template.spec.containers) {
        expect(container.envFrom).toContainEqual({ configMapRef: { name: configMap.metadata.name } });
        expect(container.ports.map((p: Port) => [p.name, p.containerPort])).toEqual([['http', HTTP_PORT], ['metrics', METRICS_PORT]]);
        // Probes stay on http: only /metrics moves.
        for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) expect(container[probe].httpGet.port).toBe('http');
      }
    }
  });

  test('scraped Services and the ServiceMonitor use the metrics port; the Ingress only http', () => {
    const scraped = of('Service').filter((s) => s.metadata.labels?.['openpds.io/metrics'] === 'true');
    expect(scraped.length).toBeGreaterThan(0);
    for (const service of scraped) expect(spec(service).ports).toContainEqual(expect.objectContaining({ name: 'metrics', port: METRICS_PORT, targetPort: 'metrics' }));
    expect(spec(of('ServiceMonitor')[0]!).endpoints.map((e: Port) => e.port)).toEqual(['metrics']);
    for (const ingress of of('Ingress')) {
      const backends = spec(ingress).rules.flatMap((r: any) => r.http.paths.map((p: any) => p.backend.service.port));
      expect(backends).toEqual(backends.map(() => ({ name: 'http' })));
    }
  });

  test('NetworkPolicies: http open to all on the API server only, metrics to pods of the cluster only', () => {
    const rules = (name: string) => spec(of('NetworkPolicy').find((p) => p.metadata.name === name)!).ingress as { from?: unknown[]; ports: Port[] }[];
    const api = rules(manifests.find((m) => m.kind === 'Deployment' && m.metadata.labels?.['app.kubernetes.io/component'] === 'api-server')!.metadata.name);
    expect(api).toEqual([
      { ports: [{ port: HTTP_PORT, protocol: 'TCP' }] },
      { from: [{ namespaceSelector: {} }], ports: [{ port: METRICS_PORT, protocol: 'TCP' }] },
    ]);
    for (const policy of of('NetworkPolicy')) {
      for (const rule of spec(policy).ingress as { from?: unknown[]; ports: Port[] }[]) {
        if (rule.ports.some((p) => p.port === METRICS_PORT)) expect(rule.from).toEqual([{ namespaceSelector: {} }]);
        if (!rule.from) expect(rule.ports).toEqual([{ port: HTTP_PORT, protocol: 'TCP' }]);
      }
      if (policy.metadata.labels?.['app.kubernetes.io/component'] === 'worker') expect(spec(policy).ingress).toEqual([api[1]]);
    }
  });
});
