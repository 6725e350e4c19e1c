/**
 * The rollout budget across Domains (red team M3, repro-operator-upgrade.sh), end to end on the Kubernetes
 * API test server (real CRDs through kubectl): five single-pod Domains on volumes (Recreate: a rollout is
 * downtime), an operator upgrade whose chart adds a pod-template annotation (the domainChartOptions test
 * hook, not a second copy of the operator), --max-concurrent-rollouts 2. The new operator rolls at most two
 * Domains at a time, says why the others wait (Progressing RolloutQueued, Ready unchanged, the queued
 * gauge), rolls them all in the end, and applies at once a spec edit O&M makes to a queued Domain. A
 * rollback to the older operator (or a leader flip to it) is held to the same limit. A queued Domain says
 * nothing in its Events (Ready is unchanged); each rollout says Ready turning False and True again, once.
 */
import type { Condition, Domain } from '../../operator/src/domain-types';
import type { KubeObject } from '../../operator/src/kube/kube-client';
import { domainConfigMaps, markDeploymentAvailable, podConfigMap } from './support/deployments';
import { withDomainSuite } from './support/domain-suite';
import { eventually } from './support/kube';
import { describedEvents, expectEvents } from './support/acme-domain';
import { volumeDomainYaml } from './support/volume-domain';

const NS = 'rollouts';
const NAMES = ['d1', 'd2', 'd3', 'd4', 'd5'];
const LIMIT = 2;
const NEW_CHART = { 'example.com/chart': 'v2' };
// The newer operator's chart also adds a setting: a new ConfigMap, which pods held back must not read.
const NEW_SETTING = { OPENPDS_EXAMPLE_SETTING: 'v2' };
// The test starts the operators itself: the old version, the new one, the old one again.
const suite = withDomainSuite({ namespace: NS, domains: NAMES, startOperator: false, operator: { maxConcurrentRollouts: LIMIT, rolloutRetryMs: 200 } });

type Deployment = KubeObject & { metadata: { generation?: number }; spec: { template: { metadata: { annotations?: Record<string, string> }; spec: { containers: { imagePullPolicy?: string }[] } } }; status?: { observedGeneration?: number } };
const domainYaml = (name: string, extra = '') => volumeDomainYaml(NS, name, extra);
const { apply } = suite;
const deployments = async () => (await suite.kube.client.list<Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS })).items;
const newTemplate = (d: Deployment) => d.spec.template.metadata.annotations?.['example.com/chart'] === 'v2';
const oldTemplate = (d: Deployment) => !newTemplate(d);
/** Rolling as the Deployment controller would report it: a generation it has not rolled out yet. */
const rolling = (d: Deployment) => (d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0);
const getDomain = (name: string) => suite.kube.client.get<Domain & KubeObject>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name });
const condition = async (name: string, type: string) => (await getDomain(name)).status?.conditions?.find((c: Condition) => c.type === type);
const queuedGauge = async () => Number(/^openpds_operator_rollouts_queued (\S+)$/m.exec(await (await fetch(`${suite.operator.metricsUrl}/metrics`)).text())?.[1]);

/**
 * Plays the Deployment controller, finishing one rollout at a time, until every Deployment runs `done`'s
 * template rolled out; every sample has at most LIMIT rolling but `exempt` (which rolled for its spec).
 */
async function rollOneByOne(done: (d: Deployment) => boolean, exempt?: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const now = await deployments();
    expect(now.filter((d) => rolling(d) && d.metadata!.name !== exempt).length).toBeLessThanOrEqual(LIMIT);
    if (now.every((d) => done(d) && !rolling(d))) return;
    if (Date.now() > deadline) throw new Error(`not all rolled: ${now.map((d) => `${d.metadata!.name} done=${done(d)} rolling=${rolling(d)}`).join(', ')}`);
    const next = now.find(rolling);
    if (next) await markDeploymentAvailable(suite.kube.client, NS, next.metadata!.name!);
    await new Promise((r) => setTimeout(r, 150));
  }
}

test('an operator upgrade that changes the pod template rolls at most --max-concurrent-rollouts Domains at once, and all in the end', async () => {
  // Five Domains made Ready by the old operator (no new-chart hook). New Domains are never queued.
  await suite.startOperator();
  await apply(NAMES.map((n) => domainYaml(n)).join('---\n'));
  await eventually(async () => expect((await deployments()).length).toBe(NAMES.length));
  for (const n of NAMES) await markDeploymentAvailable(suite.kube.client, NS, `${n}-api`);
  for (const n of NAMES) await eventually(async () => expect(await condition(n, 'Ready')).toMatchObject({ status: 'True' }));
  await suite.operator.stop();

  // The upgrade: a new operator process whose chart adds a pod-template annotation.
  const oldConfigs = new Map(await Promise.all(NAMES.map(async (n) => [n, (await podConfigMap(suite.kube.client, NS, `${n}-api`)).metadata!.name!] as const)));
  await suite.startOperator({ domainChartOptions: { podAnnotations: NEW_CHART, configEnv: NEW_SETTING } });
  await eventually(async () => expect((await deployments()).filter(newTemplate)).toHaveLength(LIMIT));
  await eventually(async () => expect(await queuedGauge()).toBe(NAMES.length - LIMIT));
  await new Promise((r) => setTimeout(r, 600)); // three retries of the queued: still at the limit
  const first = await deployments();
  expect(first.filter(rolling)).toHaveLength(LIMIT);
  const queued = first.filter((d) => !newTemplate(d)).map((d) => d.metadata!.name!.replace(/-api$/, ''));
  expect(queued).toHaveLength(NAMES.length - LIMIT);
  for (const n of queued) {
    expect(await condition(n, 'Ready')).toMatchObject({ status: 'True', reason: 'Ready' });
    expect(await condition(n, 'Progressing')).toMatchObject({ status: 'True', reason: 'RolloutQueued', message: expect.stringContaining(`${LIMIT} or more Domain(s) are rolling out and at most ${LIMIT} roll at once`) });
    expect(await describedEvents(suite.kube, NS, n)).toEqual(['Normal Ready x1']); // the old operator's, none for the wait
    // Its pods, restarted now, read the settings they were started with, not the newer operator's; the
    // new ConfigMap is there already, and the old one stays as long as a Deployment names it.
    const held = await podConfigMap(suite.kube.client, NS, `${n}-api`);
    expect([held.metadata!.name, held.data.OPENPDS_EXAMPLE_SETTING]).toEqual([oldConfigs.get(n), undefined]);
    expect((await domainConfigMaps(suite.kube.client, NS, n)).map((cm) => cm.data.OPENPDS_EXAMPLE_SETTING ?? 'old')).toEqual(expect.arrayContaining(['old', 'v2']));
  }

  // O&M edits a queued Domain's spec: its own change (a new generation) is never queued, even over the limit.
  const edited = queued[0]!;
  await apply(domainYaml(edited, '  imagePullPolicy: Always\n'));
  await eventually(async () => {
    const d = (await deployments()).find((x) => x.metadata!.name === `${edited}-api`)!;
    expect([newTemplate(d), d.spec.template.spec.containers[0]!.imagePullPolicy]).toEqual([true, 'Always']);
  });
  expect((await deployments()).filter(rolling)).toHaveLength(LIMIT + 1);
  await eventually(async () => expect(await condition(edited, 'Progressing')).not.toMatchObject({ reason: 'RolloutQueued' }));

  // Rollouts finish one at a time: every sample stays within the limit (plus the edited Domain, which
  // rolled for its spec), and every Domain rolls in the end.
  await rollOneByOne(newTemplate, `${edited}-api`);
  for (const n of NAMES) await eventually(async () => expect(await condition(n, 'Progressing')).toMatchObject({ status: 'False', reason: 'Reconciled' }));
  for (const n of NAMES) expect(await condition(n, 'Ready')).toMatchObject({ status: 'True' });
  expect(await queuedGauge()).toBe(0);
  // Every Domain rolled: one ConfigMap each, the newer operator's, the old one deleted.
  for (const n of NAMES) {
    await eventually(async () => expect((await domainConfigMaps(suite.kube.client, NS, n)).map((cm) => cm.data.OPENPDS_EXAMPLE_SETTING)).toEqual(['v2']));
    expect((await podConfigMap(suite.kube.client, NS, `${n}-api`)).data.OPENPDS_EXAMPLE_SETTING).toBe('v2');
  }

  // Rolled back (or the Lease flips to an instance of the older version): its chart is held to the limit too.
  await suite.operator.stop();
  await suite.startOperator();
  await eventually(async () => expect((await deployments()).filter((d) => oldTemplate(d) && rolling(d))).toHaveLength(LIMIT));
  await new Promise((r) => setTimeout(r, 600));
  expect((await deployments()).filter(oldTemplate)).toHaveLength(LIMIT);
  await rollOneByOne(oldTemplate);
  await eventually(async () => expect(await queuedGauge()).toBe(0));
  // Per operator process one Ready (each process's recorder starts afresh: a new Event, not a count), and
  // per rollout one WaitingForReplicas (Ready turned False while its single pod was replaced), each once.
  for (const n of NAMES) await expectEvents(suite.kube, NS, n, ['Normal Ready x1', 'Normal WaitingForReplicas x1', 'Normal Ready x1', 'Normal WaitingForReplicas x1', 'Normal Ready x1']);
}, 60_000);
