import { buildDomainChart, TEMPLATE_HASH_ANNOTATION, templateHash, type Manifest } from './domain.chart';
import { GENERATION_LABEL } from './domain-context';
import { BOOTSTRAP, fullDomain } from './testing/domain-fixtures';

type Deployment = Manifest & { spec: { template: { metadata: { annotations?: Record<string, string> } } } };
const deployments = (ms: Manifest[]) => ms.filter((m): m is Deployment => m.kind === 'Deployment');

test('each Deployment records the hash of its pod template on its metadata, not in the template', () => {
  const ms = deployments(buildDomainChart(fullDomain(), { bootstrap: BOOTSTRAP }));
  expect(ms.map((m) => m.metadata.name)).toEqual(['acme-api', 'acme-worker']);
  for (const m of ms) {
    expect(m.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION]).toBe(templateHash(m.spec.template));
    expect(m.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION]).toMatch(/^[0-9a-f]{16}$/);
    expect(m.spec.template.metadata.annotations ?? {}).not.toHaveProperty(TEMPLATE_HASH_ANNOTATION);
    expect(m.metadata.labels?.[GENERATION_LABEL]).toBe(String(fullDomain().metadata.generation ?? 0));
  }
});

test('the hash moves with the pod template only: a newer chart (podAnnotations) or a pod setting, not a new generation alone', () => {
  const hashes = (ms: Manifest[]) => deployments(ms).map((m) => m.metadata.annotations![TEMPLATE_HASH_ANNOTATION]);
  const base = hashes(buildDomainChart(fullDomain(), { bootstrap: BOOTSTRAP }));
  const next = fullDomain();
  next.metadata.generation = (next.metadata.generation ?? 0) + 7;
  expect(hashes(buildDomainChart(next, { bootstrap: BOOTSTRAP }))).toEqual(base);
  const newer = buildDomainChart(fullDomain(), { bootstrap: BOOTSTRAP, podAnnotations: { 'example.com/new': 'x' } });
  expect(deployments(newer).map((m) => m.spec.template.metadata.annotations?.['example.com/new'])).toEqual(['x', 'x']);
  expect(hashes(newer).every((h, i) => h !== base[i])).toBe(true);
  // The API server's resources: its template moves, the workers' does not.
  const resized = fullDomain();
  resized.spec.apiServer = { ...resized.spec.apiServer, resources: { requests: { cpu: '3', memory: '3Gi' } } };
  const [api, worker] = hashes(buildDomainChart(resized, { bootstrap: BOOTSTRAP }));
  expect([api !== base[0], worker === base[1]]).toEqual([true, true]);
});
