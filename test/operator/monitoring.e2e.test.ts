/**
 * The operator and the Prometheus Operator's CRDs, end to end on the Kubernetes API test server: the
 * monitoring.coreos.com kinds installed after the operator started are found by its periodic discovery
 * check (shortened here through monitoringRecheckMs), and every Domain gains its ServiceMonitor,
 * PrometheusRule and AlertmanagerConfig without a restart; CRDs removed again leave Domains reconciling.
 * Along the way, openpds_operator_domain_ready on the operator's real /metrics follows the Domain's Ready
 * condition: MissingSecret 0, Ready 1, no series once the Domain is deleted.
 */
import type { Condition, Domain } from '../../operator/src/domain-types';
import type { KubeObject } from '../../operator/src/kube/kube-client';
import { acmeSecretsYaml, domainYaml as acmeDomainYaml } from './support/acme-domain';
import { markDeploymentAvailable } from './support/deployments';
import { withDomainSuite } from './support/domain-suite';
import { eventually } from './support/kube';
import { kubectl } from './support/kubectl';
import { MONITORING_CRDS_YAML, MONITORING_KINDS } from './support/readyz-stub';

const NS = 'tenants';
// The Domain's data plane is the suite's /readyz stub: /readyz answers, the rest (usage) does not exist.
const suite = withDomainSuite({ namespace: NS, startOperator: false });
const logs: string[] = [];

const domainYaml = (replicas: number) => acmeDomainYaml(NS, 'acme', { apiReplicas: replicas, extra: '  alerts: { webhooks: [{ name: ops, url: "https://hooks.acme.example/alert" }] }\n' });
const getDomain = () => suite.kube.client.get<Domain & KubeObject>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name: 'acme' });
const ready = (d: { status?: { conditions?: Condition[] } }) => d.status?.conditions?.find((c) => c.type === 'Ready');
/** The Domain's objects of a monitoring kind (the list fails while the CRD does not exist). */
const monitoringObjects = async () => {
  const names: string[] = [];
  for (const [version, kind] of MONITORING_KINDS) {
    const list = await suite.kube.client.list({ apiVersion: `monitoring.coreos.com/${version}`, kind, namespace: NS }, { labelSelector: 'openpds.io/domain=acme' });
    names.push(...list.items.map(() => kind));
  }
  return names.sort();
};
/** The operator's openpds_operator_domain_ready lines. */
const readySeries = async () => (await (await fetch(`${suite.operator.metricsUrl}/metrics`)).text()).split('\n').filter((l) => l.startsWith('openpds_operator_domain_ready{'));

test('monitoring CRDs installed after start: the Domain gains its ServiceMonitor, PrometheusRule and AlertmanagerConfig without a restart; removed: it reconciles on', async () => {
  await suite.startOperator({
    monitoring: 'auto',
    monitoringRecheckMs: 200,
    log: (level, msg, fields) => void logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`),
  });
  expect(logs.find((l) => l.includes('operator running'))).toContain('"monitoring":false');

  // 1. No Secrets yet: MissingSecret before any Deployment exists, and the gauge says so.
  await kubectl(suite.kube.kubeconfig, ['apply', '-f', '-'], domainYaml(1));
  await eventually(async () => expect(ready(await getDomain())).toMatchObject({ status: 'False', reason: 'MissingSecret', observedGeneration: 1 }));
  await eventually(async () => expect(await readySeries()).toEqual([`openpds_operator_domain_ready{namespace="${NS}",domain="acme",reason="MissingSecret"} 0`]));

  // 2. The Secrets: the chart is applied, without monitoring (no CRDs), and the Domain turns Ready.
  await kubectl(suite.kube.kubeconfig, ['apply', '-f', '-'], acmeSecretsYaml(NS));
  await eventually(() => suite.kube.client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'acme-worker' }));
  for (const name of ['acme-api', 'acme-worker']) await markDeploymentAvailable(suite.kube.client, NS, name);
  await eventually(async () => expect(ready(await getDomain())).toMatchObject({ status: 'True', reason: 'Ready', observedGeneration: 1 }), 15_000);
  await eventually(async () => expect(await readySeries()).toEqual([`openpds_operator_domain_ready{namespace="${NS}",domain="acme",reason="Ready"} 1`]));

  // 3. The Prometheus Operator's CRDs arrive: found within a few checks, the Domain's chart gains them.
  await kubectl(suite.kube.kubeconfig, ['apply', '-f', '-'], MONITORING_CRDS_YAML);
  await eventually(async () => expect(await monitoringObjects()).toEqual(['AlertmanagerConfig', 'PrometheusRule', 'ServiceMonitor']), 15_000, 100);
  expect(logs.filter((l) => l.includes('monitoring.coreos.com appeared'))).toHaveLength(1);
  const [rule] = (await suite.kube.client.list<KubeObject & { spec: { groups: { rules: { alert: string; expr: string }[] }[] } }>({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', namespace: NS }, { labelSelector: 'openpds.io/domain=acme' })).items;
  expect(rule!.spec.groups[0]!.rules.find((r) => r.alert === 'OpenPDSDomainNotReady')?.expr).toContain(`openpds_operator_domain_ready{namespace="${NS}",domain="acme",reason!="Stopped"}`);
  expect(ready(await getDomain())).toMatchObject({ status: 'True' });

  // 4. And leave again (the CRDs deleted, their objects with them): Domains still reconcile, nothing tries
  // to list or prune the kinds that no longer exist.
  await kubectl(suite.kube.kubeconfig, ['delete', '-f', '-', '--wait=false'], MONITORING_CRDS_YAML);
  await eventually(() => expect(logs.filter((l) => l.includes('monitoring.coreos.com disappeared'))).toHaveLength(1), 15_000, 100);
  await kubectl(suite.kube.kubeconfig, ['apply', '-f', '-'], domainYaml(2));
  await eventually(async () => {
    const d = await getDomain();
    expect(d.metadata.generation).toBe(2);
    expect(ready(d)).toMatchObject({ reason: 'WaitingForReplicas', observedGeneration: 2 });
  }, 15_000);
  expect(logs.filter((l) => l.startsWith('warn') && l.includes('monitoring'))).toEqual([]);
  await eventually(async () => expect(await readySeries()).toEqual([`openpds_operator_domain_ready{namespace="${NS}",domain="acme",reason="WaitingForReplicas"} 0`]));

  // 5. The Domain deleted: its series goes with it.
  await kubectl(suite.kube.kubeconfig, ['delete', 'domain', 'acme', '-n', NS, '--wait=false']);
  await eventually(async () => expect(await readySeries()).toEqual([]), 15_000, 100);
}, 90_000);

// Only the ServiceMonitor CRD (several agents install just that one, without the Prometheus Operator):
// discovery used to say "monitoring" for the group, every Domain's chart then carried a PrometheusRule the
// cluster does not serve, its apply failed for good (never Ready), and pruning and deletion listed the
// missing kinds, so the finalizer was never removed. Found by the session 25 review.
test('a cluster serving only ServiceMonitor: the Domain gets its ServiceMonitor, turns Ready, and deletes cleanly', async () => {
  await suite.stopOperator();
  await eventually(async () => expect(await suite.kube.client.list({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS })).toMatchObject({ items: [] }), 15_000);
  const serviceMonitorCrd = MONITORING_CRDS_YAML.split('---\n').find((doc) => doc.includes('kind: ServiceMonitor,'))!;
  await kubectl(suite.kube.kubeconfig, ['apply', '-f', '-'], `---\n${serviceMonitorCrd}`);
  logs.length = 0;
  await suite.startOperator({ monitoring: 'auto', monitoringRecheckMs: 0, log: (level, msg, fields) => void logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`) });
  expect(logs.find((l) => l.includes('operator running'))).toContain('"monitoring":["ServiceMonitor"]');

  await kubectl(suite.kube.kubeconfig, ['apply', '-f', '-'], domainYaml(1));
  await eventually(() => suite.kube.client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'acme-worker' }));
  for (const name of ['acme-api', 'acme-worker']) await markDeploymentAvailable(suite.kube.client, NS, name);
  await eventually(async () => expect(ready(await getDomain())).toMatchObject({ status: 'True', reason: 'Ready', observedGeneration: 1 }), 15_000);
  const monitors = await suite.kube.client.list({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', namespace: NS }, { labelSelector: 'openpds.io/domain=acme' });
  expect(monitors.items.map((m) => m.metadata?.name)).toEqual(['acme']);

  // A new generation prunes (the kinds rendered only), and the deletion lists them: neither stalls.
  await kubectl(suite.kube.kubeconfig, ['apply', '-f', '-'], domainYaml(2));
  await eventually(async () => expect(ready(await getDomain())).toMatchObject({ reason: 'WaitingForReplicas', observedGeneration: 2 }), 15_000);
  await kubectl(suite.kube.kubeconfig, ['delete', 'domain', 'acme', '-n', NS, '--wait=false']);
  await eventually(async () => expect(await suite.kube.client.list({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS })).toMatchObject({ items: [] }), 15_000);
  expect(logs.filter((l) => l.startsWith('warn'))).toEqual([]);
}, 90_000);
