// What an O&M engineer sees: `kubectl apply` of the Domains the red team found, against the Kubernetes API
// test server with the shipped CRDs (kubectl apply -k crds/), and `kubectl explain` of the changed fields.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { kubectl } from '../test/operator/support/kubectl';
import { useCrdCluster } from '../test/operator/support/crd-cluster';

const CRDS = __dirname;
const domain = (name: string, spec: string) => `apiVersion: openpds.io/v1alpha1
kind: Domain
metadata: {name: ${name}, namespace: default}
spec:
${spec}
`;
const S3 = `  storage: {s3: {bucket: photos}}
  database: {urlSecretRef: {name: db}}`;

// kubectl runs that do not depend on each other (other Domains, a refused apply, `kubectl explain`) run at
// once: each is a process start, discovery read and request or two (~0.2-0.3 s), and the suite is ~80 of them.
describe('kubectl apply of Domains the schema used to accept', () => {
  const { kubeconfig, apply } = useCrdCluster('openpds-domain-admission-');
  /** `kubectl explain FIELD`, its whitespace folded. */
  const explain = async (field: string) => (await kubectl(kubeconfig, ['explain', field])).replace(/\s+/g, ' ');

  it('a name too long for <name>-worker-metrics is refused, and nothing is stored', async () => {
    const name = `acme-${'x'.repeat(44)}`;
    await expect(apply(domain(name, S3))).rejects.toThrow(
      `The Domain "${name}" is invalid: <nil>: Invalid value: "object": metadata.name must be at most 48 characters: the Service <name>-worker-metrics built from it must fit a 63-character DNS label`,
    );
    await Promise.all([
      expect(kubectl(kubeconfig, ['get', 'domain', name])).rejects.toThrow('NotFound'),
      expect(apply(domain(name.slice(0, 48), S3))).resolves.toContain('created'),
    ]);
  });

  it('a name with a dot is refused with the rule it breaks', async () => {
    await expect(apply(domain('acme.prod', S3))).rejects.toThrow("metadata.name must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter");
  });

  it('a default drive size or user limit past the data plane’s safe integers is refused', async () => {
    await Promise.all([
      expect(apply(domain('quota-size', `${S3}\n  quotas: {defaultDriveSize: 10P}`))).rejects.toThrow(
        'The Domain "quota-size" is invalid: spec.quotas.defaultDriveSize: Invalid value: "string": quotas.defaultDriveSize must be at most 9007199254740991 bytes (just under 8Pi, the data plane\'s largest safe integer); use "0" for unlimited',
      ),
      expect(apply(domain('quota-users', `${S3}\n  quotas: {maxUsers: 9223372036854775807}`))).rejects.toThrow(/spec\.quotas\.maxUsers: Invalid value: .*should be less than or equal to 9007199254740991/),
      expect(apply(domain('quota-ok', `${S3}\n  quotas: {defaultDriveSize: 7Pi, maxUsers: 9007199254740991}`))).resolves.toContain('created'),
    ]);
  });

  it('requests above limits, a 64-character host label, and no workers on S3 are refused', async () => {
    await Promise.all([
      expect(apply(domain('res', `${S3}\n  apiServer: {resources: {requests: {memory: 2Gi}, limits: {memory: 1Gi}}}`))).rejects.toThrow(
        'spec.apiServer.resources: Invalid value: "object": resources.requests.memory must not exceed resources.limits.memory',
      ),
      expect(apply(domain('host', `${S3}\n  ingress: {host: ${'a'.repeat(64)}.example.com}`))).rejects.toThrow('spec.ingress.host: Invalid value: "string": ingress.host must be a lowercase RFC 1123 host name'),
      expect(apply(domain('idle', `${S3}\n  workers: {replicas: 0}`))).rejects.toThrow('workers.replicas must be at least 1 unless storage.volume is set'),
    ]);
  });

  it('`storage: {volume: {}}` alone is admitted; its size cannot shrink nor its class change', async () => {
    await expect(apply(domain('small', '  storage: {volume: {}}'))).resolves.toContain('created');
    const stored = JSON.parse(await kubectl(kubeconfig, ['get', 'domain', 'small', '-o', 'json']));
    expect(stored.spec.apiServer).not.toHaveProperty('replicas');
    expect(stored.spec.storage.volume).toEqual({ size: '10Gi' });
    // Both refused: neither changes what the other is checked against.
    await Promise.all([
      expect(apply(domain('small', '  storage: {volume: {size: 9Gi}}'))).rejects.toThrow('storage.volume.size cannot shrink'),
      expect(apply(domain('small', '  storage: {volume: {storageClassName: fast}}'))).rejects.toThrow('storage.volume.storageClassName cannot be added or removed after creation'),
    ]);
    await expect(apply(domain('small', '  storage: {volume: {size: 20Gi}}'))).resolves.toContain('configured');
  });

  it('a running Domain\'s S3 bucket or prefix cannot be edited, nor spec.database added to a volume Domain', async () => {
    // Two Domains, each its own sequence, side by side.
    const moved = async () => {
      await expect(apply(domain('moved', `${S3}\n  storage: {s3: {bucket: photos, prefix: a/}}`))).resolves.toContain('created');
      await Promise.all([
        expect(apply(domain('moved', `${S3}\n  storage: {s3: {bucket: photos-new, prefix: a/}}`))).rejects.toThrow(
          'The Domain "moved" is invalid: spec.storage.s3: Invalid value: "object": storage.s3 bucket and prefix cannot change after creation',
        ),
        expect(apply(domain('moved', `${S3}\n  storage: {s3: {bucket: photos, prefix: b/}}`))).rejects.toThrow('copy every object under the old bucket and prefix'),
      ]);
      await expect(apply(domain('moved', `${S3}\n  storage: {s3: {bucket: photos, prefix: a/, region: eu-west-1}}`))).resolves.toContain('configured');
    };
    const vol = async () => {
      await expect(apply(domain('vol', '  storage: {volume: {}}'))).resolves.toContain('created');
      await expect(apply(domain('vol', '  storage: {volume: {}}\n  database: {urlSecretRef: {name: db}}'))).rejects.toThrow(
        'The Domain "vol" is invalid: spec: Invalid value: "object": spec.database cannot be added or removed after creation',
      );
      const stored = JSON.parse(await kubectl(kubeconfig, ['get', 'domain', 'vol', '-o', 'json']));
      expect(stored.spec).not.toHaveProperty('database');
    };
    await Promise.all([moved(), vol()]);
  });

  it('a Domain stored before the name rules (too long) can still have its status written and its finalizer removed', async () => {
    // The CRD as it was: no rules on metadata.name.
    const crd = YAML.parse(readFileSync(path.join(CRDS, 'openpds.io_domains.yaml'), 'utf8'));
    delete crd.spec.versions[0].schema.openAPIV3Schema['x-kubernetes-validations'];
    await kubectl(kubeconfig, ['apply', '--server-side', '--force-conflicts', '-f', '-'], YAML.stringify(crd));
    const name = `legacy${'-x'.repeat(25)}`;
    await expect(apply(domain(name, S3))).resolves.toContain('created');
    const patch = (sub: string[], body: object) => kubectl(kubeconfig, ['patch', 'domain', name, ...sub, '--type=merge', '-p', JSON.stringify(body)]);
    await patch([], { metadata: { finalizers: ['openpds.io/test'] } });
    await patch(['--subresource=status'], { status: { observedGeneration: 1 } });
    // The rules come with the new CRD; the name is not checked again once the operator wrote a status.
    await kubectl(kubeconfig, ['apply', '--server-side', '--force-conflicts', '-k', CRDS]);
    await expect(patch(['--subresource=status'], { status: { observedGeneration: 2 } })).resolves.toContain('patched');
    await expect(patch([], { metadata: { finalizers: null } })).resolves.toContain('patched');
    await expect(apply(domain(`${name}x`, S3))).rejects.toThrow('metadata.name must be at most 48 characters');
  });

  it('quotas.maxFolderDepth: 1 to 10000 as the data plane takes it, 1000 when unset, explained', async () => {
    const [explained] = await Promise.all([
      explain('domain.spec.quotas.maxFolderDepth'),
      expect(apply(domain('depth-deep', `${S3}\n  quotas: {maxFolderDepth: 10001}`))).rejects.toThrow(/spec\.quotas\.maxFolderDepth: Invalid value: 10001: spec\.quotas\.maxFolderDepth in body should be less than or equal to 10000/),
      expect(apply(domain('depth-zero', `${S3}\n  quotas: {maxFolderDepth: 0}`))).rejects.toThrow(/spec\.quotas\.maxFolderDepth in body should be greater than or equal to 1/),
      expect(apply(domain('depth-ok', `${S3}\n  quotas: {maxFolderDepth: 10000}`))).resolves.toContain('created'),
      (async () => {
        await expect(apply(domain('depth-unset', S3))).resolves.toContain('created');
        await expect(kubectl(kubeconfig, ['get', 'domain', 'depth-unset', '-o', 'jsonpath={.spec.quotas.maxFolderDepth}'])).resolves.toBe('1000');
      })(),
    ]);
    expect(explained).toContain('Most levels folders may nest in a drive');
    expect(explained).toContain('(OPENPDS_MAX_FOLDER_DEPTH)');
  });

  // The bounds cases: each refused one past either bound, admitted at the data plane's bound and stored with
  // the default when unset, and explained.
  const GROUP_FIELDS = [
    ['quotas', 'maxFolderItems', -1, 9007199254740992, 9007199254740991, '100000', 'OPENPDS_MAX_FOLDER_ITEMS'],
    ['tokens', 'accessTTLSeconds', 59, 86401, 86400, '7200', 'OPENPDS_ACCESS_TOKEN_TTL'],
    ['tokens', 'refreshTTLSeconds', 299, 315360001, 315360000, '2592000', 'OPENPDS_REFRESH_TOKEN_TTL'],
    ['signedURLs', 'downloadTTLSeconds', 9, 604801, 604800, '900', 'OPENPDS_DOWNLOAD_URL_TTL'],
    ['signedURLs', 'uploadTTLSeconds', 59, 604801, 604800, '3600', 'OPENPDS_UPLOAD_URL_TTL'],
  ] as const;
  const S3_WITH = (s3: string, db = '') => `  storage: {s3: {bucket: photos${s3}}}\n  database: {urlSecretRef: {name: db}${db}}`;
  const FIELDS = [
    ['uploads.maxAgeSeconds', 'maxage', (v: number) => `${S3}\n  uploads: {maxAgeSeconds: ${v}}`, 0, 315360001, 315360000, '604800', 'OPENPDS_UPLOAD_MAX_AGE'],
    ['uploads.rapidUpload.challengesPerHour', 'challenges', (v: number) => `${S3}\n  uploads: {rapidUpload: {challengesPerHour: ${v}}}`, 0, 1000001, 1000000, '60', 'OPENPDS_RAPID_UPLOAD_CHALLENGES_PER_HOUR'],
    ['gc.intervalSeconds', 'gc-interval', (v: number) => `${S3}\n  gc: {intervalSeconds: ${v}}`, -1, 2147484, 2147483, '3600', 'OPENPDS_GC_INTERVAL_SECONDS'],
    ['database.statementTimeoutSeconds', 'statement', (v: number) => S3_WITH('', `, statementTimeoutSeconds: ${v}`), -1, 86401, 86400, '30', 'OPENPDS_DB_STATEMENT_TIMEOUT_SECONDS'],
    ['storage.s3.connectTimeoutSeconds', 's3-connect', (v: number) => S3_WITH(`, connectTimeoutSeconds: ${v}`), 0, 301, 300, '5', 'OPENPDS_S3_CONNECT_TIMEOUT_SECONDS'],
    ['storage.s3.idleTimeoutSeconds', 's3-idle', (v: number) => S3_WITH(`, idleTimeoutSeconds: ${v}`), 0, 3601, 3600, '30', 'OPENPDS_S3_IDLE_TIMEOUT_SECONDS'],
    ['apiServer.maxConnections', 'conns', (v: number) => `${S3}\n  apiServer: {maxConnections: ${v}}`, -1, 10000001, 10000000, '', 'OPENPDS_MAX_CONNECTIONS'],
  ] as const;
  const groupFieldName = (field: string) => field.toLowerCase().replace(/seconds$/, '');
  const groupFieldAt = (group: string, field: string) => (value: number) => `${S3}\n  ${group}: {${field}: ${value}}`;
  const BOUNDS = [
    ...GROUP_FIELDS.map(([group, field, below, above, max]) => ({ name: groupFieldName(field), field: `${group}.${field}`, at: groupFieldAt(group, field), below, above, max })),
    ...FIELDS.map(([field, name, at, below, above, max]) => ({ name, field, at, below, above, max })),
  ];

  /**
   * Every bounds case's four Domains in one `kubectl apply` (kubectl goes on past a refused document and
   * names each): one past either bound, one at the data plane's bound, one without the field. Then their
   * stored fields in one `kubectl get`, a jsonpath column per case. Each case reads its own part: 24
   * kubectl runs fewer than an apply and a get per case, the same documents and the same jsonpath.
   */
  let bounds: Promise<{ refused: string; stored: (name: string, column: number) => string }>;
  beforeAll(() => {
    bounds = (async () => {
      const docs = BOUNDS.flatMap(({ name, at, below, above, max }) => [domain(`${name}-below`, at(below)), domain(`${name}-above`, at(above)), domain(`${name}-max`, at(max)), domain(`${name}-unset`, S3)]);
      const refused = await apply(docs.join('---\n')).then((out) => `admitted all: ${out}`, (error: Error) => error.message);
      const columns = BOUNDS.map(({ field }) => `{.spec.${field}}`).join('|');
      const names = BOUNDS.flatMap(({ name }) => [`${name}-max`, `${name}-unset`]);
      const out = await kubectl(kubeconfig, ['get', 'domain', ...names, '-o', `jsonpath={range .items[*]}{.metadata.name}|${columns};{end}`]);
      const rows = new Map(out.split(';').filter(Boolean).map((row) => [row.split('|')[0]!, row.split('|').slice(1)]));
      return { refused, stored: (name: string, column: number) => `${name}=${rows.get(name)?.[column]};` };
    })();
    bounds.catch(() => undefined); // reported by each case
  });

  async function expectBounds(name: string, byDefault: string) {
    const column = BOUNDS.findIndex((b) => b.name === name);
    const { field, below, max } = BOUNDS[column]!;
    const { refused, stored } = await bounds;
    const path = `spec\\.${field.replaceAll('.', '\\.')}`;
    expect(refused).toMatch(new RegExp(`"${name}-below" is invalid: ${path}: Invalid value: ${below}: ${path} in body should be greater than or equal to`));
    expect(refused).toMatch(new RegExp(`"${name}-above" is invalid: ${path}: Invalid value: .*${path} in body should be less than or equal to ${max}`));
    expect(refused).not.toMatch(new RegExp(`"${name}-(max|unset)" is invalid`));
    expect(stored(`${name}-max`, column) + stored(`${name}-unset`, column)).toBe(`${name}-max=${max};${name}-unset=${byDefault};`);
  }

  it.each(GROUP_FIELDS)('%s.%s: refused at %i and %i, admitted at the data plane\'s bound %i, %s when unset, explained', async (group, field, _below, _above, _max, byDefault, env) => {
    const [explained] = await Promise.all([explain(`domain.spec.${group}.${field}`), expectBounds(groupFieldName(field), byDefault)]);
    expect(explained).toContain(`(${env})`);
  });

  it.each(FIELDS)('%s: refused one past either bound, admitted at the data plane\'s bound, stored as its default when unset, explained', async (field, name, _at, _below, _above, _max, byDefault, env) => {
    const [explained] = await Promise.all([explain(`domain.spec.${field}`), expectBounds(name, byDefault)]);
    expect(explained).toContain(`(${env})`);
  });

  it('storage.s3.downloadRedirect and uploads.rapidUpload.proofV2: the data plane\'s defaults (true, false) when unset, explained', async () => {
    const [redirect, proof] = await Promise.all([
      explain('domain.spec.storage.s3.downloadRedirect'),
      explain('domain.spec.uploads.rapidUpload.proofV2'),
      (async () => {
        await expect(apply(domain('switches', S3))).resolves.toContain('created');
        await expect(kubectl(kubeconfig, ['get', 'domain', 'switches', '-o', 'jsonpath={.spec.storage.s3.downloadRedirect} {.spec.uploads.rapidUpload.proofV2}'])).resolves.toBe('true false');
        await expect(apply(domain('switches', `${S3_WITH(', downloadRedirect: false')}\n  uploads: {rapidUpload: {proofV2: true}}`))).resolves.toContain('configured');
      })(),
    ]);
    expect(redirect).toContain('(OPENPDS_DOWNLOAD_REDIRECT)');
    expect(proof).toContain('(OPENPDS_RAPID_UPLOAD_PROOF_V2)');
  });

  it('gc.graceSeconds below signedURLs.uploadTTLSeconds + 3600 is refused with the numbers, on create and when the TTL is raised', async () => {
    const [explained] = await Promise.all([
      explain('domain.spec.gc.graceSeconds'),
      expect(apply(domain('grace-short', `${S3}\n  gc: {graceSeconds: 7199}`))).rejects.toThrow(
        'The Domain "grace-short" is invalid: spec.gc.graceSeconds: Invalid value: "object": gc.graceSeconds must be at least signedURLs.uploadTTLSeconds + 3600 = 7200, got 7199: an upload\'s part URLs work that long',
      ),
      (async () => {
        await expect(apply(domain('grace-ok', `${S3}\n  gc: {graceSeconds: 90000}`))).resolves.toContain('created');
        await expect(apply(domain('grace-ok', `${S3}\n  gc: {graceSeconds: 90000}\n  signedURLs: {uploadTTLSeconds: 86401}`))).rejects.toThrow(
          'gc.graceSeconds must be at least signedURLs.uploadTTLSeconds + 3600 = 90001, got 90000',
        );
        await expect(apply(domain('grace-ok', `${S3}\n  gc: {graceSeconds: 90000}\n  signedURLs: {uploadTTLSeconds: 86400}`))).resolves.toContain('configured');
      })(),
      (async () => {
        // Unset, nothing is stored: the data plane derives it from the TTL, however long.
        await expect(apply(domain('grace-unset', `${S3}\n  signedURLs: {uploadTTLSeconds: 604800}`))).resolves.toContain('created');
        await expect(kubectl(kubeconfig, ['get', 'domain', 'grace-unset', '-o', 'jsonpath={.spec.gc}'])).resolves.toBe('{"intervalSeconds":3600}');
      })(),
    ]);
    expect(explained).toContain('Absent means 86400 (a day), or signedURLs.uploadTTLSeconds + 3600 when that is more.');
  });

  it('kubectl explain says what an unset apiServer.replicas means, and the limits', async () => {
    const [replicas, size, kind] = await Promise.all([explain('domain.spec.apiServer.replicas'), explain('domain.spec.quotas.defaultDriveSize'), explain('domain')]);
    expect(replicas).toContain('Absent means 1 with storage.volume (a ReadWriteOnce disk allows 0 or 1) and 2 otherwise.');
    expect(size).toContain('At most 9007199254740991 bytes');
    // The apiserver shows its own ObjectMeta for metadata, so the name's limits are in the kind's description.
    expect(kind).toContain('Its name must be a DNS-1035 label of at most 48 characters');
  });
});
