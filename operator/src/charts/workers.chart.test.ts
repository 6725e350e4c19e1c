import { buildDomainChart, type Manifest } from './domain.chart';
import { BOOTSTRAP, fullDomain, hostingDomain } from './testing/domain-fixtures';
import { validateManifests } from './testing/validate-k8s';

type Deployment = Manifest & { spec: { strategy: Record<string, unknown>; template: { spec: { initContainers?: any[]; containers: any[] } } } };
const find = (ms: Manifest[], kind: string, name: string) => ms.find((m) => m.kind === kind && m.metadata.name === name);

describe.each([
  ['every option', fullDomain],
  ['hosting', hostingDomain],
] as const)('%s', (_name, fixture) => {
  const manifests = buildDomainChart(fixture(), { bootstrap: BOOTSTRAP });
  const name = fixture().metadata.name;
  const worker = find(manifests, 'Deployment', `${name}-worker`) as Deployment;
  const api = find(manifests, 'Deployment', `${name}-api`) as Deployment;

  test('workers roll with Recreate: no old worker claims jobs beside a new one (README, migration 017)', () => {
    expect(worker.spec.strategy).toEqual({ type: 'Recreate' });
    // The API server keeps its surge roll: it serves traffic, and an old one runs no jobs (OPENPDS_SERVE_RUNS_JOBS false).
    expect(api.spec.strategy).toMatchObject({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  });

  test('a worker pod migrates the database before it runs jobs, with the main container’s image, settings and hardening', () => {
    const pod = worker.spec.template.spec;
    const [main] = pod.containers;
    expect(main.args).toEqual(['worker']);
    expect(pod.initContainers).toHaveLength(1);
    const [migrate] = pod.initContainers!;
    expect(migrate.name).toBe('migrate');
    expect(migrate.args).toEqual(['migrate']);
    for (const field of ['image', 'imagePullPolicy', 'envFrom', 'env', 'resources', 'securityContext', 'volumeMounts']) expect(migrate[field]).toEqual(main[field]);
    expect(migrate).not.toHaveProperty('readinessProbe');
    // The API server migrates at its own start: no init container there.
    expect(api.spec.template.spec).not.toHaveProperty('initContainers');
  });

  test('the worker objects are valid against the Kubernetes OpenAPI schemas', () => {
    expect(validateManifests(manifests.filter((m) => m.metadata.name.startsWith(`${name}-worker`))).filter((r) => r.error)).toEqual([]);
  });
});

test('the worker PodDisruptionBudget stays for node drains whenever more than one worker is the floor', () => {
  const d = fullDomain();
  // Autoscaled 2-20: a drain evicts one worker at a time.
  expect((find(buildDomainChart(d, { bootstrap: BOOTSTRAP }), 'PodDisruptionBudget', 'acme-worker') as any)?.spec.maxUnavailable).toBe(1);
  // One worker: a budget would block every drain; the jobs wait in PostgreSQL while it moves.
  d.spec.workers = { ...d.spec.workers, replicas: 1, autoscaling: { enabled: false } };
  expect(find(buildDomainChart(d, { bootstrap: BOOTSTRAP }), 'PodDisruptionBudget', 'acme-worker')).toBeUndefined();
});
