/**
 * Deferred drive deletions end to end (drive-deferred-*.ts): a reclaimPolicy Delete Drive deleted while
 * its Domain is gone releases its finalizer but leaves a promise in a ConfigMap; when the Domain is
 * re-created on the same storage and Ready, the drive is deleted — only if it still carries that Drive's
 * marker. The Kubernetes API test server with the real CRDs, the operator in this process, and a real data
 * plane on loopback that outlives the Domain (as its storage would), as in drive.e2e. Each Event is said
 * once (count 1 in `kubectl describe`): a deferral, a deferred deletion done, skipped or kept pending.
 */
import type { AdminClient } from '../../operator/src/admin-client/admin-client';
import type { Drive } from '../../operator/src/domain-types';
import type { KubeObject } from '../../operator/src/kube/kube-client';
import type { RunningOperator } from '../../operator/src/main';
import { freePort } from '../e2e/support/child-server';
import { startTestServer } from '../support/test-server';
import { domainYaml, driveSuiteOperator, drivesNamed, eventsOf, expectEvents, rollOutDomain, startAcmeDomain, startFreshAcmeDataPlane, startKubeWithCrds } from './support/acme-domain';
import { eventually, type TestKube } from './support/kube';
import { kubectl } from './support/kubectl';

const NS = 'tenants';
let kube: TestKube;
let port: number;
let dataPlane: Awaited<ReturnType<typeof startTestServer>> | undefined;
let admin: AdminClient;
let operator: RunningOperator | undefined;
const logs: string[] = [];

const driveYaml = (name: string) => `
apiVersion: openpds.io/v1alpha1
kind: Drive
metadata: { name: ${name}, namespace: ${NS} }
spec:
  domainRef: { name: acme }
  owner: { kind: User, name: alice }
  name: ${name} files
  quota: { totalSize: 1Gi }
  reclaimPolicy: Delete
`;

/**
 * The operator; `drives: false` runs the Domain controller alone (an operator without the Drive kind). No
 * two Drives here share an identity (owner and name), so none can tie with another created in the same
 * second: a new Drive acts at once instead of waiting out that second plus skew (1-2 s per Drive made,
 * driveTieSettleMs; drive-conflict.e2e.test.ts keeps the default).
 */
const start = async (drives = true) => {
  operator = await driveSuiteOperator(kube, NS, port, logs, drives, { driveTieSettleMs: 0 });
};
const stop = async () => {
  await operator?.stop();
  operator = undefined;
};

const apply = (yaml: string) => kubectl(kube.kubeconfig, ['apply', '-f', '-'], yaml);
const getDrive = (name: string) => kube.client.get<Drive & KubeObject>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Drive', namespace: NS, name });
const ready = (d: Drive) => d.status?.conditions?.find((c) => c.type === 'Ready');
const configMap = () => kube.client.find<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'acme-deferred-drive-deletes' });
const events = (name: string) => eventsOf(kube, NS, name);
const domainUid = async () => (await kube.client.get({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name: 'acme' })).metadata?.uid;
/**
 * A Drive deleted while its Domain was gone: created, DomainNotFound (once for all its retries), deferred.
 * Whether it said DomainNotReady in between depends on whether it saw the Domain deleting before it went.
 */
const expectDeferredDriveEvents = (name: string) =>
  expectEvents(kube, NS, name, ['Normal Created x1', 'Warning DomainNotFound x1', 'Normal DeletionDeferred x1'], { reasons: ['Created', 'DomainNotFound', 'DeletionDeferred'] });
const gone = (id: string) => expect(admin.getDrive(id)).rejects.toMatchObject({ isNotFound: true });
const aliceDrivesNamed = (name: string) => drivesNamed(admin, 'alice', name);
async function metric(series: string): Promise<number> {
  const text = await (await fetch(`${operator!.metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function readyDrive(name: string): Promise<Drive & KubeObject> {
  await apply(driveYaml(name));
  return eventually(async () => {
    const d = await getDrive(name);
    expect(ready(d)).toMatchObject({ status: 'True' });
    return d;
  }, 15_000);
}
async function createDomain(): Promise<void> {
  await apply(domainYaml(NS));
  await rollOutDomain(kube, NS);
}
/** Deletes the Domain, waits until the Drives say so, then deletes them: their finalizers go at once. */
async function deleteDomainThenDrives(names: string[]): Promise<void> {
  await kubectl(kube.kubeconfig, ['delete', 'domain', 'acme', '-n', NS, '--timeout=20s']);
  for (const name of names) await eventually(async () => expect(ready(await getDrive(name))).toMatchObject({ status: 'False', reason: 'DomainNotFound' }));
  for (const name of names) await kubectl(kube.kubeconfig, ['delete', 'drive', name, '-n', NS, '--timeout=15s']);
}

beforeAll(async () => {
  kube = await startKubeWithCrds(NS);
  port = await freePort();
  await start();
  ({ dataPlane, admin } = await startAcmeDomain(kube, NS, port));
}, 120_000);

afterAll(async () => {
  if (process.env.DEBUG_LOGS) console.log(logs.filter((l) => !l.startsWith('info')).join('\n'));
  await stop();
  await dataPlane?.stop();
  await kube?.close();
});

test('A Delete Drive deleted while its Domain is gone: recorded, and its drive deleted when the Domain is Ready again; the Drive applied again gets one new drive', async () => {
  const before = await readyDrive('scratch');
  const id = before.status!.driveId!;
  await deleteDomainThenDrives(['scratch']);

  // The finalizer went (the Drive is gone), the promise stayed, and the drive is still there meanwhile.
  const recorded = await configMap();
  expect(recorded?.metadata?.ownerReferences).toBeUndefined();
  expect(recorded?.metadata?.labels).toMatchObject({ 'openpds.io/deferred-drive-deletes': 'true' });
  expect(JSON.parse(recorded!.data![before.metadata.uid!]!)).toMatchObject({ uid: before.metadata.uid, driveId: id, namespace: NS, name: 'scratch', domain: 'acme', owner: { kind: 'User', name: 'alice' } });
  expect((await events('scratch')).find((e) => e.reason === 'DeletionDeferred')?.message).toContain(`drive ${id} will be deleted when Domain ${NS}/acme is Ready again`);
  expect((await admin.getDrive(id)).drive_name).toBe('scratch files');
  await expectDeferredDriveEvents('scratch');

  await createDomain();
  await eventually(() => gone(id));
  await eventually(async () => expect(await configMap()).toBeUndefined());
  const done = (await events('acme')).find((e) => e.reason === 'DeferredDriveDeleted');
  expect(done).toMatchObject({ type: 'Normal', involvedObject: { kind: 'Domain' } });
  expect(done?.message).toContain(`deleted drive ${id}`);
  // The first Domain: Ready, then its deletion (Ready turning False, then done); the second: Ready, and
  // the deferred deletion, not said again on a late watch event. Each once.
  await expectEvents(kube, NS, 'acme', ['Normal Ready x1', 'Normal Deleting x1', 'Normal Deleted x1', 'Normal Ready x1', 'Normal DeferredDriveDeleted x1']);
  expect(await metric('openpds_operator_deferred_drive_deletes_total{result="deleted"}')).toBe(1);
  expect(await metric('openpds_operator_deferred_drive_deletes_total{result="gone"}')).toBe(0); // done once, not again on a late watch event

  const again = await readyDrive('scratch');
  expect(again.status?.driveId).not.toBe(id);
  expect(await aliceDrivesNamed('scratch files')).toEqual([expect.objectContaining({ drive_id: again.status!.driveId })]);
  // Its deletion with the Domain there is the ordinary one.
  await kubectl(kube.kubeconfig, ['delete', 'drive', 'scratch', '-n', NS, '--timeout=15s']);
  await gone(again.status!.driveId!);
  expect(await configMap()).toBeUndefined();
  await expectEvents(kube, NS, 'scratch', ['Normal Created x1', 'Normal Deleted x1'], { uid: again.metadata.uid });
});

test('A drive whose marker was changed by hand meanwhile is left alone; the promise survives an operator restart (finished at start-up)', async () => {
  const edited = await readyDrive('edited');
  const owed = await readyDrive('owed');
  const editedId = edited.status!.driveId!;
  const owedId = owed.status!.driveId!;
  await deleteDomainThenDrives(['edited', 'owed']);
  expect(Object.keys((await configMap())!.data!).sort()).toEqual([edited.metadata.uid, owed.metadata.uid].sort());
  // Someone takes the drive over by hand while the Domain is away: its marker is gone.
  await admin.updateDrive(editedId, { description: 'kept by hand' });

  // The Domain comes back while no Drive controller runs: nothing acts, the promise waits.
  await stop();
  await start(false);
  await createDomain();
  expect(Object.keys((await configMap())!.data!)).toHaveLength(2);
  await stop();

  // An operator starting with the Domain already Ready finishes what is pending.
  await start();
  await eventually(() => gone(owedId));
  await eventually(async () => expect(await configMap()).toBeUndefined());
  expect(await admin.getDrive(editedId)).toMatchObject({ description: 'kept by hand', drive_name: 'edited files' });
  const skipped = (await events('acme')).find((e) => e.reason === 'DeferredDriveDeleteSkipped');
  expect(skipped).toMatchObject({ type: 'Warning' });
  expect(skipped?.message).toContain(`drive ${editedId} no longer carries the marker of Drive ${NS}/edited (uid ${edited.metadata.uid}`);
  expect((await events('acme')).find((e) => e.reason === 'DeferredDriveDeleted' && e.message.includes(owedId))).toBeDefined();
  expect(await metric('openpds_operator_deferred_drive_deletes_total{result="skipped"}')).toBe(1);
  // Ready said once, by the operator that saw it turn Ready (the restarted one found it Ready: no Event).
  await expectEvents(kube, NS, 'acme', ['Normal Ready x1', 'Warning DeferredDriveDeleteSkipped x1', 'Normal DeferredDriveDeleted x1'], { uid: await domainUid() });
  for (const name of ['edited', 'owed']) await expectDeferredDriveEvents(name);
});

test('A forged entry (anyone who may write ConfigMaps, naming a live Drive\'s uid) deletes nothing: unsigned entries and entries for a Drive that exists are dropped', async () => {
  const victim = await readyDrive('victim');
  const id = victim.status!.driveId!;
  const forged = (uid: string, extra: object = {}) => JSON.stringify({ uid, namespace: NS, name: 'x', domain: 'acme', driveId: id, owner: { kind: 'User', name: 'alice' }, deleteAdopted: true, recordedAt: new Date().toISOString(), ...extra });
  // The exact name, label and annotation the operator writes; a made-up signature.
  await apply(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: acme-deferred-drive-deletes\n  namespace: ${NS}\n  labels: { openpds.io/deferred-drive-deletes: "true" }\n  annotations: { openpds.io/deferred-drive-deletes-domain: acme }\ndata:\n  ${victim.metadata.uid}: '${forged(victim.metadata.uid!, { signature: 'AAAA' })}'\n`);
  // And one under another name, which is never read at all.
  await apply(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: totally-legit\n  namespace: ${NS}\n  labels: { openpds.io/deferred-drive-deletes: "true" }\n  annotations: { openpds.io/deferred-drive-deletes-domain: acme }\ndata:\n  ${victim.metadata.uid}: '${forged(victim.metadata.uid!)}'\n`);
  await eventually(async () => expect(await configMap()).toBeUndefined()); // the forged entry dropped with the ConfigMap
  await new Promise((r) => setTimeout(r, 500));
  const skipped = (await events('acme')).filter((e) => e.reason === 'DeferredDriveDeleteSkipped' && e.message.includes(victim.metadata.uid!));
  expect(skipped.map((e) => [e.type, e.count, e.message])).toEqual([['Warning', 1, expect.stringContaining("is not signed with the Domain's admin Secret")]]);
  expect(await admin.getDrive(id)).toMatchObject({ drive_id: id, drive_name: 'victim files' });
  expect(ready(await getDrive('victim'))).toMatchObject({ status: 'True' });
  await kubectl(kube.kubeconfig, ['delete', 'configmap', 'totally-legit', '-n', NS]);
  await kubectl(kube.kubeconfig, ['delete', 'drive', 'victim', '-n', NS, '--timeout=15s']);
  await expectEvents(kube, NS, 'victim', ['Normal Created x1', 'Normal Deleted x1']);
});

test('The Domain back on other storage: the entry is not dropped as done but stays pending, with a Warning naming it and how to drop it', async () => {
  const lost = await readyDrive('lost');
  const id = lost.status!.driveId!;
  const uid = lost.metadata.uid!;
  await deleteDomainThenDrives(['lost']);
  // The Domain comes back on a new database and store (its admin Secret kept): the drive is not there.
  await dataPlane!.stop();
  ({ dataPlane, admin } = await startFreshAcmeDataPlane(kube, NS, port));
  await createDomain();
  const pending = await eventually(async () => {
    const found = (await events('acme')).find((e) => e.reason === 'DeferredDriveDeletePending' && e.message.includes(uid));
    expect(found).toMatchObject({ type: 'Warning' });
    return found!;
  }, 15_000);
  expect(pending.message).toContain(`it is not the storage drive ${id} was in, so the deletion stays pending`);
  expect(Object.keys((await configMap())!.data!)).toEqual([uid]);
  expect(await metric('openpds_operator_deferred_drive_deletes_total{result="pending"}')).toBe(1);
  expect(await metric('openpds_operator_deferred_drive_deletes_total{result="gone"}')).toBe(0);

  // O&M drops it with the command the Event names: nothing else happens, and nothing comes back.
  const command = /kubectl -n \S+ patch configmap \S+ --type=json -p '(.*)'$/.exec(pending.message)!;
  await kubectl(kube.kubeconfig, ['patch', 'configmap', 'acme-deferred-drive-deletes', '-n', NS, '--type=json', '-p', command[1]!]);
  await new Promise((r) => setTimeout(r, 500));
  expect((await configMap())?.data ?? {}).toEqual({});
  // Kept pending, said once (not at each Domain event), and dropping it adds nothing.
  await expectEvents(kube, NS, 'acme', ['Normal Ready x1', 'Warning DeferredDriveDeletePending x1'], { uid: await domainUid() });
  await expectDeferredDriveEvents('lost');
  await kubectl(kube.kubeconfig, ['delete', 'configmap', 'acme-deferred-drive-deletes', '-n', NS]);
});

test('Deleting the namespace of a Delete Drive whose Domain is gone is not blocked: nothing can be recorded there, the Drive goes and its drive stays', async () => {
  const last = await readyDrive('last');
  const id = last.status!.driveId!;
  await kubectl(kube.kubeconfig, ['delete', 'domain', 'acme', '-n', NS, '--timeout=20s']);
  await eventually(async () => expect(ready(await getDrive('last'))).toMatchObject({ status: 'False', reason: 'DomainNotFound' }));
  // The namespace's deletion deletes the Drive: its finalizer must not wait for a ConfigMap it cannot create.
  await kubectl(kube.kubeconfig, ['delete', 'namespace', NS, '--timeout=30s']);
  expect(await kube.client.find({ apiVersion: 'v1', kind: 'Namespace', name: NS })).toBeUndefined();
  expect((await admin.getDrive(id)).drive_name).toBe('last files');
  // Not retried as a failed reconcile (Events cannot be written there either: the recorder only logs that).
  expect(logs.filter((l) => l.startsWith('warn reconcile requeued') && l.includes('being terminated'))).toEqual([]);
});
