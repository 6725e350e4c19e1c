/**
 * A Domain whose pods cannot start says why in its Ready condition, end to end on the Kubernetes API test
 * server: the data plane's container crash-loops on a blob store another installation claims (its
 * termination message, as `openpds serve` writes it), the worker's image cannot be pulled. No kubelet runs
 * here (as with envtest): the test writes the pods and their status as the kubelet would, and the
 * Deployments' status as their controller would. The pods are listed only once the Domain has waited
 * podDiagnosisAfterMs (1.5 s here, 20 s by default); then they recover and the Domain is Ready, the reason
 * gone. (That the ClusterRole lets the operator list pods is config/config.test.ts's.)
 */
import type { Condition, Domain } from '../../operator/src/domain-types';
import type { KubeObject } from '../../operator/src/kube/kube-client';
import { acmeSecretsYaml, domainYaml } from './support/acme-domain';
import { markDeploymentAvailable } from './support/deployments';
import { withDomainSuite } from './support/domain-suite';
import { eventually } from './support/kube';
import { kubectl } from './support/kubectl';

const NS = 'pods';
const REFUSED = 'StorageClaim.HeldByOther: openpds: invalid configuration: the blob store s3://openpds/acme/ is claimed by instance 7f3 of domain "old"';
const suite = withDomainSuite({ namespace: NS, startOperator: false });

const ready = async () => (await suite.kube.client.get<Domain & KubeObject>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name: 'acme' })).status?.conditions?.find((c: Condition) => c.type === 'Ready');

/** A pod of `component` as its ReplicaSet creates it, its status as the kubelet then writes it. */
async function podWithStatus(name: string, component: string, containerStatus: Record<string, unknown>): Promise<void> {
  const labels = { 'app.kubernetes.io/name': 'openpds', 'app.kubernetes.io/instance': 'acme', 'app.kubernetes.io/component': component };
  const ref = { apiVersion: 'v1', kind: 'Pod', namespace: NS, name };
  if (!(await suite.kube.client.find(ref))) await suite.kube.client.create({ ...ref, metadata: { name, namespace: NS, labels }, spec: { containers: [{ name: component, image: 'openpds/openpds:test' }] } } as KubeObject);
  await suite.kube.client.patch(ref, 'merge', { status: { phase: 'Running', containerStatuses: [{ name: component, ...containerStatus }] } }, { subresource: 'status' });
}

/** The Deployment controller's view of one pod created and not available: it wakes the Domain, as on a cluster. */
async function markUnavailable(name: string): Promise<void> {
  const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name };
  const d = await suite.kube.client.get(ref);
  await suite.kube.client.patch(ref, 'merge', { status: { observedGeneration: d.metadata?.generation, replicas: 1, updatedReplicas: 1, unavailableReplicas: 1, availableReplicas: 0 } }, { subresource: 'status' });
}

test("a crash loop's termination message and an image pull failure reach the Domain's Ready message; recovered, it is Ready", async () => {
  await suite.startOperator({ podDiagnosisAfterMs: 1500 });
  await kubectl(suite.kube.kubeconfig, ['apply', '-f', '-'], `${acmeSecretsYaml(NS)}---\n${domainYaml(NS)}`);
  await eventually(() => suite.kube.client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'acme-worker' }), 15_000);
  await eventually(async () => expect(await ready()).toMatchObject({ reason: 'WaitingForReplicas' }), 15_000, 100);
  // The operator's lists (the collection), not this test's reads of its own pods by name.
  const podLists = () => suite.kube.server.hooks.requests().filter((r) => r.method === 'GET' && r.path === `/api/v1/namespaces/${NS}/pods`);
  expect(podLists()).toEqual([]); // the wait has just begun: no request for pods
  const waitingFrom = Date.now();

  await podWithStatus('acme-api-6d4-k2x', 'api-server', {
    ready: false,
    started: false,
    restartCount: 4,
    state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 1m20s restarting failed container=api-server pod=acme-api-6d4-k2x_pods(u1)' } },
    lastState: { terminated: { exitCode: 1, reason: 'Error', message: REFUSED } },
  });
  await podWithStatus('acme-worker-5c8-p9q', 'worker', { ready: false, image: 'openpds/openpds:test', state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "openpds/openpds:test"' } } });
  await new Promise((r) => setTimeout(r, Math.max(0, waitingFrom + 1600 - Date.now())));
  await markUnavailable('acme-api');
  await markUnavailable('acme-worker');

  await eventually(async () => {
    const condition = await ready();
    expect(condition).toMatchObject({ status: 'False', reason: 'WaitingForReplicas' });
    expect(condition!.message).toContain(`pod acme-api-6d4-k2x: container api-server crash-looping, last exit code 1: ${REFUSED}`);
    expect(condition!.message).toContain('pod acme-worker-5c8-p9q: container worker cannot pull its image openpds/openpds:test');
  }, 20_000, 200);
  // What O&M reads at a glance, the pods' reasons included.
  expect(await kubectl(suite.kube.kubeconfig, ['get', 'domain', 'acme', '-n', NS, '-o', "jsonpath={.status.conditions[?(@.type=='Ready')].message}"])).toContain('StorageClaim.HeldByOther');
  expect(podLists().length).toBeGreaterThan(0);
  expect(podLists().every((r) => r.query.startsWith('?labelSelector=app.kubernetes.io%2Fname%3Dopenpds%2Capp.kubernetes.io%2Finstance%3Dacme'))).toBe(true); // never the namespace's every pod

  // The takeover done, the pods run: the Deployments roll out and the Domain is Ready, no pod named.
  for (const name of ['acme-api', 'acme-worker']) await markDeploymentAvailable(suite.kube.client, NS, name);
  await eventually(async () => expect(await ready()).toMatchObject({ status: 'True', reason: 'Ready', message: expect.not.stringContaining('pod ') }), 20_000, 200);
}, 90_000);
