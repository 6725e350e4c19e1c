import { join } from 'node:path';
import { stringify } from 'yaml';
import { E2E_KUBECONFIG_ENV, FIXTURES, readFixture, startContractTarget, type ContractTarget } from './target';

// The preinstalled kubectl against the target: client-side and server-side apply of a CRD and of custom
// resources, diff, get with printer columns, wait for a condition, delete, and client-side apply of a
// built-in kind (strategic merge). On the test server the recorded requests also pin down what kubectl sent.
let target: ContractTarget;
let ns: string;
const CRD = join(FIXTURES, 'widget-crd.yaml');
const onTestServer = !process.env[E2E_KUBECONFIG_ENV];

beforeAll(async () => {
  target = await startContractTarget();
  ns = await target.namespace();
});
afterAll(() => target.close());

async function kubectl(args: string[], input?: string) {
  const result = await target.kubectl(args, input === undefined ? {} : { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

async function widgetYaml(name: string, spec: Record<string, unknown> = {}) {
  const w = await readFixture('widget.yaml');
  w.metadata.name = name;
  Object.assign(w.spec, spec);
  return stringify(w);
}

const requests = () => target.hooks?.requests() ?? [];

test('CRD: client-side apply, then server-side apply, then it is established', async () => {
  expect(await kubectl(['apply', '-f', CRD])).toMatch(/customresourcedefinition.apiextensions.k8s.io\/widgets.contract.openpds.io (created|configured|unchanged)/);
  expect(await kubectl(['apply', '--server-side', '--force-conflicts', '-f', CRD])).toContain('serverside-applied');
  expect(await kubectl(['wait', '--for=condition=Established', '--timeout=30s', '-f', CRD])).toContain('condition met');
});

test('custom resource: client-side apply creates, re-applies unchanged, then configures with a merge patch', async () => {
  expect(await kubectl(['apply', '-n', ns, '-f', join(FIXTURES, 'widget.yaml')])).toContain('widget.contract.openpds.io/sample created');
  expect(await kubectl(['apply', '-n', ns, '-f', join(FIXTURES, 'widget.yaml')])).toContain('unchanged');
  expect(await kubectl(['apply', '-n', ns, '-f', '-'], await widgetYaml('sample', { size: 'large' }))).toContain('configured');
  expect(await kubectl(['get', 'widget', 'sample', '-n', ns, '-o', 'jsonpath={.spec.size}'])).toBe('large');
  if (onTestServer) {
    const widgetRequests = requests().filter((r) => r.path.endsWith(`/namespaces/${ns}/widgets`) || r.path.endsWith(`/namespaces/${ns}/widgets/sample`));
    expect(widgetRequests.some((r) => r.method === 'POST' && r.query.includes('fieldManager=kubectl-client-side-apply'))).toBe(true);
    expect(widgetRequests.some((r) => r.method === 'PATCH' && r.contentType === 'application/merge-patch+json')).toBe(true);
  }
});

test('diff shows the change (exit code 1) without persisting it', async () => {
  const result = await target.kubectl(['diff', '-n', ns, '-f', '-'], { input: await widgetYaml('sample', { size: 'large', replicas: 3 }) });
  expect(result.code).toBe(1);
  expect(result.stdout).toMatch(/-\s+replicas: 1/);
  expect(result.stdout).toMatch(/\+\s+replicas: 3/);
  expect(await kubectl(['get', 'widget', 'sample', '-n', ns, '-o', 'jsonpath={.spec.replicas}'])).toBe('1');
  if (onTestServer) expect(requests().some((r) => r.method === 'PATCH' && r.query.includes('dryRun=All'))).toBe(true);
});

test('server-side apply of a custom resource, with a conflict resolved by --force-conflicts', async () => {
  expect(await kubectl(['apply', '--server-side', '-n', ns, '-f', '-'], await widgetYaml('sample-ssa'))).toContain('serverside-applied');
  await kubectl(['patch', 'widget', 'sample-ssa', '-n', ns, '--type=merge', '-p', '{"spec":{"size":"medium"}}']);
  const conflict = await target.kubectl(['apply', '--server-side', '-n', ns, '-f', '-'], { input: await widgetYaml('sample-ssa') });
  expect(conflict.code).not.toBe(0);
  expect(conflict.stderr).toContain('conflict with "kubectl-patch"');
  expect(await kubectl(['apply', '--server-side', '--force-conflicts', '-n', ns, '-f', '-'], await widgetYaml('sample-ssa'))).toContain('serverside-applied');
  expect(await kubectl(['get', 'widget', 'sample-ssa', '-n', ns, '-o', 'jsonpath={.spec.size}'])).toBe('small');
  if (onTestServer) expect(requests().some((r) => r.method === 'PATCH' && r.contentType === 'application/apply-patch+yaml')).toBe(true);
});

test('get prints the CRD printer columns', async () => {
  const lines = (await kubectl(['get', 'widgets', '-n', ns])).trim().split('\n');
  expect(lines[0]!.split(/\s+/)).toEqual(['NAME', 'SIZE', 'REPLICAS', 'READY', 'AGE']);
  expect(lines.find((l) => l.startsWith('sample '))!.split(/\s+/).slice(0, 3)).toEqual(['sample', 'large', '1']);
});

test('wait --for=condition=Ready returns once the status says so', async () => {
  const waiting = target.kubectl(['wait', '--for=condition=Ready', '--timeout=30s', '-n', ns, 'widget/sample']);
  await new Promise((r) => setTimeout(r, 700));
  const custom = target.kc.makeApiClient(target.k8s.CustomObjectsApi);
  const live: any = await custom.getNamespacedCustomObject({ group: 'contract.openpds.io', version: 'v1', namespace: ns, plural: 'widgets', name: 'sample' });
  const status = { conditions: [{ type: 'Ready', status: 'True', reason: 'Test', message: 'set by the test', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] };
  await custom.replaceNamespacedCustomObjectStatus({ group: 'contract.openpds.io', version: 'v1', namespace: ns, plural: 'widgets', name: 'sample', body: { ...live, status } });
  const result = await waiting;
  expect(result.stderr).toBe('');
  expect(result.stdout).toContain('widget.contract.openpds.io/sample condition met');
  expect((await kubectl(['get', 'widget', 'sample', '-n', ns])).split('\n')[1]!.split(/\s+/)[3]).toBe('True');
});

test('delete removes the object and waits for it to be gone', async () => {
  expect(await kubectl(['delete', '-n', ns, '-f', join(FIXTURES, 'widget.yaml')])).toContain('widget.contract.openpds.io "sample" deleted');
  const after = await target.kubectl(['get', 'widget', 'sample', '-n', ns]);
  expect(after.code).toBe(1);
  expect(after.stderr).toContain('NotFound');
});

test('client-side apply of a Deployment uses strategic merge: a removed container and env var go away', async () => {
  const deployment = (containers: unknown[]) =>
    stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers } } } });
  const app = (env: unknown[]) => ({ name: 'app', image: 'registry.k8s.io/pause:3.9', env });
  await kubectl(['apply', '-n', ns, '-f', '-'], deployment([app([{ name: 'A', value: '1' }, { name: 'B', value: '2' }]), { name: 'sidecar', image: 'registry.k8s.io/pause:3.9' }]));
  expect(await kubectl(['apply', '-n', ns, '-f', '-'], deployment([app([{ name: 'A', value: '1' }])]))).toContain('configured');
  const containers = JSON.parse(await kubectl(['get', 'deployment', 'web', '-n', ns, '-o', 'jsonpath={.spec.template.spec.containers}']));
  expect(containers.map((c: { name: string; env?: unknown[] }) => [c.name, c.env])).toEqual([['app', [{ name: 'A', value: '1' }]]]);
  if (onTestServer) expect(requests().some((r) => r.method === 'PATCH' && r.contentType === 'application/strategic-merge-patch+json')).toBe(true);
});
