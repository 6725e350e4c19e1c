/**
 * A Domain's settings ConfigMap, named by its content and immutable (charts/config.chart.ts), end to end on
 * the Kubernetes API test server (which keeps immutable ConfigMaps as kube-apiserver does): an operator that
 * stops mid-rollout leaves no old ConfigMap behind for good (its successor finds it); a stopped Domain
 * keeps none; one re-created by hand with other data under the operator's name is put right, not a Domain
 * that fails every apply for ever. The pruning during rollouts and held rollouts: domain.e2e.test.ts,
 * domain-rollout-budget.e2e.test.ts.
 */
import type { Condition, Domain } from '../../operator/src/domain-types';
import type { KubeObject } from '../../operator/src/kube/kube-client';
import { domainConfigMaps, markDeploymentAvailable, podConfigMap } from './support/deployments';
import { withDomainSuite } from './support/domain-suite';
import { eventually } from './support/kube';
import { kubectl } from './support/kubectl';
import { volumeDomainYaml } from './support/volume-domain';

const NS = 'settings';
const suite = withDomainSuite({ namespace: NS, domains: ['restarted', 'stopped', 'handmade'], startOperator: false });
const { apply } = suite;
// Each test starts its own operator; none outlives it (stop() again is a no-op).
afterEach(() => suite.stopOperator());

const getDomain = (name: string) => suite.kube.client.get<Domain & KubeObject>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name });
const ready = async (name: string) => (await getDomain(name)).status?.conditions?.find((c: Condition) => c.type === 'Ready');
const configMapNames = async (domain: string) => (await domainConfigMaps(suite.kube.client, NS, domain)).map((cm) => cm.metadata!.name!);

/** Applies the Domain, rolls its Deployment out, waits for Ready; answers the ConfigMap its pods read. */
async function readyDomain(name: string, extra = ''): Promise<string> {
  await apply(volumeDomainYaml(NS, name, extra));
  await eventually(async () => expect((await ready(name))?.reason).toBe('WaitingForReplicas'), 15_000);
  await markDeploymentAvailable(suite.kube.client, NS, `${name}-api`);
  await eventually(async () => expect(await ready(name)).toMatchObject({ status: 'True', reason: 'Ready' }), 15_000);
  return (await podConfigMap(suite.kube.client, NS, `${name}-api`)).metadata!.name!;
}

test('an operator stopped mid-rollout: the next one deletes the old ConfigMap once the pods rolled, though it never applied the change', async () => {
  await suite.startOperator();
  const before = await readyDomain('restarted');
  await apply(volumeDomainYaml(NS, 'restarted', '  logLevel: debug\n'));
  await eventually(async () => expect((await podConfigMap(suite.kube.client, NS, 'restarted-api')).data.OPENPDS_LOG_LEVEL).toBe('debug'), 15_000);
  const after = (await podConfigMap(suite.kube.client, NS, 'restarted-api')).metadata!.name!;
  expect((await configMapNames('restarted')).sort()).toEqual([before, after].sort()); // the old pod may still read it
  await suite.stopOperator();

  // A new process (a restart, an upgrade, a new leader): the Deployment already names the new ConfigMap.
  await suite.startOperator();
  await new Promise((r) => setTimeout(r, 500));
  expect((await configMapNames('restarted')).sort()).toEqual([before, after].sort()); // still rolling
  await markDeploymentAvailable(suite.kube.client, NS, 'restarted-api');
  await eventually(async () => expect(await ready('restarted')).toMatchObject({ status: 'True', observedGeneration: 2 }), 15_000);
  await eventually(async () => expect(await configMapNames('restarted')).toEqual([after]));
}, 60_000);

test('a stopped Domain keeps no old ConfigMap once its pods are gone', async () => {
  await suite.startOperator();
  const before = await readyDomain('stopped');
  await apply(volumeDomainYaml(NS, 'stopped', '  logLevel: debug\n').replace('apiServer: { replicas: 1 }', 'apiServer: { replicas: 0 }'));
  await eventually(async () => expect(await ready('stopped')).toMatchObject({ reason: 'Stopped', observedGeneration: 2 }), 15_000);
  // Its pod is still going (the Deployment controller has not scaled down yet): the old ConfigMap stays.
  await new Promise((r) => setTimeout(r, 500));
  expect(await configMapNames('stopped')).toContain(before);
  await markDeploymentAvailable(suite.kube.client, NS, 'stopped-api'); // scaled to zero: no pod left
  const after = (await podConfigMap(suite.kube.client, NS, 'stopped-api')).metadata!.name!;
  await eventually(async () => expect(await configMapNames('stopped')).toEqual([after]));
}, 60_000);

test('a ConfigMap re-created by hand under the operator\'s name with other data is put right at the next apply', async () => {
  await suite.startOperator();
  const name = await readyDomain('handmade');
  const original = await podConfigMap(suite.kube.client, NS, 'handmade-api');
  // The flag refuses an edit in place, as on any cluster.
  await expect(kubectl(suite.kube.kubeconfig, ['patch', 'configmap', name, '-n', NS, '--type=merge', '-p', '{"data":{"OPENPDS_LOG_LEVEL":"debug"}}'])).rejects.toThrow('field is immutable when `immutable` is set');
  await kubectl(suite.kube.kubeconfig, ['delete', 'configmap', name, '-n', NS]);
  await suite.kube.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS, labels: original.metadata!.labels }, immutable: true, data: { ...original.data, OPENPDS_LOG_LEVEL: 'debug' } });

  // Any reason to apply again (here a pod setting, which keeps the settings and so the ConfigMap's name).
  await apply(volumeDomainYaml(NS, 'handmade', '  imagePullPolicy: Always\n'));
  await eventually(async () => expect((await podConfigMap(suite.kube.client, NS, 'handmade-api')).data).toEqual(original.data), 15_000);
  await markDeploymentAvailable(suite.kube.client, NS, 'handmade-api');
  await eventually(async () => expect(await ready('handmade')).toMatchObject({ status: 'True', observedGeneration: 2 }), 15_000);
  expect(await configMapNames('handmade')).toEqual([name]);
}, 60_000);
