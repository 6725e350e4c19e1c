/**
 * The Domain reconciler end to end: the Kubernetes API test server with the real CRDs (applied by the real
 * kubectl), the operator in this process, and a real data plane on loopback standing in for the pods (the
 * operator probes it through `--domain-endpoint`). Deployment status is set by the test, as with envtest.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { runOperator, type RunningOperator } from '../../operator/src/main';
import type { Condition, Domain, Drive } from '../../operator/src/domain-types';
import type { KubeObject } from '../../operator/src/kube/kube-client';
import { defaultReconcilers } from '../../operator/src/reconcilers/drive.registration';
import { freePort } from '../e2e/support/child-server';
import { STAND_IN_DB, startStandInDataPlane, type StandInDataPlane } from './support/stand-in-data-plane';
import { domainYaml as acmeDomainYaml, eventsOf } from './support/acme-domain';
import { domainConfigMaps, markDeploymentAvailable, podConfigMap } from './support/deployments';
import { eventually, startTestKube, type TestKube } from './support/kube';
import { kubectl } from './support/kubectl';

const NS = 'tenants';
const ROOT = path.resolve(__dirname, '../..');
/** status.usage is read again after this (5 minutes by default): small, so a test sees a refresh. */
const USAGE_REFRESH_MS = 200;
let kube: TestKube;
let port: number;
/** Stands in for Domain beta's data plane: /readyz answers, /v2/domain/get does as `stubDomainGet` says. */
let stub: Server;
let stubUrl: string;
let stubDomainGet: 'hang' | 'ok' | 'old' = 'hang';
const STUB_USAGE = { domain_id: 'beta', trash_retention_days: 30, user_count: 3, drive_count: 4, used_size: 5 * 1024 ** 3, total_size: 30 * 1024 ** 3, unlimited_drive_count: 1 };
let dataPlane: StandInDataPlane | undefined;
const operators: RunningOperator[] = [];
const logs: string[] = [];

/** acme-s3 with the keys the pods read (secretKeyRef, default names), or with others. */
const s3SecretYaml = (keys: string) => `apiVersion: v1\nkind: Secret\nmetadata: { name: acme-s3, namespace: ${NS} }\nstringData: { ${keys} }\n`;
const domainYaml = (opts: { replicas: number; ingress: boolean; logLevel?: string }) =>
  acmeDomainYaml(NS, 'acme', { apiReplicas: opts.replicas, extra: `${opts.ingress ? '  ingress: { host: drive.acme.example }\n' : ''}${opts.logLevel ? `  logLevel: ${opts.logLevel}\n` : ''}` });


const start = async () => {
  const op = await runOperator({
    kubeconfig: kube.kubeconfig,
    metricsPort: 0,
    leaderElect: true,
    leaseNamespace: 'default',
    // PGlite starting in this process (step 4) blocks the event loop for seconds on a busy machine (13 s
    // measured): a 3 s lease was lost to it now and then, and the operator stopped before Ready. On
    // PostgreSQL the start blocks it for under 0.1 s (stand-in-data-plane.ts). Step 6 waits it out once.
    leaseDurationMs: STAND_IN_DB === 'pg' ? 4_000 : 10_000,
    baseBackoffMs: 100,
    maxBackoffMs: 1000, // the data plane takes seconds to start: notice it soon after
    monitoring: 'auto', // the test server has no monitoring.coreos.com CRDs: detected, not rendered
    domainEndpoints: { [`${NS}/acme`]: `http://127.0.0.1:${port}`, [`${NS}/beta`]: stubUrl },
    domainUsageRefreshMs: USAGE_REFRESH_MS,
    reconcilers: defaultReconcilers(), // Drives too, as `openpds operator` runs: step 9 needs one
    driveTieSettleMs: 0, // its one Drive ties with none: it acts at once (drive-conflict.e2e.test.ts keeps the default)
    log: (level, msg, fields) => void logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`),
  });
  operators.push(op);
  return op;
};

const getDomain = () => kube.client.get<Domain & KubeObject>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name: 'acme' });
const condition = (d: { status?: { conditions?: Condition[] } }, type: string) => d.status?.conditions?.find((c) => c.type === type);
const secretValues = async () => {
  const s = await kube.client.get<KubeObject & { data: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', namespace: NS, name: 'acme-admin' });
  return Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
};
const CHILD_KINDS = [
  ['v1', 'ConfigMap'],
  ['v1', 'Secret'],
  ['v1', 'Service'],
  ['apps/v1', 'Deployment'],
  ['policy/v1', 'PodDisruptionBudget'],
  ['networking.k8s.io/v1', 'NetworkPolicy'],
  ['networking.k8s.io/v1', 'Ingress'],
  ['autoscaling/v2', 'HorizontalPodAutoscaler'],
] as const;
async function children(domain = 'acme'): Promise<string[]> {
  const names: string[] = [];
  for (const [apiVersion, kind] of CHILD_KINDS) {
    const list = await kube.client.list({ apiVersion, kind, namespace: NS }, { labelSelector: `openpds.io/domain=${domain}` });
    names.push(...list.items.map((o) => `${kind}/${o.metadata?.name}`));
  }
  return names.sort();
}
const rollOut = async (domain = 'acme') => {
  for (const name of [`${domain}-api`, `${domain}-worker`]) await markDeploymentAvailable(kube.client, NS, name);
};
/** `kubectl get domain NAME` (default columns, or -o wide) as column → value. */
async function printed(name: string, wide = false): Promise<Record<string, string>> {
  const [header, row] = (await kubectl(kube.kubeconfig, ['get', 'domain', name, '-n', NS, ...(wide ? ['-o', 'wide'] : [])])).split('\n');
  // By the header's offsets: a column with no value yet prints as blanks.
  const starts = [...header!.matchAll(/\S+/g)].map((m) => ({ name: m[0], at: m.index! }));
  return Object.fromEntries(starts.map((c, i) => [c.name, row!.slice(c.at, starts[i + 1]?.at).trim()]));
}
/** What a resync would do: queue the Domain for a reconcile (the test's resync is the default 10 minutes). */
const resync = (operator: RunningOperator, name: string) => operator.controllers.get('Domain')!.enqueue(`${NS}/${name}`);
const adminSecretGets = () => kube.server.hooks.requests().filter((r) => r.method === 'GET' && r.path === `/api/v1/namespaces/${NS}/secrets/acme-admin`).length;

beforeAll(async () => {
  kube = await startTestKube();
  port = await freePort();
  stub = createHttpServer((req, res) => {
    const json = (status: number, body: unknown) => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/readyz') return json(200, { status: 'ok' });
    if (req.url === '/v2/account/login') return json(200, { access_token: 'stub-token' });
    if (req.url === '/v2/domain/get') {
      if (stubDomainGet === 'hang') return; // no answer: the operator's 2 s timeout ends it
      const { total_size: _t, unlimited_drive_count: _u, ...old } = STUB_USAGE;
      return json(200, stubDomainGet === 'ok' ? STUB_USAGE : old);
    }
    json(404, { code: 'NotFound', message: req.url });
  });
  await new Promise<void>((r) => stub.listen(0, '127.0.0.1', () => r()));
  stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  await kubectl(kube.kubeconfig, ['apply', '-k', path.join(ROOT, 'crds')]);
  await kube.createNamespace(NS);
});
afterAll(async () => {
  for (const op of operators) await op.stop();
  stub?.closeAllConnections();
  stub?.close();
  await dataPlane?.stop();
  await kube?.close();
});

test('Domain: missing Secret and key → children → replicas → /readyz → Ready; spec change with pruning and a rollout; crash and restart; scaled to zero; deletion keeps the admin Secret; re-created with the same credentials', async () => {
  const operator = await start();
  await eventually(() => expect(operator.isLeader()).toBe(true));
  await kubectl(kube.kubeconfig, ['apply', '-f', '-'], `apiVersion: v1\nkind: Secret\nmetadata: { name: acme-db, namespace: ${NS} }\nstringData: { url: "postgres://openpds@db:5432/acme" }\n`);
  await kubectl(kube.kubeconfig, ['apply', '-f', '-'], domainYaml({ replicas: 2, ingress: true }));

  // 1. The S3 credentials Secret does not exist yet: Ready=False, nothing applied, retried with backoff.
  await eventually(async () => expect(condition(await getDomain(), 'Ready')).toMatchObject({ status: 'False', reason: 'MissingSecret', observedGeneration: 1 }));
  const before = operator.controllers.get('Domain')!.reconciles();
  await new Promise((r) => setTimeout(r, 1000));
  expect(operator.controllers.get('Domain')!.reconciles() - before).toBeLessThanOrEqual(5); // backoff, not a hot loop
  expect(await children()).toEqual([]);
  expect((await getDomain()).metadata.finalizers).toEqual(['openpds.io/domain-cleanup']);
  // 1b. It exists, but not with the keys the pods read (secretKeyRef): they would not start. Same backoff.
  await kubectl(kube.kubeconfig, ['apply', '-f', '-'], s3SecretYaml('accessKeyId: a, secretAccessKey: b'));
  await eventually(async () => expect(condition(await getDomain(), 'Ready')).toMatchObject({ status: 'False', reason: 'MissingSecretKey' }));
  const missingKey = await getDomain();
  expect(condition(missingKey, 'Ready')?.message).toBe(
    `Secret ${NS}/acme-s3 has no key AWS_ACCESS_KEY_ID (read by OPENPDS_S3_ACCESS_KEY_ID), AWS_SECRET_ACCESS_KEY (read by OPENPDS_S3_SECRET_ACCESS_KEY); it has accessKeyId, secretAccessKey`,
  );
  expect(condition(missingKey, 'Degraded')).toMatchObject({ status: 'True', reason: 'MissingSecretKey' });
  const beforeKeys = operator.controllers.get('Domain')!.reconciles();
  await new Promise((r) => setTimeout(r, 1000));
  expect(operator.controllers.get('Domain')!.reconciles() - beforeKeys).toBeLessThanOrEqual(5);
  expect(await children()).toEqual([]);
  await kubectl(kube.kubeconfig, ['apply', '-f', '-'], s3SecretYaml('AWS_ACCESS_KEY_ID: a, AWS_SECRET_ACCESS_KEY: b'));

  // 2. Children exist, the admin Secret holds generated credentials; Deployments not available yet.
  await eventually(async () => expect(condition(await getDomain(), 'Ready')?.reason).toBe('WaitingForReplicas'));
  expect(condition(await getDomain(), 'Progressing')).toMatchObject({ status: 'True', reason: 'WaitingForReplicas' });
  expect(await children()).toEqual([
    expect.stringMatching(/^ConfigMap\/acme-config-[0-9a-f]{10}$/), 'Deployment/acme-api', 'Deployment/acme-worker', 'Ingress/acme', 'NetworkPolicy/acme-api', 'NetworkPolicy/acme-worker',
    'PodDisruptionBudget/acme-api', 'Secret/acme-admin', 'Service/acme-api', 'Service/acme-worker-metrics',
  ]);
  const credentials = await secretValues();
  expect(credentials).toMatchObject({ username: 'admin', password: expect.stringMatching(/^.{24,}$/), secretKey: expect.stringMatching(/^.{32,}$/) });

  // 3. Replicas available, but nothing answers /readyz at the endpoint yet.
  await rollOut();
  await eventually(async () => expect(condition(await getDomain(), 'Ready')?.reason).toBe('WaitingForReadyz'));

  // 4. A real data plane with the generated credentials: Ready, and `kubectl wait` agrees.
  dataPlane = await startStandInDataPlane({ OPENPDS_ADMIN_PASSWORD: credentials.password!, OPENPDS_SECRET_KEY: credentials.secretKey!, OPENPDS_PORT: String(port) });
  await kubectl(kube.kubeconfig, ['wait', '--for=condition=Ready', `domain/acme`, '-n', NS, '--timeout=20s']).catch(async (e) => { console.log(JSON.stringify((await getDomain()).status, null, 1), logs.slice(-15).join('\n')); throw e; });
  let domain = await getDomain();
  expect(domain.status).toMatchObject({ observedGeneration: 1, readyReplicas: 2, workerReadyReplicas: 1, adminSecretRef: { name: 'acme-admin' }, endpoint: `http://acme-api.${NS}.svc:8080` });
  expect(condition(domain, 'Progressing')).toMatchObject({ status: 'False', reason: 'Reconciled' });
  expect(condition(domain, 'Degraded')).toMatchObject({ status: 'False' });
  // The data plane accepts the generated password: the operator's credentials are the ones it runs with.
  const admin = await dataPlane.api.login('admin', credentials.password!);
  // GitOps-safe: the spec is exactly what kubectl applied (no default written back, generation still 1),
  // and no field manager but kubectl's owns any of it; the operator's own entries are status and finalizers.
  expect(domain.metadata.generation).toBe(1);
  const managers = (domain.metadata.managedFields ?? []) as { manager: string; subresource?: string; fieldsV1?: Record<string, unknown> }[];
  const specOwners = managers.filter((m) => m.fieldsV1 && 'f:spec' in m.fieldsV1).map((m) => m.manager);
  expect(specOwners).toEqual(['kubectl-client-side-apply']);
  const operatorEntries = managers.filter((m) => m.manager !== 'kubectl-client-side-apply');
  expect(operatorEntries.length).toBeGreaterThan(0);
  for (const m of operatorEntries) expect(Object.keys(m.fieldsV1 ?? {}).filter((f) => f !== 'f:status' && f !== 'f:metadata')).toEqual([]);
  expect(operatorEntries.flatMap((m) => Object.keys((m.fieldsV1?.['f:metadata'] as object | undefined) ?? {}))).toEqual(expect.arrayContaining(['f:finalizers']));

  // 4b. Usage at a glance, read through the admin API in the reconcile that wrote Ready: the superadmin
  // and their default drive (10Gi, the data plane's default quota), nothing stored yet.
  expect(domain.status?.usage).toMatchObject({ users: 1, drives: 1, usedBytes: 0, usedSize: '0', quotaBytes: 10 * 1024 ** 3, quotaSize: '10Gi', unlimitedDrives: 0, observedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) });
  expect(await printed('acme')).toMatchObject({ NAME: 'acme', MODE: 'standard', REPLICAS: '2', USERS: '1', USED: '0', QUOTA: '10Gi', READY: 'True', REASON: 'Ready' });
  expect(await printed('acme')).not.toHaveProperty('ENDPOINT');
  expect(await printed('acme', true)).toMatchObject({ ENDPOINT: `http://acme-api.${NS}.svc:8080`, DRIVES: '1', UNLIMITED: '0', USED: '0' });
  // A drive with a 1Gi quota and a file of 3,000 bytes in it, through the data plane's API.
  const projects = await dataPlane.api.ok('/v2/drive/create', { drive_name: 'projects', owner: admin.user_id, total_size: 1024 ** 3 }, admin.access_token);
  const file = await dataPlane.api.ok('/v2/file/create', { drive_id: projects.drive_id, parent_file_id: 'root', name: 'plan.txt', type: 'file', size: 3000, part_info_list: [{ part_number: 1 }] }, admin.access_token);
  expect((await fetch(file.part_info_list[0].upload_url, { method: 'PUT', body: Buffer.alloc(3000, 7) })).ok).toBe(true);
  await dataPlane.api.ok('/v2/file/complete', { drive_id: projects.drive_id, file_id: file.file_id, upload_id: file.upload_id }, admin.access_token);
  await dataPlane.services.jobs.drain();
  // Past usageRefreshMs, the next reconcile (a resync's) reads it again, with the login it already has:
  // no admin Secret read (status.currentImage, written with the first status after the apply, is not a
  // new chart input). Its status write alone does not bring another reconcile.
  await new Promise((r) => setTimeout(r, USAGE_REFRESH_MS + 300));
  const reconcilesBefore = operator.controllers.get('Domain')!.reconciles();
  const secretGetsBefore = adminSecretGets();
  resync(operator, 'acme');
  await eventually(async () => expect((await getDomain()).status?.usage).toMatchObject({ users: 1, drives: 2, usedBytes: 3000, usedSize: '2.9Ki', quotaBytes: 11 * 1024 ** 3, quotaSize: '11Gi', unlimitedDrives: 0 }));
  expect(await printed('acme')).toMatchObject({ USERS: '1', USED: '2.9Ki', QUOTA: '11Gi', READY: 'True' });
  await new Promise((r) => setTimeout(r, 500));
  expect(operator.controllers.get('Domain')!.reconciles() - reconcilesBefore).toBe(1);
  expect(adminSecretGets()).toBe(secretGetsBefore);

  // 5. A spec change: Progressing with generation 2, the Ingress pruned, then Ready again.
  await kubectl(kube.kubeconfig, ['apply', '-f', '-'], domainYaml({ replicas: 3, ingress: false }));
  await eventually(async () => {
    const d = await getDomain();
    expect(d.metadata.generation).toBe(2);
    expect(condition(d, 'Progressing')).toMatchObject({ status: 'True', observedGeneration: 2 });
  });
  await eventually(async () => expect(await children()).not.toContain('Ingress/acme'));
  // Mid-rollout (kubectl rollout status semantics): all 3 new pods available but one old pod still
  // serving. Not Ready yet, whatever availableReplicas says.
  const apiRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'acme-api' };
  const apiGeneration = (await kube.client.get(apiRef)).metadata?.generation;
  await kube.client.patch(apiRef, 'merge', { status: { observedGeneration: apiGeneration, replicas: 4, updatedReplicas: 3, readyReplicas: 4, availableReplicas: 4 } }, { subresource: 'status' });
  await markDeploymentAvailable(kube.client, NS, 'acme-worker');
  await eventually(async () => expect(condition(await getDomain(), 'Ready')?.message).toContain('Waiting for deployment acme-api rollout to finish: 1 old replicas are pending termination'));
  expect(condition(await getDomain(), 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForReplicas', observedGeneration: 2 });
  // The Deployment controller gives up on the rollout (image that does not pull, pods that crash):
  // Degraded with its message, not "waiting" forever; the next rollout that succeeds clears it.
  await kube.client.patch(apiRef, 'merge', { status: { conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "acme-api-2" has timed out progressing.' }] } }, { subresource: 'status' });
  await eventually(async () => expect(condition(await getDomain(), 'Degraded')).toMatchObject({ status: 'True', reason: 'RolloutFailed', message: expect.stringContaining('deployment acme-api exceeded its progress deadline: ReplicaSet "acme-api-2" has timed out progressing.') }));
  const warnings = await eventsOf(kube, NS, 'acme');
  expect(warnings.some((e) => e.reason === 'RolloutFailed' && e.type === 'Warning')).toBe(true);
  await kube.client.patch(apiRef, 'merge', { status: { conditions: [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }] } }, { subresource: 'status' });
  await rollOut();
  await eventually(async () => expect(condition(await getDomain(), 'Ready')).toMatchObject({ status: 'True', observedGeneration: 2 }));
  // Generated once, stable across reconciles (url follows the spec: the Ingress is gone).
  expect(await secretValues()).toMatchObject({ password: credentials.password, secretKey: credentials.secretKey, url: `http://acme-api.${NS}.svc:8080` });

  // 6. Crash mid-reconcile: Deployment applies fail, so generation 3 is half applied when the operator dies.
  let failing = true;
  kube.server.hooks.failRequests({ status: 503, count: 100_000, match: (r) => failing && r.method === 'PATCH' && r.path.includes('/deployments/acme-') });
  await kubectl(kube.kubeconfig, ['apply', '-f', '-'], domainYaml({ replicas: 3, ingress: false, logLevel: 'debug' }));
  // Generation 3's settings are a new ConfigMap (named by its content); the old one stays, as the
  // Deployments' pods (not yet rolled) read it.
  const oldConfig = (await podConfigMap(kube.client, NS, 'acme-api')).metadata!.name!;
  await eventually(async () => {
    const configMaps = await domainConfigMaps(kube.client, NS, 'acme');
    expect(configMaps.find((cm) => cm.data.OPENPDS_LOG_LEVEL === 'debug')?.metadata?.labels?.['openpds.io/generation']).toBe('3');
    expect(configMaps.map((cm) => cm.metadata?.name)).toContain(oldConfig);
  });
  await operator.kill(); // no drain, no Lease release
  failing = false;
  const second = await start(); // waits for the dead leader's Lease to expire, then takes over
  await eventually(() => expect(second.isLeader()).toBe(true), 15_000);
  await eventually(async () => expect(condition(await getDomain(), 'Ready')).toMatchObject({ status: 'False', observedGeneration: 3 }));
  // The dead leader may have written that status itself (ApplyFailed) before dying: roll out only once
  // the new leader has applied generation 3's Deployments, or the rollout marks the old ones available.
  await eventually(async () => {
    for (const name of ['acme-api', 'acme-worker']) {
      const d = await kube.client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name });
      expect(d.metadata?.labels?.['openpds.io/generation']).toBe('3');
    }
  }, 15_000);
  // Generation 3 applied and its stale objects pruned (the status comes after), its pods not rolled yet:
  // the old ConfigMap stays, as an old pod that restarts now reads it.
  await eventually(async () => expect(condition(await getDomain(), 'Ready')).toMatchObject({ reason: 'WaitingForReplicas', observedGeneration: 3 }), 15_000);
  expect((await domainConfigMaps(kube.client, NS, 'acme')).map((cm) => cm.metadata?.name)).toContain(oldConfig);
  await rollOut();
  await eventually(async () => expect(condition(await getDomain(), 'Ready')).toMatchObject({ status: 'True', observedGeneration: 3 }), 15_000);
  // The new leader learnt the old ConfigMap from the Deployments it found and deleted it once they rolled.
  const newConfig = (await podConfigMap(kube.client, NS, 'acme-api')).metadata!.name!;
  expect(newConfig).not.toBe(oldConfig);
  expect((await podConfigMap(kube.client, NS, 'acme-worker')).metadata!.name).toBe(newConfig);
  await eventually(async () => expect((await domainConfigMaps(kube.client, NS, 'acme')).map((cm) => cm.metadata?.name)).toEqual([newConfig]));
  expect(await children()).toEqual([
    `ConfigMap/${newConfig}`, 'Deployment/acme-api', 'Deployment/acme-worker', 'NetworkPolicy/acme-api', 'NetworkPolicy/acme-worker',
    'PodDisruptionBudget/acme-api', 'Secret/acme-admin', 'Service/acme-api', 'Service/acme-worker-metrics',
  ]);
  expect(await secretValues()).toMatchObject({ password: credentials.password, secretKey: credentials.secretKey });

  // Metrics and health of the running operator.
  const metrics = await (await fetch(`${second.metricsUrl}/metrics`)).text();
  expect(metrics).toMatch(/openpds_operator_reconcile_duration_seconds_count\{kind="Domain",result="success"\} [1-9]/);
  expect(metrics).toContain('openpds_operator_queue_depth{kind="Domain"}');
  expect(metrics).toContain('openpds_operator_reconcile_errors_total{kind="Domain"}');
  expect((await fetch(`${second.metricsUrl}/readyz`)).status).toBe(200);

  // 7. apiServer.replicas 0 stops the data plane: an explicit state, not a retry at /readyz (which still
  // answers here) and not a fault; the Deployment watch alone wakes it, so no retry loop.
  await kubectl(kube.kubeconfig, ['apply', '-f', '-'], domainYaml({ replicas: 0, ingress: false, logLevel: 'debug' }));
  await eventually(async () => expect(condition(await getDomain(), 'Ready')).toMatchObject({ status: 'False', reason: 'Stopped', observedGeneration: 4 }));
  await rollOut();
  await eventually(async () => expect((await getDomain()).status?.readyReplicas).toBe(0));
  domain = await getDomain();
  expect(condition(domain, 'Ready')?.message).toBe('Data plane stopped: scaled to zero by spec (apiServer.replicas: 0); /readyz is not probed');
  expect(condition(domain, 'Progressing')).toMatchObject({ status: 'False', reason: 'Stopped' });
  expect(condition(domain, 'Degraded')).toMatchObject({ status: 'False', reason: 'AsExpected' });
  for (const name of ['acme-api', 'acme-worker']) expect((await kube.client.get<KubeObject & { spec: { replicas: number } }>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name })).spec.replicas).toBe(0);
  await new Promise((r) => setTimeout(r, 500)); // the worker's status change of rollOut may still be on its way
  const stoppedAt = second.controllers.get('Domain')!.reconciles();
  await new Promise((r) => setTimeout(r, 1500));
  expect(second.controllers.get('Domain')!.reconciles() - stoppedAt).toBe(0);

  // 8. Deletion: children removed, the finalizer released, the Domain gone; the Event says what is kept,
  // and the admin Secret is kept with the data.
  await kubectl(kube.kubeconfig, ['delete', 'domain', 'acme', '-n', NS, '--wait=false']);
  await eventually(async () => expect(await kube.client.find({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name: 'acme' })).toBeUndefined());
  expect(await children()).toEqual(['Secret/acme-admin']);
  const events = await eventsOf(kube, NS, 'acme');
  expect(events.find((e) => e.reason === 'Deleted')?.message).toContain('reclaimPolicy Retain keep their data');
  expect(events.find((e) => e.reason === 'Deleted')?.message).toContain('kept: the admin Secret acme-admin, so a Domain re-created with this name logs in with the same credentials');
  // The Ingress went with generation 2, the PodDisruptionBudget with the scale to zero.
  expect(events.filter((e) => e.reason === 'Pruned').map((e) => e.message).sort()).toEqual(['Deleted objects no longer desired: Ingress/acme', 'Deleted objects no longer desired: PodDisruptionBudget/acme-api']);
  expect(events.filter((e) => e.reason === 'MissingSecret')).toHaveLength(1);
  expect(events.filter((e) => e.reason === 'MissingSecretKey')).toHaveLength(1);
  expect(events.find((e) => e.reason === 'Ready')).toBeDefined();

  // 9. Re-created with the same name, it finds its kept data (the data plane still running with the first
  // credentials stands in for it) and logs in to it: the same password and secret key, not new ones.
  await kubectl(kube.kubeconfig, ['apply', '-f', '-'], domainYaml({ replicas: 1, ingress: false }));
  await eventually(async () => expect(await children()).toEqual(expect.arrayContaining(['Deployment/acme-api', 'Deployment/acme-worker'])));
  await rollOut();
  await eventually(async () => expect(condition(await getDomain(), 'Ready')).toMatchObject({ status: 'True', observedGeneration: 1 }), 15_000);
  expect(await secretValues()).toMatchObject({ password: credentials.password, secretKey: credentials.secretKey });
  const adminSecret = await kube.client.get({ apiVersion: 'v1', kind: 'Secret', namespace: NS, name: 'acme-admin' });
  expect(adminSecret.metadata?.ownerReferences).toBeUndefined();
  expect(adminSecret.metadata?.labels?.['openpds.io/generation']).toBe('1');
  // A Drive of the re-created Domain goes through its admin API with those credentials (a new password
  // would be AdminCredentialsRejected: the data plane makes its superadmin only once).
  const token = (await dataPlane.api.login('admin', (await secretValues()).password!)).access_token;
  await dataPlane.api.ok('/v2/user/create', { user_name: 'alice', password: 'alice-password' }, token);
  await kubectl(kube.kubeconfig, ['apply', '-f', '-'], `
apiVersion: openpds.io/v1alpha1
kind: Drive
metadata: { name: team, namespace: ${NS} }
spec: { domainRef: { name: acme }, owner: { kind: User, name: alice }, name: team files, quota: { totalSize: 1Gi } }
`);
  const drive = { apiVersion: 'openpds.io/v1alpha1', kind: 'Drive', namespace: NS, name: 'team' };
  await eventually(async () => expect(condition(await kube.client.get<Drive & KubeObject>(drive), 'Ready')).toMatchObject({ status: 'True' }), 15_000);
  // Every rollout above was done within the default 20 s: not one pod list (domain-pods.ts) for any of them.
  expect(kube.server.hooks.requests().filter((r) => r.path === `/api/v1/namespaces/${NS}/pods`)).toEqual([]);
}, 120_000);

test('hosting mode is refused up front: StorageModeUnsupported, Degraded, a Warning Event, nothing applied, no retry loop', async () => {
  const operator = operators.at(-1)!;
  await eventually(() => expect(operator.isLeader()).toBe(true), 10_000);
  await kubectl(kube.kubeconfig, ['apply', '-f', '-'], `apiVersion: v1\nkind: Secret\nmetadata: { name: photos-bucket, namespace: ${NS} }\nstringData: { AWS_ACCESS_KEY_ID: a, AWS_SECRET_ACCESS_KEY: b }\n`);
  // Its own finalizer write wakes it once more, and under load the informer has not seen its status write
  // yet when that reconcile starts. Replayed here: the cache hands that reconcile the Domain with the
  // finalizer and without status, at a resourceVersion before the status write (as a lagging informer does).
  const informer = operator.controllers.get('Domain')!.informer;
  const cachedGet = informer.get;
  let lagged = false;
  informer.get = (name, namespace) => {
    const cached = cachedGet.call(informer, name, namespace);
    if (name !== 'photos' || lagged || !cached?.metadata?.finalizers?.includes('openpds.io/domain-cleanup')) return cached;
    lagged = true;
    const { status: _status, ...withoutStatus } = cached as KubeObject & { status?: unknown };
    return { ...withoutStatus, metadata: { ...cached.metadata, resourceVersion: String(Number(cached.metadata.resourceVersion) - 1) } };
  };
  await kubectl(kube.kubeconfig, ['apply', '-f', '-'], `
apiVersion: openpds.io/v1alpha1
kind: Domain
metadata: { name: photos, namespace: ${NS} }
spec:
  storage:
    mode: hosting
    hosting: { endpoint: "http://rgw.storage.svc:7480", bucket: customer-photos, credentialsSecretRef: { name: photos-bucket } }
  database: { urlSecretRef: { name: photos-db } }
`);
  const photos = () => kube.client.get<Domain & KubeObject>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name: 'photos' });
  await eventually(async () => expect(condition(await photos(), 'Ready')).toMatchObject({ status: 'False', reason: 'StorageModeUnsupported', observedGeneration: 1 }));
  const d = await photos();
  expect(condition(d, 'Ready')?.message).toMatch(/^storage\.mode hosting is not implemented by this data-plane version \(.+\)/);
  expect(condition(d, 'Degraded')).toMatchObject({ status: 'True', reason: 'StorageModeUnsupported' });
  expect(condition(d, 'Progressing')).toMatchObject({ status: 'False', reason: 'StorageModeUnsupported' });
  await eventually(() => expect(lagged).toBe(true)); // the finalizer's write woke it once more ...
  await eventually(() => expect(operator.controllers.get('Domain')!.queue.running()).toBe(0));
  informer.get = cachedGet;
  // ... and that reconcile started from its own writes: one status write (one change in `kubectl get -w`),
  // not a second with a new lastTransitionTime.
  expect(kube.server.hooks.requests().filter((r) => r.method === 'PATCH' && r.path === `/apis/openpds.io/v1alpha1/namespaces/${NS}/domains/photos/status`)).toHaveLength(1);
  // The watch event of that status write may still be on its way (a loaded machine): the reconcile it wakes
  // writes nothing, and is no retry. Counted from once the cache holds the Domain as the server does.
  const latest = (await photos()).metadata.resourceVersion;
  await eventually(() => expect(informer.get('photos', NS)?.metadata?.resourceVersion).toBe(latest));
  const queue = operator.controllers.get('Domain')!.queue;
  await eventually(() => expect([queue.depth(), queue.running()]).toEqual([0, 0]));
  // Counted for this Domain only (each of its reconciles reads it from the cache, as the lag above relies
  // on): the acme Domain of the test before reads its usage ~2 s after its Drive changed, a reconcile of
  // its own that may fall into the window, and the controller's count is of every Domain.
  let photosReads = 0;
  informer.get = (name, namespace) => {
    if (name === 'photos') photosReads++;
    return cachedGet.call(informer, name, namespace);
  };
  try {
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    informer.get = cachedGet;
  }
  expect(photosReads).toBe(0); // waits for a spec change, no retry
  expect(queue.retries(`${NS}/photos`)).toBe(0);
  expect(kube.server.hooks.requests().filter((r) => r.method === 'PATCH' && r.path === `/apis/openpds.io/v1alpha1/namespaces/${NS}/domains/photos/status`)).toHaveLength(1);
  expect(await children('photos')).toEqual([]);
  // One Warning, said once: the recorder folds a repeat into `count` ("x2" in `kubectl describe`).
  expect((await eventsOf(kube, NS, 'photos')).filter((e) => e.reason === 'StorageModeUnsupported').map((e) => [e.type, e.count])).toEqual([['Warning', 1]]);
  // Deleting it needs nothing from the data plane, and it keeps no admin Secret (it never made one).
  await kubectl(kube.kubeconfig, ['delete', 'domain', 'photos', '-n', NS, '--timeout=15s']);
  const deleted = (await eventsOf(kube, NS, 'photos')).find((e) => e.reason === 'Deleted');
  expect(deleted?.message).toBe("Data plane removed; 0 Drive(s) with reclaimPolicy Retain keep their data in the domain's storage");
});

test('usage never holds Ready up: a data plane that does not answer domain/get is Ready within the 2 s timeout, without usage, logged once; figures once it answers; kept when it answers without them', async () => {
  const operator = operators.at(-1)!;
  await eventually(() => expect(operator.isLeader()).toBe(true), 10_000);
  const beta = () => kube.client.get<Domain & KubeObject>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name: 'beta' });
  const usageLogs = () => logs.filter((l) => l.startsWith('info domain usage not refreshed') && l.includes(`${NS}/beta`));
  stubDomainGet = 'hang';
  await kubectl(kube.kubeconfig, ['apply', '-f', '-'], domainYaml({ replicas: 1, ingress: false }).replace('name: acme,', 'name: beta,').replace('prefix: acme/', 'prefix: beta/')); // its own keyspace, or StorageConflict
  await eventually(async () => expect(await children('beta')).toEqual(expect.arrayContaining(['Deployment/beta-api', 'Deployment/beta-worker'])));
  await rollOut('beta');
  await eventually(async () => expect(condition(await beta(), 'Ready')).toMatchObject({ status: 'True', reason: 'Ready' }), 10_000);
  expect((await beta()).status?.usage).toBeUndefined();
  expect(await printed('beta')).toMatchObject({ USERS: '', USED: '', QUOTA: '', READY: 'True', REASON: 'Ready' });
  expect(usageLogs()).toHaveLength(1);
  expect(usageLogs()[0]).toMatch(/\/v2\/domain\/get: no answer within \d+ ms/);
  // Still not answering at the next refresh: still Ready, and not logged again.
  await new Promise((r) => setTimeout(r, USAGE_REFRESH_MS + 50));
  const before = operator.controllers.get('Domain')!.reconciles();
  resync(operator, 'beta');
  await eventually(() => expect(operator.controllers.get('Domain')!.reconciles()).toBeGreaterThan(before), 5000);
  await eventually(() => expect(operator.controllers.get('Domain')!.queue.running()).toBe(0), 5000);
  expect(condition(await beta(), 'Ready')).toMatchObject({ status: 'True' });
  expect(usageLogs()).toHaveLength(1);

  // It answers: the figures appear at the next refresh.
  stubDomainGet = 'ok';
  await new Promise((r) => setTimeout(r, USAGE_REFRESH_MS + 50));
  resync(operator, 'beta');
  await eventually(async () => expect((await beta()).status?.usage).toMatchObject({ users: 3, drives: 4, usedBytes: 5 * 1024 ** 3, usedSize: '5Gi', quotaBytes: 30 * 1024 ** 3, quotaSize: '30Gi', unlimitedDrives: 1 }));
  expect(await printed('beta')).toMatchObject({ USERS: '3', USED: '5Gi', QUOTA: '30Gi', READY: 'True' });
  expect(await printed('beta', true)).toMatchObject({ DRIVES: '4', UNLIMITED: '1' });
  const known = (await beta()).status?.usage;

  // A data plane older than the operator (no total_size): nothing half known is written, the figures
  // stay, and a new run of failures is logged once with what is missing.
  stubDomainGet = 'old';
  await new Promise((r) => setTimeout(r, USAGE_REFRESH_MS + 50));
  resync(operator, 'beta');
  await eventually(() => expect(usageLogs()).toHaveLength(2));
  expect(usageLogs()[1]).toContain('answered without total_size, unlimited_drive_count');
  await eventually(() => expect(operator.controllers.get('Domain')!.queue.running()).toBe(0), 5000);
  expect((await beta()).status?.usage).toEqual(known);
  expect(condition(await beta(), 'Ready')).toMatchObject({ status: 'True' });

  await kubectl(kube.kubeconfig, ['delete', 'domain', 'beta', '-n', NS, '--timeout=15s']);
});
