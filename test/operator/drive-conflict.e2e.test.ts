/**
 * Identity conflicts end to end (drive-identity.ts, drive-conflicts.ts): two Drives of one namespace with
 * the same domainRef, owner and drive name: the newer one is Ready=False NameConflict and leaves the data
 * plane alone, and proceeds as soon as the older one is deleted or renamed. The Kubernetes API test server
 * with the real CRDs, the operator in this process and a real data plane on loopback, as in drive.e2e.
 * The resync is a minute away: every wake-up here is an event.
 */
import type { AdminClient } from '../../operator/src/admin-client/admin-client';
import type { Drive } from '../../operator/src/domain-types';
import type { KubeObject } from '../../operator/src/kube/kube-client';
import type { RunningOperator } from '../../operator/src/main';
import { freePort } from '../e2e/support/child-server';
import { startTestServer } from '../support/test-server';
import { driveSuiteOperator, drivesNamed, eventsOf, startAcmeDomain, startKubeWithCrds } from './support/acme-domain';
import { eventually, type TestKube } from './support/kube';
import { kubectl } from './support/kubectl';

const NS = 'tenants';
let kube: TestKube;
let port: number;
let dataPlane: Awaited<ReturnType<typeof startTestServer>> | undefined;
let admin: AdminClient;
let operator: RunningOperator | undefined;
const logs: string[] = [];

const driveYaml = (name: string, driveName: string, owner = 'alice') => `
apiVersion: openpds.io/v1alpha1
kind: Drive
metadata: { name: ${name}, namespace: ${NS} }
spec:
  domainRef: { name: acme }
  owner: { kind: User, name: ${owner} }
  name: ${driveName}
  quota: { totalSize: 1Gi }
`;

const start = async () => {
  operator = await driveSuiteOperator(kube, NS, port, logs);
};

const apply = (yaml: string) => kubectl(kube.kubeconfig, ['apply', '-f', '-'], yaml);
const getDrive = (name: string) => kube.client.get<Drive & KubeObject>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Drive', namespace: NS, name });
const ready = (d: Drive) => d.status?.conditions?.find((c) => c.type === 'Ready');
const events = (name: string) => eventsOf(kube, NS, name);
const aliceDrivesNamed = (name: string) => drivesNamed(admin, 'alice', name);

async function waitReady(name: string): Promise<Drive & KubeObject> {
  return eventually(async () => {
    const d = await getDrive(name);
    expect(ready(d)).toMatchObject({ status: 'True', observedGeneration: d.metadata.generation });
    return d;
  }, 15_000);
}
async function waitConflict(name: string, holder: string): Promise<Drive & KubeObject> {
  return eventually(async () => {
    const d = await getDrive(name);
    expect(ready(d)).toMatchObject({ status: 'False', reason: 'NameConflict', observedGeneration: d.metadata.generation });
    expect(ready(d)?.message).toContain(`Drive ${NS}/${holder} was created first`);
    return d;
  }, 15_000);
}

beforeAll(async () => {
  kube = await startKubeWithCrds(NS);
  port = await freePort();
  await start();
  // The stand-in on PostgreSQL when the run has one: its speed showed an operator race (a Drive blocked by
  // another's rename was woken before that rename reached the data plane, then not again until the resync),
  // fixed in drive-name-conflict.ts markerConflict (a conflict held by a cluster Drive retries with backoff).
  ({ dataPlane, admin } = await startAcmeDomain(kube, NS, port));
}, 120_000);

afterAll(async () => {
  if (process.env.DEBUG_LOGS) console.log(logs.filter((l) => !l.startsWith('info')).join('\n'));
  await operator?.stop();
  await dataPlane?.stop();
  await kube?.close();
});

test('The newer of two Drives with one identity is a NameConflict and does nothing; deleting it works; deleting the older wakes it, and it adopts the released drive', async () => {
  await apply(driveYaml('first', 'shared files'));
  const first = await waitReady('first');
  const id = first.status!.driveId!;
  await apply(driveYaml('second', 'shared files'));
  const second = await waitConflict('second', 'first');
  expect(second.status?.driveId).toBeUndefined();
  expect(second.status?.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'NameConflict' });
  expect((await events('second')).filter((e) => e.reason === 'NameConflict')).toHaveLength(1);
  expect(await aliceDrivesNamed('shared files')).toEqual([expect.objectContaining({ drive_id: id })]);

  // Its deletion is the ordinary one: it finds no drive of its own, and touches the other's not at all.
  await kubectl(kube.kubeconfig, ['delete', 'drive', 'second', '-n', NS, '--timeout=15s']);
  expect((await admin.getDrive(id)).description).toContain(`openpds.io/uid=${first.metadata.uid};`);

  await apply(driveYaml('second', 'shared files'));
  await waitConflict('second', 'first');
  // The older one goes (reclaimPolicy Retain: its drive is released): the newer proceeds at once and
  // adopts that drive, instead of waiting for a resync a minute away.
  await kubectl(kube.kubeconfig, ['delete', 'drive', 'first', '-n', NS, '--timeout=15s']);
  const proceeded = await eventually(async () => {
    const d = await getDrive('second');
    expect(ready(d)).toMatchObject({ status: 'True' });
    return d;
  }, 5000);
  expect(proceeded.status).toMatchObject({ driveId: id, origin: 'Adopted' });
  expect(await aliceDrivesNamed('shared files')).toHaveLength(1);
});

test('Renaming the older Drive away (another spec.name) lets the newer proceed at once', async () => {
  // second holds "shared files" now; third collides with it.
  await apply(driveYaml('third', 'shared files'));
  await waitConflict('third', 'second');
  await apply(driveYaml('second', 'moved files'));
  await waitReady('second');
  const third = await eventually(async () => {
    const d = await getDrive('third');
    expect(ready(d)).toMatchObject({ status: 'True' });
    return d;
  }, 5000);
  expect(await aliceDrivesNamed('shared files')).toEqual([expect.objectContaining({ drive_id: third.status!.driveId })]);
  expect(await aliceDrivesNamed('moved files')).toEqual([expect.objectContaining({ drive_id: (await getDrive('second')).status!.driveId })]);
});

test('Two Drives applied at once next to an unmanaged drive of that name: exactly one adopts it, the other is a NameConflict', async () => {
  const owner = (await admin.findUser('alice'))!.user_id;
  const { drive_id: handMade } = await admin.createDrive({ drive_name: 'race files', owner, owner_type: 'user', description: 'made by hand', total_size: 1024 ** 3 });
  await apply(`${driveYaml('race-b', 'race files')}\n---\n${driveYaml('race-a', 'race files')}`);
  const [a, b] = [await getDrive('race-a'), await getDrive('race-b')];
  const older = a.metadata.creationTimestamp === b.metadata.creationTimestamp ? 'race-a' : a.metadata.creationTimestamp! < b.metadata.creationTimestamp! ? 'race-a' : 'race-b';
  const newer = older === 'race-a' ? 'race-b' : 'race-a';
  const winner = await waitReady(older);
  await waitConflict(newer, older);
  expect(winner.status).toMatchObject({ driveId: handMade, origin: 'Adopted' });
  expect(await aliceDrivesNamed('race files')).toEqual([expect.objectContaining({ drive_id: handMade })]);
  expect((await admin.getDrive(handMade)).description).toContain(`openpds.io/uid=${winner.metadata.uid};`);
});

test('A Drive naming the owner by user id conflicts with an older one naming her by user name', async () => {
  const aliceId = (await admin.findUser('alice'))!.user_id;
  await apply(driveYaml('by-name', 'alias files'));
  const byName = await waitReady('by-name');
  await apply(driveYaml('by-id', 'alias files', aliceId));
  const byId = await waitConflict('by-id', 'by-name');
  expect(ready(byId)?.message).toContain('written "alice" there: the same user');
  expect(byId.status?.driveId).toBeUndefined();
  expect(await aliceDrivesNamed('alias files')).toEqual([expect.objectContaining({ drive_id: byName.status!.driveId })]);
  // The older one goes: the newer is woken (nothing shares its written identity) and adopts the released drive.
  await kubectl(kube.kubeconfig, ['delete', 'drive', 'by-name', '-n', NS, '--timeout=15s']);
  const proceeded = await eventually(async () => {
    const d = await getDrive('by-id');
    expect(ready(d)).toMatchObject({ status: 'True' });
    return d;
  }, 5000);
  expect(proceeded.status).toMatchObject({ driveId: byName.status!.driveId, origin: 'Adopted' });
});

test('An older Drive renamed into a newer one\'s drive name is refused; the newer keeps its drive', async () => {
  await apply(driveYaml('elder', 'elder files'));
  const elder = await waitReady('elder');
  await apply(driveYaml('younger', 'wanted files'));
  const younger = await waitReady('younger');
  await apply(driveYaml('elder', 'wanted files'));
  const refused = await eventually(async () => {
    const d = await getDrive('elder');
    expect(ready(d)).toMatchObject({ status: 'False', reason: 'NameConflict', observedGeneration: d.metadata.generation });
    return d;
  }, 15_000);
  expect(ready(refused)?.message).toContain(`Drive ${NS}/younger already has drive ${younger.status!.driveId} named "wanted files"`);
  expect((await admin.getDrive(elder.status!.driveId!)).drive_name).toBe('elder files');
  expect(await aliceDrivesNamed('wanted files')).toEqual([expect.objectContaining({ drive_id: younger.status!.driveId })]);
  // The newer one is woken by the edit (its identity now shared) and stays Ready with its drive.
  await new Promise((r) => setTimeout(r, 500));
  expect(ready(await getDrive('younger'))).toMatchObject({ status: 'True', reason: 'Applied' });
  // Renamed back, the older one is Ready again.
  await apply(driveYaml('elder', 'elder files'));
  await waitReady('elder');
});
