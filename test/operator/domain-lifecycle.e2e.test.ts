/**
 * Domain lifecycle edges the red team found, end to end on the Kubernetes API test server with the real
 * CRDs (applied by kubectl) and the operator in this process: the Manual upgrade policy never rolls back to
 * an image older than one already applied; a hand-deleted admin Secret blocks instead of being replaced by
 * new credentials; deletion touches only objects the Domain controls; a Domain that never served does not
 * wait for its Delete Drives. No data plane is needed: these Domains never get past /readyz (refused).
 * Each transition's Event is said once (count 1 in `kubectl describe`), retries with backoff included: the
 * steps of waiting write none, a failure one when it starts, a deletion one when it is done.
 */
import type { Condition, Domain } from '../../operator/src/domain-types';
import type { KubeObject } from '../../operator/src/kube/kube-client';
import { defaultReconcilers } from '../../operator/src/reconcilers/drive.registration';
import { domainConfigMaps, podConfigMap } from './support/deployments';
import { withDomainSuite } from './support/domain-suite';
import { eventually } from './support/kube';
import { eventsOf, expectEvents, type EventFilter } from './support/acme-domain';
import { kubectl } from './support/kubectl';
import { volumeDomainYaml } from './support/volume-domain';

const NS = 'lifecycle';
const suite = withDomainSuite({
  namespace: NS,
  domains: ['upgrade', 'locked', 'foreign', 'blocked', 'hooks', 'first', 'second', 'older', 'newer', 'shop'],
  // Nothing listens there: /readyz is refused, as for pods that never start.
  dataPlane: 'refused',
  operator: { monitoring: 'auto', reconcilers: defaultReconcilers() },
});

const IMAGE = (tag: string) => `registry.example.com/openpds/openpds:${tag}`;
/** A single-pod Domain on a volume: no Secret to reference, no worker Deployment. */
const domainYaml = (name: string, spec = '') => volumeDomainYaml(NS, name, spec);
const { apply } = suite;
const getDomain = (name: string) => suite.kube.client.get<Domain & KubeObject>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name });
const findDomain = (name: string) => suite.kube.client.find({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name });
const condition = (d: { status?: { conditions?: Condition[] } }, type: string) => d.status?.conditions?.find((c) => c.type === type);
const expectEventsOf = (name: string, expected: string[], filter?: EventFilter) => expectEvents(suite.kube, NS, name, expected, filter);
const apiImage = async (name: string) => {
  const d = await suite.kube.client.get<KubeObject & { spec: { template: { spec: { containers: { image: string }[] } } } }>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: `${name}-api` });
  return d.spec.template.spec.containers[0]!.image;
};

test('upgrade policy Manual keeps the image last applied, even before it was Ready: an edit of spec.image never rolls the pods back past a migration', async () => {
  await apply(domainYaml('upgrade', `  image: ${IMAGE('0.1.0')}\n`));
  await eventually(async () => expect(await apiImage('upgrade')).toBe(IMAGE('0.1.0')));
  await eventually(async () => expect((await getDomain('upgrade')).status?.currentImage).toBe(IMAGE('0.1.0')));

  // 0.2.0 approved and applied (its pods would migrate the database as they start), never Ready here.
  await apply(domainYaml('upgrade', `  image: ${IMAGE('0.2.0')}\n  upgrade: { policy: Manual, approvedImage: "${IMAGE('0.2.0')}" }\n`));
  await eventually(async () => expect(await apiImage('upgrade')).toBe(IMAGE('0.2.0')));
  await eventually(async () => expect((await getDomain('upgrade')).status?.currentImage).toBe(IMAGE('0.2.0')));
  expect(condition(await getDomain('upgrade'), 'Ready')?.status).toBe('False');

  // 0.3.0 asked for but not approved: 0.2.0 stays (it went back to 0.1.0, the last Ready image, before).
  await apply(domainYaml('upgrade', `  image: ${IMAGE('0.3.0')}\n  upgrade: { policy: Manual, approvedImage: "${IMAGE('0.2.0')}" }\n`));
  await eventually(async () => expect((await getDomain('upgrade')).status?.observedGeneration).toBe(3));
  expect(await apiImage('upgrade')).toBe(IMAGE('0.2.0'));
  expect((await getDomain('upgrade')).status?.currentImage).toBe(IMAGE('0.2.0'));

  await apply(domainYaml('upgrade', `  image: ${IMAGE('0.3.0')}\n  upgrade: { policy: Manual, approvedImage: "${IMAGE('0.3.0')}" }\n`));
  await eventually(async () => expect(await apiImage('upgrade')).toBe(IMAGE('0.3.0')));
  // The held upgrade said once; never Ready, so nothing else (waiting for replicas writes no Event).
  await expectEventsOf('upgrade', ['Normal UpgradePending x1']);
});

test('an admin Secret deleted by hand is MissingAdminSecret (Degraded, nothing applied), not new credentials the data plane would refuse', async () => {
  await apply(domainYaml('locked'));
  await eventually(async () => expect((await getDomain('locked')).status?.adminSecretRef).toEqual({ name: 'locked-admin' }));
  await kubectl(suite.kube.kubeconfig, ['delete', 'secret', 'locked-admin', '-n', NS]);
  // Any reason to apply again: here a spec change.
  await apply(domainYaml('locked', '  logLevel: debug\n'));
  await eventually(async () => expect(condition(await getDomain('locked'), 'Ready')).toMatchObject({ status: 'False', reason: 'MissingAdminSecret', observedGeneration: 2, message: expect.stringContaining('Restore the Secret (password, secretKey, username) from a backup') }));
  expect(condition(await getDomain('locked'), 'Degraded')).toMatchObject({ status: 'True', reason: 'MissingAdminSecret' });
  expect(await suite.kube.client.find({ apiVersion: 'v1', kind: 'Secret', namespace: NS, name: 'locked-admin' })).toBeUndefined();
  const configs = await domainConfigMaps(suite.kube.client, NS, 'locked');
  expect(configs.map((c) => c.metadata?.labels?.['openpds.io/generation'])).toEqual(['1']); // generation 2 was not applied
  expect(configs[0]!.data.OPENPDS_LOG_LEVEL).not.toBe('debug');
  await expectEventsOf('locked', ['Warning MissingAdminSecret x1']); // when it starts, not at each retry
});

test('deleting a Domain deletes what it controls, not objects that merely carry its label (kustomize commonLabels)', async () => {
  await apply(domainYaml('foreign'));
  await eventually(async () => expect(await suite.kube.client.find({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'foreign-api' })).toBeDefined());
  await apply(`apiVersion: v1\nkind: ConfigMap\nmetadata: { name: team-notes, namespace: ${NS}, labels: { openpds.io/domain: foreign, openpds.io/generation: "1" } }\ndata: { note: keep me }\n`);
  await kubectl(suite.kube.kubeconfig, ['delete', 'domain', 'foreign', '-n', NS, '--wait=false']);
  await eventually(async () => expect(await findDomain('foreign')).toBeUndefined());
  expect(await suite.kube.client.find({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'foreign-api' })).toBeUndefined();
  expect(await suite.kube.client.find({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'team-notes' })).toBeDefined();
  await expectEventsOf('foreign', ['Normal Deleted x1']);
});

test('a Domain that never served (blocked on a missing Secret) and its reclaimPolicy Delete Drive are deleted together, without waiting on each other', async () => {
  await apply(`${domainYaml('blocked')}  database: { urlSecretRef: { name: no-such-secret } }\n`);
  await apply(`apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: { name: team, namespace: ${NS} }\nspec: { domainRef: { name: blocked }, owner: { kind: Group, name: team }, reclaimPolicy: Delete }\n`);
  await eventually(async () => expect(condition(await getDomain('blocked'), 'Ready')?.reason).toBe('MissingSecret'));
  await kubectl(suite.kube.kubeconfig, ['delete', 'drive', 'team', '-n', NS, '--wait=false']);
  await kubectl(suite.kube.kubeconfig, ['delete', 'domain', 'blocked', '-n', NS, '--wait=false']);
  await eventually(async () => {
    expect(await findDomain('blocked')).toBeUndefined();
    expect(await suite.kube.client.find({ apiVersion: 'openpds.io/v1alpha1', kind: 'Drive', namespace: NS, name: 'team' })).toBeUndefined();
  }, 20_000);
  const deleted = (await eventsOf(suite.kube, NS, 'blocked')).filter((e) => e.reason === 'Deleted');
  expect(deleted).toHaveLength(1);
  expect(deleted[0]!.message).toContain('1 Drive(s) with reclaimPolicy Delete were not deleted through the data plane (the data plane was never created)');
  expect(deleted[0]!.message).not.toContain('volume claim'); // never created either
  await expectEventsOf('blocked', ['Warning MissingSecret x1', 'Normal Deleted x1']); // retried with backoff, said once
  // The Drive's deletion could not be recorded for later (no admin Secret signs it). Whether it said
  // DomainNotReady first depends on whether it saw the Domain before it went.
  await expectEventsOf('team', ['Warning DeletionNotRecorded x1'], { reasons: ['DeletionNotRecorded'] });
});

test('without the Prometheus Operator no alert webhook is rendered, so a webhook Secret that does not exist blocks nothing', async () => {
  await apply(domainYaml('hooks', '  alerts: { webhooks: [{ name: pager, urlSecretRef: { name: no-such-webhook-secret } }] }\n'));
  // Past the Secret check and the apply: waiting for the pod's /readyz, not MissingSecret.
  await eventually(async () => expect(condition(await getDomain('hooks'), 'Ready')?.reason).toBe('WaitingForReplicas'));
  expect(await suite.kube.client.find({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'hooks-api' })).toBeDefined();
  await expectEventsOf('hooks', []); // waiting steps show in the conditions only
});

test('a second Domain on the same bucket and prefix is StorageConflict and applies nothing; it runs once the first is gone', async () => {
  await apply(`apiVersion: v1\nkind: Secret\nmetadata: { name: shared-db, namespace: ${NS} }\nstringData: { url: "postgres://openpds@db:5432/media" }\n`);
  const onS3 = (name: string, prefix: string) =>
    `apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: { name: ${name}, namespace: ${NS} }\nspec:\n  storage: { mode: standard, s3: { endpoint: "http://rgw.storage.svc:7480", bucket: media, prefix: ${prefix} } }\n  database: { urlSecretRef: { name: shared-db } }\n`;
  await apply(onS3('first', 'media/'));
  await eventually(async () => expect(await suite.kube.client.find({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'first-api' })).toBeDefined());
  await apply(onS3('second', 'media/'));
  await eventually(async () => expect(condition(await getDomain('second'), 'Ready')).toMatchObject({ status: 'False', reason: 'StorageConflict', message: expect.stringContaining(`overlaps Domain ${NS}/first, whose data plane runs there`) }));
  expect(condition(await getDomain('second'), 'Degraded')?.status).toBe('True');
  expect(await suite.kube.client.find({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'second-api' })).toBeUndefined();
  expect(condition(await getDomain('first'), 'Ready')?.reason).not.toBe('StorageConflict');

  await kubectl(suite.kube.kubeconfig, ['delete', 'domain', 'first', '-n', NS, '--wait=false']);
  await eventually(async () => expect(await suite.kube.client.find({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'second-api' })).toBeDefined(), 15_000);
  // The conflict said once for all its retries; running after it (waiting, never Ready) says nothing more.
  await expectEventsOf('second', ['Warning StorageConflict x1']);
  await expectEventsOf('first', ['Normal Deleted x1']);
});

test('an older Domain edited onto the keyspace a newer one runs on is the one held back (StorageConflict); the newer keeps running', async () => {
  // Bucket and prefix cannot change (the CRD refuses it); the endpoint can, so an older Domain on another
  // store's address with the same bucket and prefix can be moved onto a newer one's keyspace by an edit.
  const onS3 = (name: string, endpoint: string, prefix = 'shared/') =>
    `apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: { name: ${name}, namespace: ${NS} }\nspec:\n  storage: { mode: standard, s3: { endpoint: "${endpoint}", bucket: edits, prefix: ${prefix} } }\n  database: { urlSecretRef: { name: shared-db } }\n`;
  const A = 'http://rgw-a.storage.svc:7480';
  const B = 'http://rgw-b.storage.svc:7480';
  await apply(onS3('older', A));
  await eventually(async () => expect((await getDomain('older')).status?.storage).toEqual({ endpoint: A, bucket: 'edits', prefix: 'shared/' }));
  await new Promise((r) => setTimeout(r, 1100)); // a creationTimestamp a second later: newer is newer
  await apply(onS3('newer', B));
  await eventually(async () => expect((await getDomain('newer')).status?.storage?.endpoint).toBe(B));

  await expect(apply(onS3('older', A, 'elsewhere/'))).rejects.toThrow('storage.s3 bucket and prefix cannot change after creation');
  await apply(onS3('older', B));
  await eventually(async () => expect(condition(await getDomain('older'), 'Ready')).toMatchObject({ reason: 'StorageConflict', observedGeneration: 2, message: expect.stringContaining(`overlaps Domain ${NS}/newer, whose data plane runs there`) }));
  expect((await getDomain('older')).status?.storage?.endpoint).toBe(A); // still running where it was
  const config = await podConfigMap(suite.kube.client, NS, 'older-api');
  expect(JSON.stringify(config.data)).toContain('rgw-a');
  expect(JSON.stringify(config.data)).not.toContain('rgw-b');
  await new Promise((r) => setTimeout(r, 500));
  expect(condition(await getDomain('newer'), 'Ready')?.reason).not.toBe('StorageConflict');
  await expectEventsOf('older', ['Warning StorageConflict x1']);
  await expectEventsOf('newer', []);
});

// Server-side apply with force takes over any object of a child's name: a hand-made Service would have
// had the Domain's selector merged into its own and its controller reference added, and a later prune or
// the Domain's deletion would have deleted it (session 25 review). Like Helm, the Domain adopts nothing.
test('a Domain whose child name an object not its own already bears is NameConflict, applies nothing and leaves it be; it applies once the name is free', async () => {
  const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'shop-api', namespace: NS, labels: { app: 'shop' } }, spec: { selector: { app: 'shop' }, ports: [{ name: 'http', port: 80 }] } };
  await suite.kube.client.create(service);
  await apply(domainYaml('shop'));
  await eventually(async () =>
    expect(condition(await getDomain('shop'), 'Ready')).toMatchObject({ status: 'False', reason: 'NameConflict', message: expect.stringContaining(`Service/shop-api already exists in namespace ${NS} and is not this Domain's`) }),
  );
  expect(condition(await getDomain('shop'), 'Degraded')?.status).toBe('True');
  const live = await suite.kube.client.get<KubeObject & { spec: { selector: Record<string, string> } }>({ apiVersion: 'v1', kind: 'Service', namespace: NS, name: 'shop-api' });
  expect([live.spec.selector, live.metadata?.ownerReferences ?? []]).toEqual([{ app: 'shop' }, []]);
  expect(await suite.kube.client.find({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'shop-api' })).toBeUndefined();

  await suite.kube.client.delete({ apiVersion: 'v1', kind: 'Service', namespace: NS, name: 'shop-api' });
  await eventually(async () => expect(await suite.kube.client.find({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'shop-api' })).toBeDefined(), 15_000);
  await expectEventsOf('shop', ['Warning NameConflict x1']);
});
