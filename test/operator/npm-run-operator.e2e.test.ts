/**
 * The README's developer command, as typed: `npm run operator -- --kubeconfig FILE` against the Kubernetes
 * API test server. It reconciles (a Domain gets its children and a status), serves /readyz and /metrics,
 * and a SIGTERM shuts it down cleanly. (install.e2e runs the image's `openpds operator` instead.)
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
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
