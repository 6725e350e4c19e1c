// The Argo CD health checks run in Argo CD's Lua 5.1 (gopher-lua); here Debian's lua5.1 runs them against
// sample objects, one process per case, the way Argo CD calls them: a global `obj`, a returned table.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { loadYamlDocs, REPO_ROOT } from '../../crds/testing/crd-schema';

const KINDS = ['Domain', 'Drive', 'UserSystem', 'OAuthApp'];
const healthFile = (kind: string) => path.join(__dirname, 'health', `${kind.toLowerCase()}.lua`);

/** JSON to a Lua table constructor (null and undefined become nil, i.e. absent). */
function toLua(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{${value.map(toLua).join(', ')}}`;
  return `{${Object.entries(value as object)
    .map(([k, v]) => `[${JSON.stringify(k)}] = ${toLua(v)}`)
    .join(', ')}}`;
}

function health(kind: string, obj: object): { status: string; message: string } {
  const script = `obj = ${toLua(obj)}\nlocal hs = dofile(${JSON.stringify(healthFile(kind))})\nio.write(hs.status, "\\t", hs.message or "")\n`;
  const run = spawnSync('lua5.1', ['-'], { input: script, encoding: 'utf8' });
  if (run.error) throw new Error(`lua5.1 not runnable (apt-get install lua5.1): ${run.error.message}`);
  if (run.status !== 0) throw new Error(run.stderr);
  const [status, message] = run.stdout.split('\t');
  return { status: status!, message: message ?? '' };
}

const ready = (status: string, reason: string, observedGeneration = 2) => ({
  type: 'Ready',
  status,
  reason,
  message: `${reason} message`,
  lastTransitionTime: '2025-01-01T00:00:00Z',
  observedGeneration,
});
const object = (status?: object, metadata: object = {}) => ({ metadata: { name: 'x', generation: 2, ...metadata }, ...(status && { status }) });

describe.each(KINDS)('%s health', (kind) => {
  test.each([
    ['no status yet', object(), 'Progressing'],
    ['status of an older generation', object({ observedGeneration: 1, conditions: [ready('True', 'Ready', 1)] }), 'Progressing'],
    ['current generation without Ready', object({ observedGeneration: 2, conditions: [] }), 'Progressing'],
    ['Ready=True', object({ observedGeneration: 2, conditions: [ready('True', 'Ready')] }), 'Healthy'],
    ['Ready=True but the condition is stale', object({ observedGeneration: 2, conditions: [ready('True', 'Ready', 1)] }), 'Progressing'],
    ['Ready=False while progressing', object({ observedGeneration: 2, conditions: [ready('False', 'Progressing')] }), 'Progressing'],
    ['Ready=False with a real error', object({ observedGeneration: 2, conditions: [ready('False', 'SecretNotFound')] }), 'Degraded'],
    ['Ready=Unknown', object({ observedGeneration: 2, conditions: [ready('Unknown', 'Reconciling')] }), 'Progressing'],
    ['being deleted', object({ observedGeneration: 2, conditions: [ready('True', 'Ready')] }, { deletionTimestamp: '2025-01-01T00:00:00Z' }), 'Progressing'],
  ])('%s → %s', (_name, obj, expected) => {
    expect(health(kind, obj).status).toBe(expected);
  });

  test('Degraded says why', () => {
    expect(health(kind, object({ observedGeneration: 2, conditions: [ready('False', 'SecretNotFound')] })).message).toBe('SecretNotFound: SecretNotFound message');
  });
});

test('argocd-cm embeds exactly the health/ scripts', () => {
  const cm = YAML.parse(fs.readFileSync(path.join(__dirname, 'argocd-cm.yaml'), 'utf8')) as { data: Record<string, string> };
  expect(Object.keys(cm.data).sort()).toEqual(KINDS.map((k) => `resource.customizations.health.openpds.io_${k}`).sort());
  for (const kind of KINDS) expect(cm.data[`resource.customizations.health.openpds.io_${kind}`]).toBe(fs.readFileSync(healthFile(kind), 'utf8'));
});

test('sync waves: CRDs, then the operator, then Domains, then what lives in a Domain', () => {
  const app = YAML.parse(fs.readFileSync(path.join(__dirname, 'app/kustomization.yaml'), 'utf8')) as { resources: string[]; patches: { target: object; patch: string }[] };
  const waveOf = (target: object) => {
    const patch = app.patches.find((p) => JSON.stringify(p.target) === JSON.stringify(target))!;
    return Number((YAML.parse(patch.patch) as { value: Record<string, string> }[])[0]!.value['argocd.argoproj.io/sync-wave']);
  };
  const crds = waveOf({ kind: 'CustomResourceDefinition' });
  const operator = waveOf({ labelSelector: 'app.kubernetes.io/name=openpds-operator' });
  for (const r of app.resources) expect(fs.existsSync(path.join(__dirname, 'app', r, 'kustomization.yaml'))).toBe(true);
  const docs = loadYamlDocs(path.join(REPO_ROOT, 'examples')).filter(({ doc }) => String(doc.apiVersion).startsWith('openpds.io/'));
  const waves = (kind: string) => docs.filter(({ doc }) => doc.kind === kind).map(({ doc }) => Number((doc.metadata as any).annotations['argocd.argoproj.io/sync-wave']));
  expect(crds).toBeLessThan(operator);
  for (const w of waves('Domain')) expect(w).toBeGreaterThan(operator);
  for (const kind of ['Drive', 'UserSystem', 'OAuthApp']) for (const w of waves(kind)) expect(w).toBeGreaterThan(Math.max(...waves('Domain')));
});
