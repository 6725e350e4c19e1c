// The CRDs are the O&M engineer's documentation (`kubectl explain`) and first line of validation, so this
// checks they are structural, fully described, and that they accept the examples and refuse bad input
// with the messages `kubectl apply` would show.
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { displayTextProblem } from '../api-server/src/shared/display-text';
import { compileErrors } from '../test/kube-api/cel';
import { admit, rulesOf, validateAgainst, loadCrds, loadYamlDocs, REPO_ROOT, validateWithDefaults, type JsonSchema } from './testing/crd-schema';

const crds = loadCrds();

/** Walks a schema, calling `visit` with each node and its dotted path. */
function walk(schema: JsonSchema, at: string, visit: (node: JsonSchema, at: string) => void): void {
  visit(schema, at);
  for (const [key, sub] of Object.entries(schema.properties ?? {})) walk(sub, `${at}.${key}`, visit);
  if (schema.items) walk(schema.items, `${at}[]`, visit);
  if (typeof schema.additionalProperties === 'object') walk(schema.additionalProperties, `${at}{}`, visit);
}

test('the four kinds, namespaced, in openpds.io/v1alpha1 with status, short names and the openpds category', () => {
  expect(crds.map((c) => c.spec.names.kind).sort()).toEqual(['Domain', 'Drive', 'OAuthApp', 'UserSystem']);
  for (const crd of crds) {
    expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.openpds.io`);
    expect(crd.file).toBe(`openpds.io_${crd.spec.names.plural}.yaml`);
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.versions.map((v) => v.name)).toEqual(['v1alpha1']);
    expect(crd.spec.versions[0]!.subresources?.status).toEqual({});
    expect(crd.spec.names.shortNames?.length).toBeGreaterThan(0);
    expect(crd.spec.names.categories).toEqual(['openpds']);
  }
});

describe.each(crds.map((c) => [c.spec.names.kind, c] as const))('%s schema', (_kind, crd) => {
  const version = crd.spec.versions[0]!;
  const root = version.schema.openAPIV3Schema;

  test('is structural: every node has a type (or is int-or-string), objects declare their fields', () => {
    const problems: string[] = [];
    walk(root, '', (node, at) => {
      if (node['x-kubernetes-int-or-string']) {
        // The one place a structural schema may omit type: anyOf of integer and string only.
        if (node.type || JSON.stringify(node.anyOf) !== '[{"type":"integer"},{"type":"string"}]') problems.push(`${at}: bad int-or-string`);
        return;
      }
      if (!node.type) problems.push(`${at}: no type`);
      if (node.anyOf || node.oneOf || node.allOf || node.not) problems.push(`${at}: logical junctors are not structural here`);
      if (node.type === 'object' && at !== '.metadata' && !node.properties && !node.additionalProperties && !node['x-kubernetes-preserve-unknown-fields'])
        problems.push(`${at}: object without properties`);
      if (node.properties && node.additionalProperties) problems.push(`${at}: both properties and additionalProperties`);
      if (node.type === 'array' && !node.items) problems.push(`${at}: array without items`);
      for (const req of node.required ?? []) if (!node.properties?.[req]) problems.push(`${at}: required ${req} is not a property`);
    });
    expect(root.properties?.metadata).toEqual({ type: 'object', description: expect.any(String) });
    expect(problems).toEqual([]);
  });

  test('every field has a description (kubectl explain teaches it)', () => {
    const missing: string[] = [];
    walk(root, '', (node, at) => {
      if (!node.description || node.description.trim().length < 4) missing.push(at || '(root)');
    });
    expect(missing).toEqual([]);
  });

  test('defaults satisfy their own schema (the API server refuses a CRD whose defaults do not)', () => {
    const bad: string[] = [];
    walk(root, '', (node, at) => {
      if (node.default === undefined) return;
      const errors = validateAgainst(node, structuredClone(node.default));
      if (errors.length > 0) bad.push(`${at}: ${errors.join(', ')}`);
    });
    expect(bad).toEqual([]);
  });

  test('printer columns point at fields of the schema', () => {
    const cols = version.additionalPrinterColumns ?? [];
    expect(cols.map((c) => c.name)).toEqual(expect.arrayContaining(['Ready', 'Reason', 'Age']));
    for (const col of cols) {
      const segments = col.jsonPath.replace(/\[\?.*?\]/g, '').split('.').filter(Boolean);
      let node: JsonSchema | undefined = root;
      for (const seg of segments) node = node?.properties?.[seg] ?? node?.items?.properties?.[seg];
      if (segments[0] !== 'metadata') expect([col.name, node?.type]).toEqual([col.name, expect.any(String)]);
    }
  });

  test('status has conditions with observedGeneration', () => {
    const status = root.properties!.status!;
    const condition = status.properties!.conditions!.items!;
    expect(Object.keys(condition.properties!).sort()).toEqual(['lastTransitionTime', 'message', 'observedGeneration', 'reason', 'status', 'type']);
    expect(status.properties!.observedGeneration!.type).toBe('integer');
  });
});

test('every CRD is a valid apiextensions.k8s.io/v1 CustomResourceDefinition', () => {
  const manifests = crds.map(({ file: _file, ...crd }) => ({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', ...crd }));
  const run = spawnSync(process.execPath, [path.join(REPO_ROOT, 'operator/src/charts/testing/k8s-schema-check.mjs')], {
    input: JSON.stringify({ manifests }),
    encoding: 'utf8',
    cwd: REPO_ROOT,
  });
  expect(run.stderr).toBe('');
  expect(JSON.parse(run.stdout).results.filter((r: { error: string | null }) => r.error)).toEqual([]);
});

test('kubectl get domain shows storage mode, replicas, users and used/quota at a glance; endpoint and drive counts with -o wide', () => {
  const version = crds.find((c) => c.spec.names.kind === 'Domain')!.spec.versions[0]!;
  // crds/testing/crd-schema.ts types the columns without priority (kubectl's -o wide switch).
  const columns = (version.additionalPrinterColumns ?? []) as { name: string; jsonPath: string; type: string; priority?: number }[];
  const shown = (wide: boolean) => columns.filter((c) => wide || !c.priority).map((c) => c.name);
  expect(shown(false)).toEqual(['Mode', 'Replicas', 'Users', 'Used', 'Quota', 'Ready', 'Reason', 'Age']);
  expect(shown(true)).toEqual(['Mode', 'Endpoint', 'Replicas', 'Users', 'Used', 'Quota', 'Drives', 'Unlimited', 'Ready', 'Reason', 'Age']);
  const byName = Object.fromEntries(columns.map((c) => [c.name, c]));
  expect(byName.Users).toMatchObject({ type: 'integer', jsonPath: '.status.usage.users' });
  // Quantity strings, as the Drive's Used/Total columns show them.
  expect(byName.Used).toMatchObject({ type: 'string', jsonPath: '.status.usage.usedSize' });
  expect(byName.Quota).toMatchObject({ type: 'string', jsonPath: '.status.usage.quotaSize' });
  const usage = version.schema.openAPIV3Schema.properties!.status!.properties!.usage!;
  expect(Object.keys(usage.properties!).sort()).toEqual(['drives', 'observedAt', 'quotaBytes', 'quotaSize', 'unlimitedDrives', 'usedBytes', 'usedSize', 'users']);
  expect(usage.properties!.observedAt).toMatchObject({ type: 'string', format: 'date-time' });
});

describe('examples/', () => {
  const docs = loadYamlDocs(path.join(REPO_ROOT, 'examples')).filter(({ doc }) => String(doc.apiVersion).startsWith('openpds.io/'));

  test('hold at least one of each kind', () => {
    expect(new Set(docs.map(({ doc }) => doc.kind))).toEqual(new Set(['Domain', 'Drive', 'UserSystem', 'OAuthApp']));
  });

  test.each(docs.map(({ file, doc }) => [`${file} ${String(doc.kind)}`, doc] as const))('%s is admitted', (_name, doc) => {
    const object = structuredClone(doc);
    expect(admit(String(doc.kind), object)).toEqual([]);
  });

  test('defaults are applied as the API server would', () => {
    const domain = structuredClone(docs.find(({ file }) => file === 'examples/quickstart/domain.yaml')!.doc) as Record<string, any>;
    validateWithDefaults('Domain', domain);
    expect(domain.spec.image).toBe('openpds/openpds:0.1.0');
    expect(domain.spec.workers.autoscaling.targetBacklogPerReplica).toBe(50);
    expect(domain.spec.trash.retentionDays).toBe(30);
    const drive = { apiVersion: 'openpds.io/v1alpha1', kind: 'Drive', metadata: { name: 'd' }, spec: { domainRef: { name: 'x' }, owner: { kind: 'User', name: 'u' } } } as Record<string, any>;
    validateWithDefaults('Drive', drive);
    expect(drive.spec).toMatchObject({ reclaimPolicy: 'Retain', quota: { totalSize: '10Gi' } });
  });
});

describe('bad input is refused with a clear message', () => {
  const domain = (spec: object) => ({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', metadata: { name: 'd' }, spec });
  const cases: [string, string, object, string][] = [
    ['standard with s3 and volume', 'Domain', domain({ storage: { s3: { bucket: 'b-1' }, volume: {} }, database: { urlSecretRef: { name: 'db' } } }), 'exactly one of s3 or volume'],
    ['standard with neither', 'Domain', domain({ storage: {}, database: { urlSecretRef: { name: 'db' } } }), 'exactly one of s3 or volume'],
    ['hosting without its bucket', 'Domain', domain({ storage: { mode: 'hosting' }, database: { urlSecretRef: { name: 'db' } } }), 'hosting storage needs storage.hosting'],
    ['hosting config missing bucket', 'Domain', domain({ storage: { mode: 'hosting', hosting: {} }, database: { urlSecretRef: { name: 'db' } } }), "must have required property 'bucket'"],
    ['s3 without a database', 'Domain', domain({ storage: { s3: { bucket: 'b-1' } } }), 'spec.database is required'],
    ['volume with 3 replicas', 'Domain', domain({ storage: { volume: {} }, apiServer: { replicas: 3 } }), 'ReadWriteOnce'],
    ['unknown storage mode', 'Domain', domain({ storage: { mode: 'magic' } }), 'must be equal to one of the allowed values'],
    ['webhook with url and secret', 'Domain', domain({ storage: { volume: {} }, apiServer: { replicas: 1 }, alerts: { webhooks: [{ name: 'a', url: 'https://x', urlSecretRef: { name: 's' } }] } }), 'exactly one of url or urlSecretRef'],
    ['database with both sources', 'Domain', domain({ storage: { s3: { bucket: 'b-1' } }, database: { urlSecretRef: { name: 'db' }, cloudNativePG: { clusterName: 'pg' } } }), 'exactly one of urlSecretRef or cloudNativePG'],
    ['autoscaling min > max', 'Domain', domain({ storage: { s3: { bucket: 'b-1' } }, database: { urlSecretRef: { name: 'db' } }, apiServer: { autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 2 } } }), 'minReplicas must not exceed'],
    // What the data plane refuses at start (OPENPDS_S3_ENDPOINT): refused at apply, not found in a crash loop.
    ['s3 endpoint without a scheme', 'Domain', domain({ storage: { s3: { bucket: 'b-1', endpoint: 'minio:9000' } }, database: { urlSecretRef: { name: 'db' } } }), 'must match pattern'],
    ['s3 endpoint without a host', 'Domain', domain({ storage: { s3: { bucket: 'b-1', endpoint: 'http://' } }, database: { urlSecretRef: { name: 'db' } } }), 'must match pattern'],
    ['s3 endpoint with credentials', 'Domain', domain({ storage: { s3: { bucket: 'b-1', endpoint: 'http://key:secret@minio:9000' } }, database: { urlSecretRef: { name: 'db' } } }), 'must match pattern'],
    ['drive without owner', 'Drive', { spec: { domainRef: { name: 'd' } } }, "must have required property 'owner'"],
    ['drive with bad quota', 'Drive', { spec: { domainRef: { name: 'd' }, owner: { kind: 'User', name: 'u' }, quota: { totalSize: 'lots' } } }, 'must match pattern'],
    ['oidc without settings', 'UserSystem', { spec: { domainRef: { name: 'd' }, type: 'oidc' } }, 'type oidc needs spec.oidc'],
    ['customJWT with key and JWKS', 'UserSystem', { spec: { domainRef: { name: 'd' }, type: 'customJWT', customJWT: { issuer: 'i', publicKey: '-----BEGIN PUBLIC KEY-----x', jwksUrl: 'https://x' } } }, 'exactly one of publicKey or jwksUrl'],
    ['oidc scopes without openid', 'UserSystem', { spec: { domainRef: { name: 'd' }, type: 'oidc', oidc: { issuer: 'https://i', clientId: 'c', clientSecretRef: { name: 's' }, scopes: ['email'] } } }, 'must include openid'],
    ['web app without redirect', 'OAuthApp', { spec: { domainRef: { name: 'd' }, type: 'web' } }, 'at least one redirectUri'],
    ['web app with http redirect', 'OAuthApp', { spec: { domainRef: { name: 'd' }, type: 'web', redirectUris: ['http://evil.example/cb'] } }, 'must be https'],
    ['server app with redirect', 'OAuthApp', { spec: { domainRef: { name: 'd' }, type: 'server', redirectUris: ['https://x/cb'] } }, 'take no redirectUris'],
    ['bad scope', 'OAuthApp', { spec: { domainRef: { name: 'd' }, type: 'server', scopes: ['everything'] } }, 'must match pattern'],
  ];
  test.each(cases)('%s', (_name, kind, object, message) => {
    const errors = admit(kind, structuredClone(object));
    expect(errors.join('\n')).toContain(message);
  });

  test('Drive spec.name: what the data plane refuses as a drive_name (shared/display-text.ts) is refused at admission', () => {
    const drive = (name: string) => ({ spec: { domainRef: { name: 'd' }, owner: { kind: 'User', name: 'u' }, name } });
    for (const name of ['Photos', 'תמונות\u200f 2026', 'a\u200cb', '👩\u200d👧', 'a\nb', 'a\u001b[2J', 'a\u007f', 'a\u0085', 'evil\u202egpj.exe', 'a\u2066b']) {
      const refused = admit('Drive', structuredClone(drive(name))).some((e) => e.includes('must match pattern'));
      expect([name, refused]).toEqual([name, displayTextProblem(name) !== undefined]);
    }
  });

  test('every CEL rule compiles, transition rules (oldSelf) included', () => {
    const rules = crds.flatMap((c) => rulesOf(c.spec.versions[0]!.schema.openAPIV3Schema));
    expect(rules.length).toBeGreaterThan(20);
    expect(compileErrors(rules)).toEqual([]);
  });
});
