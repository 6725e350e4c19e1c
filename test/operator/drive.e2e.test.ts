/**
 * The Drive reconciler end to end: the Kubernetes API test server with the real CRDs (applied by the real
 * kubectl), the operator in this process with the default reconcilers (as `openpds operator` runs them), a
 * Domain made Ready as in domain.e2e, and a real data plane on loopback with the Domain's generated
 * credentials. The resync is 1 s here, so hand-made drift is seen at once (the controller's resync is the
 * Drive's only periodic check).
 */
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { AdminClient, AdminDrive } from '../../operator/src/admin-client/admin-client';
import type { Drive } from '../../operator/src/domain-types';
import type { KubeObject } from '../../operator/src/kube/kube-client';
import { runOperator, type RunningOperator } from '../../operator/src/main';
import { defaultReconcilers } from '../../operator/src/reconcilers/drive.registration';
import { freePort } from '../e2e/support/child-server';
import { startTestServer } from '../support/test-server';
import { domainYaml, startAcmeDomain } from './support/acme-domain';
import { markDeploymentAvailable } from './support/deployments';
import { eventually, startTestKube, type TestKube } from './support/kube';
import { kubectl } from './support/kubectl';

const NS = 'tenants';
const ROOT = path.resolve(__dirname, '../..');
const GiB = 1024 ** 3;
let kube: TestKube;
let dataPlane: Awaited<ReturnType<typeof startTestServer>> | undefined;
let admin: AdminClient;
let operator: RunningOperator;
const operators: RunningOperator[] = [];
const logs: string[] = [];

// Each Domain its own S3 prefix: Domains whose keyspaces overlap are StorageConflict, and nothing is applied.
const driveYaml = (name: string, opts: { quota?: string; reclaimPolicy?: string; domain?: string } = {}) => `
apiVersion: openpds.io/v1alpha1
kind: Drive
metadata: { name: ${name}, namespace: ${NS} }
spec:
  domainRef: { name: ${opts.domain ?? 'acme'} }
  owner: { kind: User, name: alice }
  name: ${name} files
  quota: { totalSize: ${opts.quota ?? '5Gi'} }
${opts.reclaimPolicy ? `  reclaimPolicy: ${opts.reclaimPolicy}\n` : ''}`;


const start = async (port: number, resyncIntervalMs = 1000, moreEndpoints: Record<string, string> = {}) => {
  const op = await runOperator({
    kubeconfig: kube.kubeconfig,
    metricsPort: 0,
    monitoring: false,
    baseBackoffMs: 100,
    maxBackoffMs: 1000,
    resyncIntervalMs,
    domainEndpoints: { [`${NS}/acme`]: `http://127.0.0.1:${port}`, ...moreEndpoints },
    reconcilers: defaultReconcilers(),
    // No two live Drives here share an identity (owner and name): none can tie with another created in the
    // same second, so a new Drive acts at once instead of waiting that second out (1-2 s per Drive made;
    // drive-conflict.e2e.test.ts keeps the default).
    driveTieSettleMs: 0,
    log: (level, msg, fields) => void logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`),
  });
  operators.push(op);
  return op;
};

const driveRef = (name: string) => ({ apiVersion: 'openpds.io/v1alpha1', kind: 'Drive', namespace: NS, name });
const getDrive = (name: string) => kube.client.get<Drive & KubeObject>(driveRef(name));
const condition = (d: Drive, type: string) => d.status?.conditions?.find((c) => c.type === type);
const apply = (yaml: string) => kubectl(kube.kubeconfig, ['apply', '-f', '-'], yaml);
const events = async (name: string) =>
  (await kube.client.list<KubeObject & { reason: string; message: string; count?: number; involvedObject: { name: string } }>({ apiVersion: 'v1', kind: 'Event', namespace: NS })).items.filter((e) => e.involvedObject.name === name);
async function drivesMarked(uid: string): Promise<AdminDrive[]> {
  const found: AdminDrive[] = [];
  for await (const d of admin.listAllDrives()) if (d.description.includes(`openpds.io/uid=${uid};`)) found.push(d);
  return found;
}
/** A sample of the operator's /metrics (0 when the series is not there yet). */
async function metric(series: string): Promise<number> {
  const text = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
/** Waits for Ready=True at the Drive's current generation, printing the status and operator log if it never comes. */
async function waitReady(name: string): Promise<Drive & KubeObject> {
  return eventually(async () => {
    const d = await getDrive(name);
    expect(condition(d, 'Ready')).toMatchObject({ status: 'True', observedGeneration: d.metadata.generation });
    return d;
  }, 15_000).catch(async (e) => {
    console.log(JSON.stringify((await getDrive(name)).status, null, 1), logs.slice(-15).join('\n'));
    throw e;
  });
}

beforeAll(async () => {
  kube = await startTestKube();
  const port = await freePort();
  await kubectl(kube.kubeconfig, ['apply', '-k', path.join(ROOT, 'crds')]);
  await kube.createNamespace(NS);
  operator = await start(port);
  // The Domain's generated credentials start the data plane that stands in for its pods.
  ({ dataPlane, admin } = await startAcmeDomain(kube, NS, port));
}, 60_000);

afterAll(async () => {
  if (process.env.DEBUG_LOGS) console.log(logs.filter((l) => !l.startsWith('info')).join('\n'));
  for (const op of operators) await op.stop();
  await dataPlane?.stop();
  await kube?.close();
});

test('Drive: created in the data plane, hand-made drift reported and corrected, deleted drive recreated, spec change applied', async () => {
  await apply(driveYaml('team'));
  let drive = await waitReady('team');
  expect(drive.metadata.finalizers).toEqual(['openpds.io/drive-cleanup']);
  expect(drive.status).toMatchObject({ driveId: expect.any(String), totalSize: '5Gi', totalBytes: 5 * GiB, observedGeneration: 1, origin: 'Created' });
  expect(condition(drive, 'Progressing')).toMatchObject({ status: 'False', reason: 'Reconciled' });
  const alice = await admin.findUser('alice');
  const id = drive.status!.driveId!;
  expect(await admin.getDrive(id)).toMatchObject({ drive_name: 'team files', owner: alice!.user_id, owner_type: 'user', total_size: 5 * GiB });
  expect((await events('team')).map((e) => e.reason)).toContain('Created');
  // What `kubectl get openpds` shows of the Domain follows within seconds, not at its 5-minute usage refresh:
  // every drive the data plane lists, the team drive among them.
  const domainUsage = async () => (await kube.client.get<KubeObject & { status?: { usage?: { drives: number } } }>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name: 'acme' })).status?.usage;
  let listed = 0;
  for await (const _d of admin.listAllDrives()) listed++;
  expect(listed).toBeGreaterThanOrEqual(2); // alice's default drive and the team drive at least
  await eventually(async () => expect(await domainUsage()).toMatchObject({ drives: listed }), 10_000);

  // Quota changed by hand in the data plane: the resync reports it (Synced=False, Event), then corrects it.
  await admin.updateDrive(id, { total_size: 1 * GiB });
  await eventually(async () => expect(condition(await getDrive('team'), 'Synced')).toMatchObject({ status: 'False', reason: 'DriftDetected' }));
  expect((await admin.getDrive(id)).total_size).toBe(5 * GiB);
  expect((await events('team')).find((e) => e.reason === 'DriftDetected')?.message).toContain('changed in the data plane');
  await eventually(async () => expect(condition(await getDrive('team'), 'Synced')).toMatchObject({ status: 'True', reason: 'InSync' }));
  expect(await metric('openpds_operator_drift_corrected_total{kind="Drive",field="quota"}')).toBeGreaterThanOrEqual(1);

  // Deleted by hand: created again under a new id, with a Warning Event.
  await admin.deleteDrive(id);
  drive = await eventually(async () => {
    const d = await getDrive('team');
    expect(d.status?.driveId).not.toBe(id);
    return d;
  });
  const recreated = drive.status!.driveId!;
  expect(await admin.getDrive(recreated)).toMatchObject({ total_size: 5 * GiB });
  expect((await events('team')).map((e) => e.reason)).toEqual(expect.arrayContaining(['DriftDetected', 'Recreated']));
  expect(await metric('openpds_operator_drift_corrected_total{kind="Drive",field="deleted"}')).toBeGreaterThanOrEqual(1);

  // Spec change through kubectl: applied at generation 2.
  await apply(driveYaml('team', { quota: '10Gi' }));
  drive = await eventually(async () => {
    const d = await getDrive('team');
    expect(d.status).toMatchObject({ observedGeneration: 2, totalSize: '10Gi' });
    return d;
  });
  expect(condition(drive, 'Synced')).toMatchObject({ status: 'True' });
  expect(await admin.getDrive(recreated)).toMatchObject({ total_size: 10 * GiB });
  expect(await drivesMarked(drive.metadata.uid!)).toHaveLength(1);
});

test('Drive: operator dies after creating the drive, before the status write; its successor creates no duplicate', async () => {
  let failing = true;
  kube.server.hooks.failRequests({ status: 503, count: 100_000, match: (r) => failing && r.method === 'PATCH' && r.path.endsWith('/drives/crash/status') });
  await apply(driveYaml('crash'));
  const uid = (await getDrive('crash')).metadata.uid!;
  await eventually(async () => expect(await drivesMarked(uid)).toHaveLength(1));
  // The status write after the create was refused: this is the moment a real process could die.
  await eventually(() => expect(kube.server.hooks.requests().some((r) => r.method === 'PATCH' && r.path.endsWith('/drives/crash/status'))).toBe(true));
  await operator.kill();
  // A status write the dying operator had already sent may still reach the server after kill() returns:
  // keep refusing until the server has seen nothing new for a moment, so only the successor's get through.
  for (let last = kube.server.hooks.requests().at(-1); ; ) {
    await new Promise((r) => setTimeout(r, 200));
    const now = kube.server.hooks.requests().at(-1);
    if (now === last) break;
    last = now;
  }
  failing = false;
  expect((await getDrive('crash')).status?.driveId).toBeUndefined();
  expect((await getDrive('crash')).metadata.finalizers).toEqual(['openpds.io/drive-cleanup']); // added before the create

  operator = await start(Number(new URL(dataPlane!.url).port));
  const drive = await waitReady('crash');
  const marked = await drivesMarked(uid);
  expect(marked).toHaveLength(1);
  expect(drive.status?.driveId).toBe(marked[0]!.drive_id);
});

test('Drive deletion: Retain keeps the drive in the data plane, Delete deletes it', async () => {
  const kept = (await getDrive('team')).status!.driveId!;
  await kubectl(kube.kubeconfig, ['delete', 'drive', 'team', '-n', NS, '--timeout=15s']);
  expect(await kube.client.find(driveRef('team'))).toBeUndefined();
  const retained = await admin.getDrive(kept);
  expect(retained.description).not.toContain('openpds.io/uid='); // released: a Drive with the same owner and name may adopt it
  expect((await events('team')).map((e) => e.reason)).toContain('Retained');

  await apply(driveYaml('scratch', { reclaimPolicy: 'Delete' }));
  const id = (await waitReady('scratch')).status!.driveId!;
  await kubectl(kube.kubeconfig, ['delete', 'drive', 'scratch', '-n', NS, '--timeout=15s']);
  expect(await kube.client.find(driveRef('scratch'))).toBeUndefined();
  await expect(admin.getDrive(id)).rejects.toMatchObject({ isNotFound: true });
});

test('Drive with a missing Domain: Ready=False DomainNotFound, one Event, no hot loop; deleting it is not blocked', async () => {
  await apply(driveYaml('orphan', { domain: 'nowhere' }));
  await eventually(async () => expect(condition(await getDrive('orphan'), 'Ready')).toMatchObject({ status: 'False', reason: 'DomainNotFound' }));
  const controller = operator.controllers.get('Drive')!;
  const before = controller.reconciles();
  const version = (await getDrive('orphan')).metadata.resourceVersion;
  await new Promise((r) => setTimeout(r, 1500));
  // Only the (1 s, test-only) resync for each Drive wakes it: no retry storm, and no status rewrites. (Under
  // load, the reconcile its own finalizer write queued could start from a cache behind the status it wrote:
  // that lag is replayed in drive.registration.test.ts; here it happens only when the machine is busy.)
  expect(controller.reconciles() - before).toBeLessThanOrEqual(3 * (await kube.client.list({ apiVersion: 'openpds.io/v1alpha1', kind: 'Drive', namespace: NS })).items.length + 2);
  expect((await getDrive('orphan')).metadata.resourceVersion).toBe(version);
  // One Event, said once: the recorder folds a repeat into `count`, which would hide a reconcile saying it again.
  expect((await events('orphan')).filter((e) => e.reason === 'DomainNotFound').map((e) => e.count)).toEqual([1]);
  await kubectl(kube.kubeconfig, ['delete', 'drive', 'orphan', '-n', NS, '--timeout=15s']);
});

test('A Domain turning not ready, then Ready, wakes its Drives at once (not after their backoff or the resync)', async () => {
  await operator.stop();
  operator = await start(Number(new URL(dataPlane!.url).port), 60_000); // no resync within this test
  await waitReady('crash'); // a Drive of the earlier test, Ready
  const api = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'acme-api' };
  await kube.client.patch(api, 'merge', { status: { readyReplicas: 0, availableReplicas: 0 } }, { subresource: 'status' });
  await eventually(async () => expect(condition(await kube.client.get<Drive & KubeObject>({ ...api, apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', name: 'acme' }), 'Ready')?.status).toBe('False'));
  // Nothing else would look at the Ready Drive for a minute: saying so within 3 s means the Domain's turn woke it.
  await eventually(async () => expect(condition(await getDrive('crash'), 'Ready')).toMatchObject({ status: 'False', reason: 'DomainNotReady' }), 3000);
  await apply(driveYaml('late'));
  await eventually(async () => expect(condition(await getDrive('late'), 'Ready')).toMatchObject({ status: 'False', reason: 'DomainNotReady' }));
  expect(condition(await getDrive('late'), 'Progressing')).toMatchObject({ status: 'True', reason: 'DomainNotReady' });
  expect(condition(await getDrive('late'), 'Degraded')).toMatchObject({ status: 'False' });
  await markDeploymentAvailable(kube.client, NS, 'acme-api');
  await kubectl(kube.kubeconfig, ['wait', '--for=condition=Ready', 'domain/acme', '-n', NS, '--timeout=10s']);
  // The Drive's own retry is at least 5 s away: Ready within 3 s means the Domain's turn woke it.
  await eventually(async () => expect(condition(await getDrive('late'), 'Ready')).toMatchObject({ status: 'True' }), 3000);
});

test('Deleting a Domain keeps Retain Drives and their files; the Drives say so within seconds, and come back Ready when the Domain is re-created', async () => {
  await operator.stop();
  operator = await start(Number(new URL(dataPlane!.url).port), 60_000); // no resync within this test: every wake-up is an event
  await apply(driveYaml('keep'));
  await apply(driveYaml('again'));
  const id = (await waitReady('keep')).status!.driveId!;
  const againId = (await waitReady('again')).status!.driveId!;
  const alice = await dataPlane!.api.login('alice', 'alice-password');
  const upload = async (driveId: string, name: string) => {
    const content = Buffer.from(`${name}: kept through the Domain deletion\n`);
    const created = await dataPlane!.api.ok('/v2/file/create', { drive_id: driveId, parent_file_id: 'root', name, type: 'file', size: content.length }, alice.access_token);
    expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content })).ok).toBe(true);
    await dataPlane!.api.ok('/v2/file/complete', { drive_id: driveId, file_id: created.file_id, upload_id: created.upload_id }, alice.access_token);
  };
  const files = async (driveId: string) => (await dataPlane!.api.ok('/v2/file/list', { drive_id: driveId, parent_file_id: 'root' }, alice.access_token)).items.map((f: { name: string }) => f.name);
  await upload(id, 'kept.txt');
  await upload(againId, 'again.txt');

  await kubectl(kube.kubeconfig, ['delete', 'domain', 'acme', '-n', NS, '--timeout=20s']);
  expect((await events('acme')).find((e) => e.reason === 'Deleted')?.message).toMatch(/\d+ Drive\(s\) with reclaimPolicy Retain keep their data in the domain's storage/);
  // The Domain's deletion woke its Drives: Ready=False within 3 s, not at the resync a minute away.
  const orphaned = await eventually(async () => {
    const d = await getDrive('keep');
    expect(condition(d, 'Ready')).toMatchObject({ status: 'False', reason: 'DomainNotFound' });
    return d;
  }, 3000);
  expect(condition(await getDrive('again'), 'Ready')).toMatchObject({ status: 'False', reason: 'DomainNotFound' });
  expect(condition(orphaned, 'Ready')?.message).toBe(
    `Domain ${NS}/acme does not exist; drive ${id} and its files are kept in the Domain's storage and are used again when the Domain is re-created with the same storage`,
  );
  expect(orphaned.status?.driveId).toBe(id);
  // The admin Secret stays with the data, so the re-created Domain's operator logs in to the same data plane.
  expect(await kube.client.find({ apiVersion: 'v1', kind: 'Secret', namespace: NS, name: 'acme-admin' })).toBeDefined();

  await apply(domainYaml(NS));
  for (const name of ['acme-api', 'acme-worker']) await eventually(() => markDeploymentAvailable(kube.client, NS, name));
  await kubectl(kube.kubeconfig, ['wait', '--for=condition=Ready', 'domain/acme', '-n', NS, '--timeout=20s']);
  const back = await waitReady('keep');
  expect(back.status).toMatchObject({ driveId: id, origin: 'Created' });
  expect(await files(id)).toEqual(['kept.txt']);
});

test('A Retain Drive deleted while its Domain is gone, applied again with the Domain: it gets its drive and files back, no second drive', async () => {
  const alice = await dataPlane!.api.login('alice', 'alice-password');
  const files = async (driveId: string) => (await dataPlane!.api.ok('/v2/file/list', { drive_id: driveId, parent_file_id: 'root' }, alice.access_token)).items.map((f: { name: string }) => f.name);
  const aliceDrivesNamed = async (name: string) => {
    const found: AdminDrive[] = [];
    for await (const d of admin.listAllDrives({ owner: (await admin.findUser('alice'))!.user_id })) if (d.drive_name === name) found.push(d);
    return found;
  };
  const before = await getDrive('again');
  const id = before.status!.driveId!;
  expect(await files(id)).toEqual(['again.txt']);

  await kubectl(kube.kubeconfig, ['delete', 'domain', 'acme', '-n', NS, '--timeout=20s']);
  await eventually(async () => expect(condition(await getDrive('again'), 'Ready')).toMatchObject({ status: 'False', reason: 'DomainNotFound' }), 3000);
  // With the Domain gone its finalizer is released at once; the drive keeps its marker (nothing to remove it through).
  await kubectl(kube.kubeconfig, ['delete', 'drive', 'again', '-n', NS, '--timeout=15s']);
  expect((await events('again')).find((e) => e.reason === 'Retained')?.message).toContain('a Drive with the same owner and name adopts it');

  await apply(domainYaml(NS));
  for (const name of ['acme-api', 'acme-worker']) await eventually(() => markDeploymentAvailable(kube.client, NS, name));
  await kubectl(kube.kubeconfig, ['wait', '--for=condition=Ready', 'domain/acme', '-n', NS, '--timeout=20s']);
  await apply(driveYaml('again'));
  const again = await waitReady('again');
  expect(again.metadata.uid).not.toBe(before.metadata.uid);
  // Adopted, not Created: this Drive did not make it, and reclaimPolicy Delete must not take files the old one kept.
  expect(again.status).toMatchObject({ driveId: id, origin: 'Adopted' });
  expect(await files(id)).toEqual(['again.txt']);
  expect(await aliceDrivesNamed('again files')).toHaveLength(1);
  expect(await drivesMarked(again.metadata.uid!)).toEqual([expect.objectContaining({ drive_id: id })]);
  expect((await events('again')).find((e) => e.reason === 'Adopted')?.message).toContain(`retained by a deleted Drive (uid ${before.metadata.uid})`);
});

test('An admin API that answers errors counts in openpds_operator_reconcile_errors_total{kind="Drive"}; waiting for a Domain does not', async () => {
  // A data plane whose /readyz is fine but whose admin API refuses everything.
  const refusing = createHttpServer((req, res) => {
    if (req.url === '/readyz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'InvalidParameter.Test', message: 'refused by the test', request_id: 'r' }));
  });
  await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', () => r()));
  try {
    await operator.stop();
    const url = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
    operator = await start(Number(new URL(dataPlane!.url).port), 1000, { [`${NS}/refusing`]: url });
    const errors = 'openpds_operator_reconcile_errors_total{kind="Drive"}';

    await apply(driveYaml('refused', { domain: 'refusing' })); // its Domain does not exist yet: a wait, not an error
    await eventually(async () => expect(condition(await getDrive('refused'), 'Ready')).toMatchObject({ status: 'False', reason: 'DomainNotFound' }));
    await new Promise((r) => setTimeout(r, 1200)); // a resync of it, still no error
    expect(await metric(errors)).toBe(0);

    await apply(domainYaml(NS, 'refusing'));
    for (const name of ['refusing-api', 'refusing-worker']) await eventually(() => markDeploymentAvailable(kube.client, NS, name));
    await kubectl(kube.kubeconfig, ['wait', '--for=condition=Ready', 'domain/refusing', '-n', NS, '--timeout=20s']);
    const failed = await eventually(async () => {
      const d = await getDrive('refused');
      expect(condition(d, 'Ready')).toMatchObject({ status: 'False', reason: 'AdminApiRejected' });
      return d;
    });
    expect(condition(failed, 'Degraded')).toMatchObject({ status: 'True', reason: 'AdminApiRejected' });
    expect(condition(failed, 'Progressing')).toMatchObject({ status: 'False' });
    await eventually(async () => expect(await metric(errors)).toBeGreaterThanOrEqual(1));
    expect(logs.some((l) => l.startsWith('warn reconcile requeued') && l.includes('AdminApiRejected'))).toBe(true);
  } finally {
    await operator.stop(); // the refused Drive would otherwise keep failing into the other suites' logs
    refusing.close();
  }
});
