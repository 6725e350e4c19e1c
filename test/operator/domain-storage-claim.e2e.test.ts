/**
 * The openpds.io/storage-claim annotation end to end on the Kubernetes API test server, with kubectl: the
 * way an O&M engineer lets a Domain's data plane take over a blob store it refuses (charts/storage-claim.ts).
 * A bad value blocks the Domain with a reason and nothing applied; takeover reaches the ConfigMap and rolls
 * the pods (their config hash); removing the annotation puts both back.
 */
import type { Condition, Domain } from '../../operator/src/domain-types';
import type { KubeObject } from '../../operator/src/kube/kube-client';
import { runOperator, type RunningOperator } from '../../operator/src/main';
import { acmeSecretsYaml, domainYaml, eventsOf, startKubeWithCrds } from './support/acme-domain';
import { eventually, type TestKube } from './support/kube';
import { kubectl } from './support/kubectl';

const NS = 'claims';
let kube: TestKube;
let operator: RunningOperator | undefined;

beforeAll(async () => {
  kube = await startKubeWithCrds(NS);
});
afterAll(async () => {
  await operator?.stop();
  await kube?.close();
});

const domain = () => kube.client.get<Domain & KubeObject>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name: 'acme' });
const condition = (d: Domain, type: string) => d.status?.conditions?.find((c: Condition) => c.type === type);
const configMap = () => kube.client.find<KubeObject & { data: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'acme-config' });
const podConfigHash = async () => {
  const api = await kube.client.get<KubeObject & { spec: { template: { metadata: { annotations: Record<string, string> } } } }>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'acme-api' });
  return api.spec.template.metadata.annotations['openpds.io/config-hash'];
};
const annotate = (value: string) => kubectl(kube.kubeconfig, ['annotate', '--overwrite', 'domain/acme', '-n', NS, value]);

test('a bad value blocks the Domain, nothing applied; takeover reaches the ConfigMap and rolls the pods; removed, both go back', async () => {
  operator = await runOperator({ kubeconfig: kube.kubeconfig, metricsPort: 0, monitoring: false, baseBackoffMs: 100, maxBackoffMs: 1000, log: () => undefined });
  const withBadValue = domainYaml(NS).replace('metadata: { name: acme, namespace: claims }', "metadata: { name: acme, namespace: claims, annotations: { openpds.io/storage-claim: 'yes' } }");
  expect(withBadValue).toContain("openpds.io/storage-claim: 'yes'");
  await kubectl(kube.kubeconfig, ['apply', '-f', '-'], `${acmeSecretsYaml(NS)}---\n${withBadValue}`);

  await eventually(async () => expect(condition(await domain(), 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidAnnotation', observedGeneration: 1 }), 15_000);
  const blocked = await domain();
  expect(condition(blocked, 'Ready')?.message).toBe('metadata.annotations[openpds.io/storage-claim]: Unsupported value: "yes": supported values: "check", "takeover"');
  expect(condition(blocked, 'Degraded')).toMatchObject({ status: 'True', reason: 'InvalidAnnotation' });
  expect(await configMap()).toBeUndefined(); // nothing applied
  expect((await eventsOf(kube, NS, 'acme')).filter((e) => e.reason === 'InvalidAnnotation').map((e) => [e.type, e.count])).toEqual([['Warning', 1]]);

  // check is the data plane's default: applied as if there were no annotation.
  await annotate('openpds.io/storage-claim=check');
  await eventually(async () => expect(condition(await domain(), 'Ready')).toMatchObject({ reason: 'WaitingForReplicas' }), 15_000);
  expect((await configMap())!.data).not.toHaveProperty('OPENPDS_STORAGE_CLAIM');
  const before = await podConfigHash();

  await annotate('openpds.io/storage-claim=takeover');
  await eventually(async () => expect((await configMap())!.data.OPENPDS_STORAGE_CLAIM).toBe('takeover'), 15_000);
  await eventually(async () => expect(await podConfigHash()).not.toBe(before)); // the pods roll to read it

  await kubectl(kube.kubeconfig, ['annotate', 'domain/acme', '-n', NS, 'openpds.io/storage-claim-']);
  await eventually(async () => expect((await configMap())!.data).not.toHaveProperty('OPENPDS_STORAGE_CLAIM'), 15_000);
  await eventually(async () => expect(await podConfigHash()).toBe(before));
}, 90_000);
