/**
 * The README's install path, by a newcomer's commands: `kubectl apply --server-side -k config/`, then the
 * real CLI `openpds operator --kubeconfig …` as its own process, then `kubectl apply -k examples/quickstart/`.
 * (No pods run on the test API server, so the Domain stops at WaitingForReplicas: the e2e tests in this
 * folder take it the rest of the way.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { eventually, startTestKube, type TestKube } from './support/kube';
import { kubectl } from './support/kubectl';

const ROOT = path.join(__dirname, '../..');

describe('install with kubectl and run the operator from the CLI', () => {
  let kube: TestKube;
  let operator: ChildProcess | undefined;
  let operatorLog = '';

  beforeAll(async () => {
    kube = await startTestKube();
  });
  afterAll(async () => {
    operator?.kill('SIGTERM');
    await kube?.close();
  });

  it('installs config/, runs `openpds operator`, and reconciles the quickstart', async () => {
    const installed = await kubectl(kube.kubeconfig, ['apply', '--server-side', '-k', path.join(ROOT, 'config')]);
    expect(installed).toMatch(/customresourcedefinition.apiextensions.k8s.io\/domains.openpds.io serverside-applied/);
    expect(installed).toMatch(/clusterrole.rbac.authorization.k8s.io\/openpds-operator serverside-applied/);
    expect(installed).toMatch(/deployment.apps\/openpds-operator serverside-applied/);

    operator = spawn(process.execPath, [path.join(ROOT, 'bin/openpds.js'), 'operator', '--kubeconfig', kube.kubeconfig, '--metrics-port', '0'], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    operator.stdout!.on('data', (c: Buffer) => (operatorLog += c.toString()));
    operator.stderr!.on('data', (c: Buffer) => (operatorLog += c.toString()));

    await kubectl(kube.kubeconfig, ['apply', '-k', path.join(ROOT, 'examples/quickstart')]);
    const domain = await eventually(async () => {
      const out = JSON.parse(await kubectl(kube.kubeconfig, ['get', 'domain', 'quickstart', '-o', 'json'])) as { status?: { conditions?: { type: string; reason: string }[] } };
      const ready = out.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.reason !== 'WaitingForReplicas') throw new Error(`Ready is ${JSON.stringify(ready)}; operator log: ${operatorLog.slice(-2000)}`);
      return out;
    }, 30_000, 200);
    expect(domain.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ reason: 'WaitingForReplicas' });
    const children = await kubectl(kube.kubeconfig, ['get', 'pvc,deploy,svc,configmap,secret', '-n', 'default', '-o', 'name']);
    expect(children).toEqual(expect.stringContaining('persistentvolumeclaim/quickstart-data'));
    expect(children).toEqual(expect.stringContaining('deployment.apps/quickstart-api'));
    expect(children).toEqual(expect.stringContaining('secret/quickstart-admin'));
    const drive = await kubectl(kube.kubeconfig, ['get', 'drive', 'team', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].reason}']);
    expect(drive).toBe('DomainNotReady');
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
