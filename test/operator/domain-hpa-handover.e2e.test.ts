/**
 * The HPA replica handover wired into the Domain reconciler (red team M4, repro-hpa-switch.sh), end to end on
 * the Kubernetes API test server (real CRDs through kubectl, the operator in this process): a Domain on 5
 * API server replicas that turns autoscaling on keeps its 5 pods (the apiserver defaulted the dropped field
 * to 1 before), the HPA's later decision is never undone by a re-apply, and a Domain created with
 * autoscaling gets minReplicas at once.
 */
import { HPA_HANDOVER_FIELD_MANAGER } from '../../operator/src/charts/replica-handover';
import type { Condition, Domain } from '../../operator/src/domain-types';
import type { KubeObject } from '../../operator/src/kube/kube-client';
import { acmeSecretsYaml, domainYaml, expectEvents } from './support/acme-domain';
import { markDeploymentAvailable } from './support/deployments';
import { withDomainSuite } from './support/domain-suite';
import { eventually } from './support/kube';

const NS = 'hpa';
const suite = withDomainSuite({ namespace: NS, domains: ['h', 'fresh'], manifests: [acmeSecretsYaml(NS)] });

type Deployment = KubeObject & { spec: { replicas?: number }; metadata: { labels?: Record<string, string>; managedFields?: { manager: string; fieldsV1?: { 'f:spec'?: Record<string, unknown> } }[] } };
const { apply } = suite;
const deployment = (name: string) => suite.kube.client.get<Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name });
const replicasOwners = async (name: string) => ((await deployment(name)).metadata.managedFields ?? []).filter((e) => e.fieldsV1?.['f:spec']?.['f:replicas']).map((e) => e.manager);
const getDomain = (name: string) => suite.kube.client.get<Domain & KubeObject>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name });
const ready = async (name: string) => (await getDomain(name)).status?.conditions?.find((c: Condition) => c.type === 'Ready');

test('apiServer.replicas 5 -> autoscaling keeps the 5 replicas (repro-hpa-switch.sh); the HPA then owns them and re-applies leave them', async () => {
  await apply(domainYaml(NS, 'h', { apiReplicas: 5 }));
  await eventually(async () => expect((await deployment('h-api')).spec.replicas).toBe(5));
  for (const d of ['h-api', 'h-worker']) await eventually(() => markDeploymentAvailable(suite.kube.client, NS, d));
  await eventually(async () => expect(await ready('h')).toMatchObject({ status: 'True' }));

  // The repro's edit: autoscaling on (min 3, max 10); its chart leaves spec.replicas to the HPA.
  const scaled = domainYaml(NS, 'h', { apiReplicas: 5 }).replace('apiServer: { replicas: 5 }', 'apiServer: { replicas: 5, autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 10 } }');
  await apply(scaled);
  await eventually(async () => expect((await deployment('h-api')).metadata.labels?.['openpds.io/generation']).toBe('2'));
  await eventually(() => suite.kube.client.get({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', namespace: NS, name: 'h-api' }));
  expect((await deployment('h-api')).spec.replicas).toBe(5);
  expect(await replicasOwners('h-api')).toEqual([HPA_HANDOVER_FIELD_MANAGER]);
  // The workers did not autoscale: the chart still owns their count.
  expect((await deployment('h-worker')).spec.replicas).toBe(1);

  // The HPA scales to 7 (through /scale, as kube-controller-manager); a reconcile re-applies the chart and keeps it.
  await suite.kube.client.patch({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'h-api' }, 'merge', { spec: { replicas: 7 } }, { fieldManager: 'kube-controller-manager' });
  suite.operator.controllers.get('Domain')!.enqueue(`${NS}/h`);
  await apply(scaled.replace('workers: { replicas: 1 }', 'workers: { replicas: 2 }')); // a new generation: a full apply
  await eventually(async () => expect((await deployment('h-worker')).spec.replicas).toBe(2));
  expect((await deployment('h-api')).spec.replicas).toBe(7);
  expect(await replicasOwners('h-api')).toEqual(['kube-controller-manager']);
  // Ready once; the autoscaling edit gave h-api a new spec (not rolled out here): Ready turned False, said
  // once; the workers edit waits for the same reason and adds nothing.
  await expectEvents(suite.kube, NS, 'h', ['Normal Ready x1', 'Normal WaitingForReplicas x1']);
});

test('a Domain created with autoscaling gets minReplicas at once, not 1 until the HPA first syncs', async () => {
  await apply(domainYaml(NS, 'fresh').replace('apiServer: { replicas: 1 }', 'apiServer: { replicas: 1, autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 10 } }'));
  await eventually(async () => expect((await deployment('fresh-api')).spec.replicas).toBe(3));
  expect(await replicasOwners('fresh-api')).toEqual([HPA_HANDOVER_FIELD_MANAGER]);
  await expectEvents(suite.kube, NS, 'fresh', []); // waiting for its replicas, never Ready: no Event
});
