/**
 * The README's install path, by a newcomer's commands, to the end: plain `kubectl apply -k config/` (the
 * issue's command, client-side), the real CLI `openpds operator` as its own process with the arguments and
 * environment config/manager/deployment.yaml gives the pod, under the RBAC config/ installed (enforced by
 * an RBAC proxy: the test API server stores RBAC but does not enforce it), then `kubectl apply -k
 * examples/quickstart/` until the Domain and the Drive are Ready and the drive exists in a real data
 * plane, then `kubectl delete -k examples/quickstart/`.
 *
 * Stand-ins for what only a real cluster has: the test marks the quickstart's Deployment available (no
 * kubelet here, as with envtest), and a data plane on loopback, started with the Domain's generated
 * credentials, answers for its pods through the operator's `--domain-endpoint`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { createAdminClient } from '../../operator/src/admin-client/admin-client';
import type { KubeObject } from '../../operator/src/kube/kube-client';
import type { LeaseSpec } from '../../operator/src/kube/leader-election';
import { freePort } from '../e2e/support/child-server';
import { startStandInDataPlane, type StandInDataPlane } from './support/stand-in-data-plane';
import { markDeploymentAvailable } from './support/deployments';
import { eventually, startTestKube, type TestKube } from './support/kube';
import { kubectl } from './support/kubectl';
import { startRbacProxy, type RbacProxy } from './support/rbac-proxy';

const ROOT = path.join(__dirname, '../..');
const SYSTEM_NS = 'openpds-system';
const POD_NAME = 'openpds-operator-5c7d9f8b6-x2k4q';

interface OperatorProcess {
  child: ChildProcess;
  log(): string;
  metricsUrl: Promise<string>;
  stop(): Promise<void>;
}

/** `openpds operator` as the Deployment runs it: its args (metrics on a free port here) and downward-API env. */
function startOperator(kubeconfig: string, env: Record<string, string>, extraArgs: string[]): OperatorProcess {
  const deployment = YAML.parse(readFileSync(path.join(ROOT, 'config/manager/deployment.yaml'), 'utf8')) as { spec: { template: { spec: { containers: { args: string[] }[] } } } };
  const args = deployment.spec.template.spec.containers[0]!.args.map((a) => (a.startsWith('--metrics-port') ? '--metrics-port=0' : a));
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/openpds.js'), ...args, '--kubeconfig', kubeconfig, ...extraArgs], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  let announce: (url: string) => void = () => undefined;
  const metricsUrl = new Promise<string>((resolve) => (announce = resolve));
  const onData = (c: Buffer) => {
    log += c.toString();
    const url = /"msg":"metrics and health","url":"([^"]+)"/.exec(log)?.[1];
    if (url) announce(url);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    log: () => log,
    metricsUrl,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}


const text = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
};
const readyReason = async (kubeconfig: string, kind: string, name: string) =>
  kubectl(kubeconfig, ['get', kind, name, '-n', 'default', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].reason}']);

describe('install with `kubectl apply -k config/`, run `openpds operator` as the Deployment does, take the quickstart to Ready', () => {
  let kube: TestKube;
  let proxy: RbacProxy;
  let port: number;
  let dataPlane: StandInDataPlane | undefined;
  const operators: OperatorProcess[] = [];
  let leader: OperatorProcess;
  let admin: ReturnType<typeof createAdminClient>;

  beforeAll(async () => {
    kube = await startTestKube();
    port = await freePort();
  });
  afterAll(async () => {
    await Promise.all(operators.map((o) => o.stop()));
    await proxy?.close();
    await dataPlane?.stop();
    await kube?.close();
  });

  it('installs config/ with plain client-side apply, and applying again changes nothing', async () => {
    const installed = await kubectl(kube.kubeconfig, ['apply', '-k', path.join(ROOT, 'config')]);
    expect(installed).toMatch(/customresourcedefinition.apiextensions.k8s.io\/domains.openpds.io created/);
    expect(installed).toMatch(/clusterrole.rbac.authorization.k8s.io\/openpds-operator created/);
    expect(installed).toMatch(/role.rbac.authorization.k8s.io\/openpds-operator-leader-election created/);
    expect(installed).toMatch(/deployment.apps\/openpds-operator created/);
    // Client-side apply keeps the whole object in an annotation: the largest, the Domain CRD, fits.
    const crd = await kube.client.request<KubeObject>('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/domains.openpds.io');
    const lastApplied = crd.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? '';
    expect(lastApplied.length).toBeGreaterThan(10_000);
    expect(lastApplied.length).toBeLessThan(256 * 1024);
    const pdb = { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespace: 'openpds-system', name: 'openpds-operator' };
    const pdbVersion = (await kube.client.get(pdb)).metadata?.resourceVersion;
    const again = await kubectl(kube.kubeconfig, ['apply', '-k', path.join(ROOT, 'config')]);
    expect(again).toMatch(/customresourcedefinition.apiextensions.k8s.io\/domains.openpds.io unchanged/);
    // A PodDisruptionBudget's selector has patchStrategy "replace" in kubectl's compiled-in types, so the
    // patch kubectl computes for one is never empty and it says "configured" on every apply, on any
    // cluster; nothing changes (the same resourceVersion).
    expect(again.replace(/^poddisruptionbudget.policy\/openpds-operator configured$/m, '')).not.toMatch(/ (created|configured)$/m);
    expect((await kube.client.get(pdb)).metadata?.resourceVersion).toBe(pdbVersion);
  });

  it('the operator takes its Lease in its own namespace (POD_NAMESPACE) under the installed RBAC', async () => {
    proxy = await startRbacProxy({ client: kube.client, target: kube.server.url, serviceAccount: { namespace: SYSTEM_NS, name: 'openpds-operator' }, kubeconfigFile: path.join(kube.dir, 'operator.kubeconfig') });
    leader = startOperator(proxy.kubeconfig, { POD_NAME, POD_NAMESPACE: SYSTEM_NS }, ['--domain-endpoint', `default/quickstart=http://127.0.0.1:${port}`]);
    operators.push(leader);
    const lease = await eventually(
      async () => (await kube.client.get<KubeObject & { spec: LeaseSpec }>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: SYSTEM_NS, name: 'openpds-operator' })).spec,
      20_000,
      100,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\noperator log:\n${leader.log().slice(-3000)}`);
    });
    expect(lease.holderIdentity).toMatch(new RegExp(`^${POD_NAME}_[0-9a-f]{8}$`));
    const metricsUrl = await leader.metricsUrl;
    await eventually(async () => expect((await text(`${metricsUrl}/metrics`)).body).toMatch(/^openpds_operator_leader 1$/m), 10_000, 100);
    expect(await text(`${metricsUrl}/readyz`)).toEqual({ status: 200, body: 'ok\n' });
    expect(leader.log()).toContain(`leader election: acquired Lease ${SYSTEM_NS}/openpds-operator`);
  }, 30_000);

  it('a second replica waits on standby and says for whom; one that cannot read its Lease (403) is not ready and says why', async () => {
    const standby = startOperator(proxy.kubeconfig, { POD_NAME: 'openpds-operator-5c7d9f8b6-standby', POD_NAMESPACE: SYSTEM_NS }, []);
    // Installed by hand into another namespace than its Role's, e.g. with `-n default` edited in.
    const misplaced = startOperator(proxy.kubeconfig, { POD_NAME: 'openpds-operator-misplaced', POD_NAMESPACE: 'default' }, []);
    operators.push(standby, misplaced);
    const [standbyUrl, misplacedUrl] = await Promise.all([standby.metricsUrl, misplaced.metricsUrl]);
    await eventually(() => expect(standby.log()).toMatch(new RegExp(`waiting for Lease ${SYSTEM_NS}/openpds-operator held by ${POD_NAME}_`)), 20_000, 100);
    expect(await text(`${standbyUrl}/readyz`)).toEqual({ status: 200, body: 'ok\n' });
    expect((await text(`${standbyUrl}/metrics`)).body).toMatch(/^openpds_operator_leader 0$/m);

    await eventually(() => expect(misplaced.log()).toMatch(/"level":"error","msg":"leader election: cannot read or write Lease default\/openpds-operator","status":403,"reason":"Forbidden","error":".*cannot get resource \\"leases\\" in API group \\"coordination.k8s.io\\" in the namespace \\"default\\""/), 20_000, 100);
    // Every attempt fails (one each 2 s), but the log says so once per 10 s with a count.
    await eventually(() => expect(misplaced.log()).toMatch(/"repeated":[1-9]/), 20_000, 100);
    const ready = await text(`${misplacedUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatch(/^leader election failing: 403 Forbidden: GET \/apis\/coordination.k8s.io\/v1\/namespaces\/default\/leases\/openpds-operator: .*cannot get resource "leases"/);
    expect((await text(`${misplacedUrl}/healthz`)).status).toBe(200); // restarting would not help
    expect((await text(`${misplacedUrl}/metrics`)).body).toMatch(/^openpds_operator_leader 0$/m);
    await Promise.all([standby.stop(), misplaced.stop()]);
    // The misplaced replica's attempts are the only requests the RBAC refused.
    expect(new Set(proxy.denied().map((d) => `${d.verb} ${d.resource} ${d.namespace}`))).toEqual(new Set(['get leases default']));
  }, 60_000);

  it('reconciles the quickstart: Domain Ready, Drive Ready and created in the data plane', async () => {
    await kubectl(kube.kubeconfig, ['apply', '-k', path.join(ROOT, 'examples/quickstart')]);
    await eventually(async () => expect(await readyReason(kube.kubeconfig, 'domain', 'quickstart')).toBe('WaitingForReplicas'), 30_000, 200).catch((e: Error) => {
      throw new Error(`${e.message}\noperator log:\n${leader.log().slice(-3000)}`);
    });
    expect(await readyReason(kube.kubeconfig, 'drive', 'team')).toBe('DomainNotReady');
    const children = await kubectl(kube.kubeconfig, ['get', 'pvc,deploy,svc,configmap,secret', '-n', 'default', '-l', 'openpds.io/domain=quickstart', '-o', 'name']);
    expect(children.split('\n').filter(Boolean).sort()).toEqual([expect.stringMatching(/^configmap\/quickstart-config-[0-9a-f]{10}$/), 'deployment.apps/quickstart-api', 'persistentvolumeclaim/quickstart-data', 'secret/quickstart-admin', 'service/quickstart-api']);

    // What the pod would run: a data plane with the Domain's generated credentials, and its rollout done.
    const secret = await kube.client.get<KubeObject & { data: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', namespace: 'default', name: 'quickstart-admin' });
    const read = (key: string) => Buffer.from(secret.data[key]!, 'base64').toString('utf8');
    dataPlane = await startStandInDataPlane({ OPENPDS_ADMIN_PASSWORD: read('password'), OPENPDS_SECRET_KEY: read('secretKey'), OPENPDS_PORT: String(port) });
    await markDeploymentAvailable(kube.client, 'default', 'quickstart-api');

    await kubectl(kube.kubeconfig, ['wait', '--for=condition=Ready', 'domain/quickstart', '-n', 'default', '--timeout=30s']);
    await kubectl(kube.kubeconfig, ['wait', '--for=condition=Ready', 'drive/team', '-n', 'default', '--timeout=30s']).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await kubectl(kube.kubeconfig, ['get', 'drive', 'team', '-o', 'yaml'])}\noperator log:\n${leader.log().slice(-3000)}`);
    });
    const driveId = await kubectl(kube.kubeconfig, ['get', 'drive', 'team', '-n', 'default', '-o', 'jsonpath={.status.driveId}']);
    admin = createAdminClient({ baseUrl: dataPlane.url, credentials: { username: read('username') || 'admin', password: read('password') } });
    expect(await admin.getDrive(driveId)).toMatchObject({ drive_name: 'Team drive', owner: 'team', owner_type: 'group', total_size: 5 * 1024 ** 3 });
    expect(proxy.denied().filter((d) => d.namespace !== 'default' || d.resource !== 'leases')).toEqual([]);
  }, 90_000);

  it('`kubectl delete -k examples/quickstart/` removes the Domain, the Drive and the children, keeps the data volume and the drive', async () => {
    const driveId = await kubectl(kube.kubeconfig, ['get', 'drive', 'team', '-n', 'default', '-o', 'jsonpath={.status.driveId}']);
    await kubectl(kube.kubeconfig, ['delete', '-k', path.join(ROOT, 'examples/quickstart'), '--wait=true', '--timeout=30s']).catch((e: Error) => {
      throw new Error(`${e.message}\noperator log:\n${leader.log().slice(-3000)}`);
    });
    expect(await kubectl(kube.kubeconfig, ['get', 'domains,drives', '-A', '-o', 'name'])).toBe('');
    const left = await kubectl(kube.kubeconfig, ['get', 'deploy,svc,configmap,secret,pvc', '-n', 'default', '-l', 'openpds.io/domain=quickstart', '-o', 'name']);
    // Files outlive their Domain: the data volume, and the admin Secret with the key its data needs.
    expect(left.split('\n').filter(Boolean).sort()).toEqual(['persistentvolumeclaim/quickstart-data', 'secret/quickstart-admin']);
    // reclaimPolicy Retain (the default): the drive and its files stay in the data plane.
    expect(await admin.getDrive(driveId)).toMatchObject({ drive_name: 'Team drive' });
    expect(proxy.denied().filter((d) => d.namespace !== 'default' || d.resource !== 'leases')).toEqual([]);
    // A graceful stop hands the Lease back at once.
    await leader.stop();
    expect((await kube.client.get<KubeObject & { spec: LeaseSpec }>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: SYSTEM_NS, name: 'openpds-operator' })).spec.holderIdentity).toBe('');
  }, 60_000);

  it('refuses an invalid spec with a message kubectl shows, and stores nothing', async () => {
    const bad = `apiVersion: openpds.io/v1alpha1
kind: Domain
metadata: { name: broken, namespace: default }
spec:
  storage: { mode: ftp }
  apiServer: { replicas: -1 }
`;
    const refused = await kubectl(kube.kubeconfig, ['apply', '-f', '-'], bad).then(
      () => '',
      (e: Error) => e.message,
    );
    expect(refused).toMatch(/The Domain "broken" is invalid/);
    expect(refused).toMatch(/spec\.storage\.mode: Unsupported value: "ftp"/);
    expect(refused).toMatch(/spec\.apiServer\.replicas: Invalid value: -1: .* greater than or equal to 0/);
    expect(await kubectl(kube.kubeconfig, ['get', 'domains', '-n', 'default', '-o', 'name'])).not.toContain('broken');
  });
});
