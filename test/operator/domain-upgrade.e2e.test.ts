/**
 * upgrade.policy Manual end to end on the Kubernetes API test server (real CRDs through kubectl, the
 * operator in this process), as the red team's upgrade repros ran it: an apply that fails after the
 * Deployments (the PrometheusRule CRD gone) still records the approved image they run, so the next
 * unapproved spec.image keeps it (H1); a Domain re-created over its kept data does not run an unapproved
 * image (M1); a 68-character tag applies (L1); a held upgrade shows as UpgradePending and one Event (L2).
 * Each transition's Event is said once (count 1 in `kubectl describe`), retries with backoff included.
 */
import type { Condition, Domain } from '../../operator/src/domain-types';
import type { KubeObject } from '../../operator/src/kube/kube-client';
import { markDeploymentAvailable } from './support/deployments';
import { withDomainSuite } from './support/domain-suite';
import { eventually } from './support/kube';
import { describedEvents, expectEvents, type EventFilter } from './support/acme-domain';
import { kubectl } from './support/kubectl';
import { MONITORING_CRDS_YAML } from './support/readyz-stub';
import { volumeDomainYaml } from './support/volume-domain';

const NS = 'upgrades';
const IMAGE = (tag: string) => `registry.example.com/openpds/openpds:${tag}`;
const suite = withDomainSuite({
  namespace: NS,
  domains: ['held', 'tag', 'partial'],
  manifests: [MONITORING_CRDS_YAML],
  operator: {
    monitoring: 'auto',
    // The CRD removed below is not noticed before the next apply, as in the red team's run.
    monitoringRecheckMs: 60 * 60_000,
  },
});

const domainYaml = (name: string, image: string, upgrade: string) => volumeDomainYaml(NS, name, `  image: ${image}\n  upgrade: ${upgrade}\n`);
const { apply } = suite;
const getDomain = (name: string) => suite.kube.client.get<Domain & KubeObject>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name });
const condition = (d: { status?: { conditions?: Condition[] } }, type: string) => d.status?.conditions?.find((c) => c.type === type);
const deployment = (name: string) => suite.kube.client.find<KubeObject & { spec: { template: { spec: { containers: { image: string }[] } } } }>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: `${name}-api` });
const apiImage = async (name: string) => (await deployment(name))?.spec.template.spec.containers[0]!.image;
const expectEventsOf = (name: string, expected: string[], filter?: EventFilter) => expectEvents(suite.kube, NS, name, expected, filter);
/** The Deployment rolled out and the Domain Ready on `image`. */
async function readyOn(name: string, image: string) {
  await eventually(async () => expect(await apiImage(name)).toBe(image));
  await markDeploymentAvailable(suite.kube.client, NS, `${name}-api`);
  await eventually(async () => expect(condition(await getDomain(name), 'Ready')).toMatchObject({ status: 'True', observedGeneration: (await getDomain(name)).metadata.generation }));
}

test('a held upgrade shows (UpgradePending, one Event, Ready stays True); re-created over its kept data, an unapproved image is not run', async () => {
  await apply(domainYaml('held', IMAGE('0.2.0'), '{ policy: Manual }'));
  await readyOn('held', IMAGE('0.2.0')); // a new Domain: nothing kept, spec.image runs
  const first = (await getDomain('held')).metadata.uid;

  await apply(domainYaml('held', IMAGE('0.3.0'), `{ policy: Manual, approvedImage: "${IMAGE('0.2.0')}" }`));
  await eventually(async () => expect(condition(await getDomain('held'), 'UpgradePending')).toMatchObject({ status: 'True', reason: 'AwaitingApproval', observedGeneration: 2 }));
  const held = await getDomain('held');
  expect(condition(held, 'UpgradePending')?.message).toBe(`spec.image ${IMAGE('0.3.0')} waits for approval (upgrade.policy Manual): running ${IMAGE('0.2.0')}; upgrade.approvedImage is ${IMAGE('0.2.0')}, another image. Set upgrade.approvedImage to ${IMAGE('0.3.0')} to roll it out`);
  expect(condition(held, 'Ready')).toMatchObject({ status: 'True', reason: 'Ready', observedGeneration: 2 });
  expect(await apiImage('held')).toBe(IMAGE('0.2.0'));
  await eventually(async () => expect(await describedEvents(suite.kube, NS, 'held', { reasons: ['UpgradePending'] })).toHaveLength(1));
  suite.operator.controllers.get('Domain')!.enqueue(`${NS}/held`); // a resync: no second Event, and no count 2
  await expectEventsOf('held', ['Normal Ready x1', 'Normal UpgradePending x1']);

  // Deleted (the admin Secret and the claim stay), re-created from a manifest that approves nothing.
  await kubectl(suite.kube.kubeconfig, ['delete', 'domain', 'held', '-n', NS, '--wait=false']);
  await eventually(async () => expect(await suite.kube.client.find({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name: 'held' })).toBeUndefined());
  expect(await suite.kube.client.find({ apiVersion: 'v1', kind: 'Secret', namespace: NS, name: 'held-admin' })).toBeDefined();
  // Ready turned False as its children went (Deleting), then the deletion was done.
  await expectEventsOf('held', ['Normal Ready x1', 'Normal UpgradePending x1', 'Normal Deleting x1', 'Normal Deleted x1'], { uid: first });
  await apply(domainYaml('held', IMAGE('0.3.0'), '{ policy: Manual }'));
  await eventually(async () => expect(condition(await getDomain('held'), 'Ready')).toMatchObject({ status: 'False', reason: 'ImageNotApproved', message: expect.stringContaining(`the admin Secret ${NS}/held-admin and the volume claim held-data`) }));
  expect(condition(await getDomain('held'), 'Degraded')).toMatchObject({ status: 'True', reason: 'ImageNotApproved' });
  expect(await deployment('held')).toBeUndefined();
  // The image that last ran approved: it runs, and spec.image waits.
  await apply(domainYaml('held', IMAGE('0.3.0'), `{ policy: Manual, approvedImage: "${IMAGE('0.2.0')}" }`));
  await readyOn('held', IMAGE('0.2.0'));
  expect((await getDomain('held')).status?.currentImage).toBe(IMAGE('0.2.0'));
  // The re-created Domain's own Events: the refusal once for all its retries, then Ready, then the wait.
  await expectEventsOf('held', ['Warning ImageNotApproved x1', 'Normal Ready x1', 'Normal UpgradePending x1'], { uid: (await getDomain('held')).metadata.uid });
});

test('an image tag longer than 63 characters applies: the version label is cut, the image is whole', async () => {
  const tag = 'main-20261206T213344Z-0123456789abcdef0123456789abcdef01234567-amd64';
  await apply(domainYaml('tag', `r/openpds:${tag}`, '{ policy: Automatic }'));
  await readyOn('tag', `r/openpds:${tag}`);
  expect((await deployment('tag'))?.metadata?.labels?.['app.kubernetes.io/version']).toBe(tag.slice(0, 62)); // 63 characters would end in '-'
  await expectEventsOf('tag', ['Normal Ready x1']);
});

test('Manual: an approved image applied by an apply that then fails (PrometheusRule CRD gone) is currentImage, and the next unapproved spec.image does not roll its pods back', async () => {
  await apply(domainYaml('partial', IMAGE('0.1.0'), '{ policy: Manual }'));
  await readyOn('partial', IMAGE('0.1.0'));
  expect(await suite.kube.client.find({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', namespace: NS, name: 'partial' })).toBeDefined();

  await kubectl(suite.kube.kubeconfig, ['delete', 'crd', 'prometheusrules.monitoring.coreos.com']);
  await apply(domainYaml('partial', IMAGE('0.2.0'), `{ policy: Manual, approvedImage: "${IMAGE('0.2.0')}" }`));
  await eventually(async () => expect(condition(await getDomain('partial'), 'Ready')).toMatchObject({ reason: 'ApplyFailed', observedGeneration: 2 }));
  expect(await apiImage('partial')).toBe(IMAGE('0.2.0')); // its pods start and migrate the database
  expect((await getDomain('partial')).status?.currentImage).toBe(IMAGE('0.2.0'));

  await apply(domainYaml('partial', IMAGE('0.3.0'), `{ policy: Manual, approvedImage: "${IMAGE('0.2.0')}" }`));
  await eventually(async () => expect(condition(await getDomain('partial'), 'Ready')).toMatchObject({ reason: 'ApplyFailed', observedGeneration: 3 }));
  expect(await apiImage('partial')).toBe(IMAGE('0.2.0'));
  expect((await getDomain('partial')).status?.currentImage).toBe(IMAGE('0.2.0'));
  // One failure, said when it started: its retries with backoff, and generation 3 failing for the same
  // reason, add no Event and no count.
  await expectEventsOf('partial', ['Normal Ready x1', 'Warning ApplyFailed x1']);
});
