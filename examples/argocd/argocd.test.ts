// The Argo CD health checks run in Argo CD's Lua 5.1 (gopher-lua); here Debian's lua5.1 runs them against
// sample objects, one process per case, the way Argo CD calls them: a global `obj`, a returned table.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { loadYamlDocs, REPO_ROOT } from '../../crds/testing/crd-schema';
import { DRIVE_REASONS } from '../../operator/src/reconcilers/drive-context';

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

type Health = 'Healthy' | 'Progressing' | 'Suspended' | 'Degraded';
const ARGO: Record<string, Health> = { healthy: 'Healthy', progressing: 'Progressing', degraded: 'Degraded' };

/**
 * How Argo CD must read each Ready reason operator/src/reconcilers/domain*.ts write. They export no
 * list, so the test below reads the reasons from its source and fails on any missing here: a new reason
 * needs a decision (and maybe an entry in health/domain.lua) before it ships.
 */
const DOMAIN_REASONS: Record<string, Health> = {
  Ready: 'Healthy',
  WaitingForReplicas: 'Progressing',
  WaitingForReadyz: 'Progressing',
  WaitingForDrives: 'Progressing',
  StorageClaimTakenOver: 'Progressing', // the takeover done, its pods roll back to check: Ready after that
  Deleting: 'Progressing',
  Stopped: 'Suspended', // scaled to zero as the spec asks: at rest, not broken
  MissingSecret: 'Degraded',
  MissingSecretKey: 'Degraded',
  StorageModeUnsupported: 'Degraded',
  InvalidAnnotation: 'Degraded', // an openpds.io/storage-claim value the reconciler refuses: nothing applied
  CRDOutdated: 'Degraded', // the cluster's Domain CRD drops a status field this operator writes
  StorageConflict: 'Degraded', // another Domain's S3 keyspace: nothing applied until it gets its own
  NameConflict: 'Degraded', // an object not its own bears a child's name: nothing applied, nothing taken over
  MissingAdminSecret: 'Degraded',
  ImageNotApproved: 'Degraded', // Manual, no currentImage, no approvedImage, over kept data: someone must approve an image
  ApplyFailed: 'Degraded',
  RolloutFailed: 'Degraded',
};
// Written by domain.ts on Progressing and Degraded only (their all-clear), and by domain-image.ts on the
// UpgradePending condition only (a held upgrade leaves Ready True: the data plane serves), never on Ready.
const DOMAIN_NOT_READY_REASONS = new Set(['Reconciled', 'AsExpected', 'AwaitingApproval', 'UpToDate']);

/** Reasons in domain*.ts (the reconciler and its parts): outcome(generation, 'Reason', …) and `reason: 'Reason'` literals. */
function domainSourceReasons(): string[] {
  const dir = path.join(REPO_ROOT, 'operator/src/reconcilers');
  const files = fs.readdirSync(dir).filter((f) => /^domain[-.].*ts$|^domain\.ts$/.test(f) && !f.endsWith('.test.ts'));
  const source = files.map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
  const found = new Set<string>();
  for (const pattern of [/\boutcome\([^,()]+,\s*'([A-Z]\w*)'/g, /\breason:\s*'([A-Z]\w*)'/g]) for (const m of source.matchAll(pattern)) found.add(m[1]!);
  return [...found].filter((r) => !DOMAIN_NOT_READY_REASONS.has(r)).sort();
}

/** A current status whose Ready condition has `reason`: True for Healthy reasons, False otherwise. */
const withReason = (reason: string, health: Health) => object({ observedGeneration: 2, conditions: [ready(health === 'Healthy' ? 'True' : 'False', reason)] });

const REASONS_BY_KIND: [string, Record<string, Health>][] = [
  ['Drive', Object.fromEntries(Object.entries(DRIVE_REASONS).map(([reason, health]) => [reason, ARGO[health]!]))],
  ['Domain', DOMAIN_REASONS],
];

describe.each(REASONS_BY_KIND)('%s health follows the reasons its reconciler writes', (kind, reasons) => {
  test.each(Object.entries(reasons))('%s → %s', (reason, expected) => {
    const hs = health(kind, withReason(reason, expected));
    expect(hs.status).toBe(expected);
    expect(hs.message).toContain(`${reason} message`);
  });

  test('a reason no reconciler writes (yet) reads as Degraded when Ready=False: a new one is never silently healthy', () => {
    expect(health(kind, withReason('SomethingNew', 'Degraded')).status).toBe('Degraded');
  });
});

test('every Ready reason in domain.ts is classified', () => {
  const reasons = domainSourceReasons();
  expect(reasons).toEqual(expect.arrayContaining(['Ready', 'WaitingForReplicas', 'ApplyFailed', 'MissingSecret', 'MissingSecretKey'])); // the parse still works
  expect(reasons.filter((r) => !(r in DOMAIN_REASONS))).toEqual([]);
});

// UserSystem and OAuthApp have no reconciler yet: their scripts keep generic reasons until they do.
describe.each(KINDS)('%s health', (kind) => {
  const waiting = kind === 'Drive' ? 'DomainNotReady' : kind === 'Domain' ? 'WaitingForReplicas' : 'Progressing';
  const broken = kind === 'Drive' ? 'AdminApiRejected' : kind === 'Domain' ? 'MissingSecret' : 'SecretNotFound';
  test.each([
    ['no status yet', object(), 'Progressing'],
    ['status of an older generation', object({ observedGeneration: 1, conditions: [ready('True', 'Ready', 1)] }), 'Progressing'],
    ['current generation without Ready', object({ observedGeneration: 2, conditions: [] }), 'Progressing'],
    ['Ready=True', object({ observedGeneration: 2, conditions: [ready('True', 'Ready')] }), 'Healthy'],
    ['Ready=True but the condition is stale', object({ observedGeneration: 2, conditions: [ready('True', 'Ready', 1)] }), 'Progressing'],
    ['Ready=False while progressing', object({ observedGeneration: 2, conditions: [ready('False', waiting)] }), 'Progressing'],
    ['Ready=False with a real error', object({ observedGeneration: 2, conditions: [ready('False', broken)] }), 'Degraded'],
    ['Ready=Unknown', object({ observedGeneration: 2, conditions: [ready('Unknown', 'Reconciling')] }), 'Progressing'],
    ['being deleted', object({ observedGeneration: 2, conditions: [ready('True', 'Ready')] }, { deletionTimestamp: '2025-01-01T00:00:00Z' }), 'Progressing'],
    // What a failed reconcile writes: conditions for the generation it saw, status.observedGeneration
    // absent (the first reconcile failed) or still the last generation fully applied (an edit broke it).
    ['first reconcile failed: no status.observedGeneration', object({ conditions: [ready('False', broken)] }), 'Degraded'],
    ['an edit broke it: status.observedGeneration older, Ready=False current', object({ observedGeneration: 1, conditions: [ready('False', broken)] }), 'Degraded'],
    ['an edit is still converging: status.observedGeneration older, Ready waiting', object({ observedGeneration: 1, conditions: [ready('False', waiting)] }), 'Progressing'],
    ['neither says the current generation was seen', object({ conditions: [ready('False', broken, 1)] }), 'Progressing'],
  ])('%s', (_name, obj, expected) => {
    expect(health(kind, obj).status).toBe(expected);
  });

  test('Degraded says why', () => {
    expect(health(kind, object({ observedGeneration: 2, conditions: [ready('False', broken)] })).message).toBe(`${broken}: ${broken} message`);
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
