/**
 * The README's developer command, as typed: `npm run operator -- --kubeconfig FILE` against the Kubernetes
 * API test server. It reconciles (a Domain gets its children and a status), serves /readyz and /metrics,
 * and a SIGTERM shuts it down cleanly. (install.e2e runs the image's `openpds operator` instead.)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runOperatorCommand } from '../../operator/src/cli-operator';
import { eventually, startTestKube, type TestKube } from './support/kube';
import { kubectl } from './support/kubectl';

const ROOT = path.join(__dirname, '../..');
let kube: TestKube;

beforeAll(async () => {
  kube = await startTestKube();
  await kubectl(kube.kubeconfig, ['apply', '-k', path.join(ROOT, 'crds')]);
});
afterAll(() => kube.close());

test('npm run operator -- --kubeconfig FILE reconciles, serves health and metrics, and stops on SIGTERM', async () => {
  // Its own process group, so the signal reaches npm, the shell and node alike.
  const child = spawn('npm', ['run', '--silent', 'operator', '--', '--kubeconfig', kube.kubeconfig, '--metrics-port', '0'], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const url = await eventually(async () => {
      const found = /"msg":"metrics and health","url":"([^"]+)"/.exec(log)?.[1];
      expect(found).toBeDefined();
      return found!;
    }, 30_000);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    await kubectl(kube.kubeconfig, ['apply', '-f', '-'], 'apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: dev, namespace: default}\nspec: {storage: {mode: standard, volume: {size: 1Gi}}, apiServer: {replicas: 1}}\n');
    await eventually(async () => {
      const domain = JSON.parse(await kubectl(kube.kubeconfig, ['get', 'domain', 'dev', '-o', 'json']));
      expect(domain.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForReplicas' });
    }, 20_000);
    expect(await kubectl(kube.kubeconfig, ['get', 'deployments', '-o', 'name'])).toContain('deployment.apps/dev-api');
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/openpds_operator_reconcile_duration_seconds_count\{kind="Domain"[^}]*\} [1-9]/);
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
  }
  await exited;
  expect(log).not.toMatch(/"level":"error"/);
});

// A kubeconfig that is not there, or names a server that does not answer: one line saying which, not a stack trace.
describe('openpds operator with a kubeconfig it cannot use', () => {
  async function errorsOf(argv: string[]): Promise<{ code: number; lines: string[] }> {
    const lines: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
    try {
      return { code: await runOperatorCommand([...argv, '--metrics-port', '0']), lines };
    } finally {
      spy.mockRestore();
    }
  }

  test('a missing file is named, exit 2', async () => {
    await expect(errorsOf(['--kubeconfig', '/nope/kubeconfig'])).resolves.toEqual({ code: 2, lines: ['openpds operator: cannot load the kubeconfig /nope/kubeconfig: no such file'] });
  });

  test('an API server that refuses connections is named by its URL, exit 1', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-kubeconfig-')), 'kubeconfig');
    fs.writeFileSync(file, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n');
    await expect(errorsOf(['--kubeconfig', file])).resolves.toEqual({
      code: 1,
      lines: ["openpds operator: cannot reach the Kubernetes API server https://127.0.0.1:1: ECONNREFUSED (is the cluster running, and is it the kubeconfig's current context?)"],
    });
  });
});

// The Lease taken by another holder (a partition, an operator that thought the lease expired): this one exits
// 1 for a clean restart and says why, on stderr and as the container's termination message.
test('openpds operator --leader-elect whose Lease another holder takes exits 1, saying so where kubectl describe pod shows it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-lost-lease-'));
  const terminationLog = path.join(dir, 'termination-log');
  fs.writeFileSync(terminationLog, ''); // as the kubelet makes it
  const lines: string[] = [];
  const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
  try {
    const exited = runOperatorCommand(['--kubeconfig', kube.kubeconfig, '--metrics-port', '0', '--monitoring', 'false', '--leader-elect', '--leader-election-namespace', 'default'], { terminationMessagePath: terminationLog });
    const ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'default', name: 'openpds-operator' };
    await eventually(async () => expect((await kube.client.get<{ spec: { holderIdentity?: string } }>(ref)).spec.holderIdentity).toBeTruthy(), 15_000);
    await kube.client.patch(ref, 'merge', { spec: { holderIdentity: 'another-operator', renewTime: new Date().toISOString().replace('Z', '000Z') } });
    await expect(exited).resolves.toBe(1);
  } finally {
    spy.mockRestore();
  }
  const said = 'openpds operator: lost leader election (the Lease was taken or could not be renewed): exiting so that a fresh process starts';
  expect(lines).toContain(said);
  expect(fs.readFileSync(terminationLog, 'utf8')).toBe(said);
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);
