// Domain specs the schema once accepted and something later broke on (a red team's list): the data plane's
// config refused them at start (crash loop), Kubernetes refused an object built from them, or the spec
// left no process running jobs. Each is refused at admission with a message naming the field and the
// limit; the boundary values are admitted and the data plane accepts what the chart makes of them.
import { CONFIG_KEYS, loadConfig } from '../api-server/src/config/config';
import { domainEnv } from '../operator/src/charts/config.chart';
import { createDomainContext } from '../operator/src/charts/domain-context';
import { withSpecField } from '../operator/src/charts/testing/domain-fixtures';
import type { Domain } from '../operator/src/domain-types';
import { celCauses } from '../test/kube-api/cel';
import type { JsonObject } from '../test/kube-api/json';
import { admit, schemaOf, validateWithDefaults } from './testing/crd-schema';

type Spec = Record<string, unknown>;
const S3 = { storage: { s3: { bucket: 'b-1' } }, database: { urlSecretRef: { name: 'db' } } };
const VOLUME = { storage: { volume: {} } };
const domain = (spec: Spec, name = 'd'): Domain => ({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', metadata: { name, namespace: 'ns' }, spec }) as unknown as Domain;
const errorsOf = (spec: Spec, name?: string) => admit('Domain', domain(spec, name)).join('\n');

const withField = withSpecField;
const fieldOf = (spec: unknown, field: string): unknown => field.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], spec);

/** The CEL failures of an update from `old` to `next` (both defaulted first), as the apiserver runs them. */
function updateFailures(old: Spec, next: Spec): string[] {
  const [o, n] = [domain(old), domain(next)];
  expect([...validateWithDefaults('Domain', o), ...validateWithDefaults('Domain', n)]).toEqual([]);
  return celCauses(schemaOf('Domain') as JsonObject, n as unknown as JsonObject, o as unknown as JsonObject).map((c) => `${c.field}: ${c.message}`);
}

/** What the data plane says of the ConfigMap the chart builds for an admitted Domain: undefined when it starts. */
function dataPlaneRefusal(d: Domain): string | undefined {
  try {
    loadConfig(domainEnv(createDomainContext(d)));
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

describe('metadata.name', () => {
  test.each([
    ['a'.repeat(49), 'metadata.name must be at most 48 characters'],
    ['acme.prod', 'metadata.name must be a DNS-1035 label'],
    ['1acme', 'metadata.name must be a DNS-1035 label'],
    ['acme-', 'metadata.name must be a DNS-1035 label'],
  ])('%s is refused', (name, message) => {
    expect(errorsOf(S3, name)).toContain(message);
  });

  test('48 characters are admitted, and the data plane takes it as domainId', () => {
    const d = domain(S3, `a${'-b'.repeat(23)}c`);
    expect(d.metadata.name).toHaveLength(48);
    expect(admit('Domain', d)).toEqual([]);
    expect(dataPlaneRefusal(d)).toBeUndefined();
  });

  test('checked at creation only (status is empty then): a Domain stored before the rule can still lose its finalizer', () => {
    const stored = { ...domain(S3, 'a'.repeat(60)), status: { observedGeneration: 1 } };
    expect(admit('Domain', stored)).toEqual([]);
  });
});

test('spec.domainId accepts exactly what the data plane accepts as OPENPDS_DOMAIN_ID', () => {
  const pattern = new RegExp(schemaOf('Domain').properties!.spec!.properties!.domainId!.pattern as string);
  for (const id of ['a', '0', 'acme-prod', 'a-', 'a'.repeat(63), 'a'.repeat(64), '-a', 'Acme', 'a.b', 'a_b', '']) {
    let dataPlane = true;
    try {
      CONFIG_KEYS.domainId.parse(id, 'OPENPDS_DOMAIN_ID');
    } catch {
      dataPlane = false;
    }
    expect([id, pattern.test(id)]).toEqual([id, dataPlane]);
  }
});

describe('quotas: what the data plane refuses at start is refused at admission', () => {
  test.each([
    [{ defaultDriveSize: '10P' }, 'quotas.defaultDriveSize must be at most 9007199254740991 bytes'],
    [{ defaultDriveSize: '8Pi' }, 'quotas.defaultDriveSize must be at most 9007199254740991 bytes'],
    [{ defaultDriveSize: '9007199254740992' }, 'quotas.defaultDriveSize must be at most 9007199254740991 bytes'],
    [{ maxUsers: 9223372036854775807 }, '/spec/quotas/maxUsers must be <= 9007199254740991'],
  ])('%j', (quotas, message) => {
    expect(errorsOf({ ...S3, quotas })).toContain(message);
    // Why: past the schema, the data plane would refuse the chart's ConfigMap and crash-loop.
    expect(dataPlaneRefusal(domain({ ...S3, quotas }))).toMatch(/must be between 0 and 9007199254740991/);
  });

  test.each([{ defaultDriveSize: '9007199254740991', maxUsers: 9007199254740991 }, { defaultDriveSize: '7.99Pi' }, { defaultDriveSize: '0' }])('%j is admitted and runs', (quotas) => {
    const d = domain({ ...S3, quotas });
    expect(admit('Domain', d)).toEqual([]);
    expect(dataPlaneRefusal(d)).toBeUndefined();
  });

  test('maxFolderDepth admits exactly what the data plane takes as OPENPDS_MAX_FOLDER_DEPTH (1 to 10000), and it arrives', () => {
    for (const maxFolderDepth of [-1, 0, 1, 2, 1000, 9999, 10_000, 10_001, 1_000_000]) {
      const d = domain({ ...S3, quotas: { maxFolderDepth } });
      const admitted = admit('Domain', d).length === 0;
      const refusal = dataPlaneRefusal(d);
      expect([maxFolderDepth, admitted]).toEqual([maxFolderDepth, refusal === undefined]);
      if (admitted) expect(loadConfig(domainEnv(createDomainContext(d))).maxFolderDepth).toBe(maxFolderDepth);
      else expect(refusal).toBe(`OPENPDS_MAX_FOLDER_DEPTH must be between 1 and 10000, got ${maxFolderDepth}`);
    }
    expect(errorsOf({ ...S3, quotas: { maxFolderDepth: 10_001 } })).toContain('/spec/quotas/maxFolderDepth must be <= 10000');
    const defaulted = domain(S3);
    expect(validateWithDefaults('Domain', defaulted)).toEqual([]);
    expect(defaulted.spec.quotas?.maxFolderDepth).toBe(1000);
  });
});

// Each field admits exactly what the data plane takes for its variable, one past either bound is refused
// where the data plane would refuse it, and an unset field is stored as the data plane's own default. The
// storage.s3 and database fields exist only with S3 storage and a database (on a volume the data plane has
// neither), which S3 has.
describe.each([
  { field: 'quotas.maxFolderItems', config: 'maxFolderItems', env: 'OPENPDS_MAX_FOLDER_ITEMS', min: 0, max: 9007199254740991, byDefault: 100_000 },
  { field: 'tokens.accessTTLSeconds', config: 'accessTokenTtl', env: 'OPENPDS_ACCESS_TOKEN_TTL', min: 60, max: 86_400, byDefault: 7200 },
  { field: 'tokens.refreshTTLSeconds', config: 'refreshTokenTtl', env: 'OPENPDS_REFRESH_TOKEN_TTL', min: 300, max: 315_360_000, byDefault: 2_592_000 },
  { field: 'signedURLs.downloadTTLSeconds', config: 'downloadUrlTtl', env: 'OPENPDS_DOWNLOAD_URL_TTL', min: 10, max: 604_800, byDefault: 900 },
  { field: 'signedURLs.uploadTTLSeconds', config: 'uploadUrlTtl', env: 'OPENPDS_UPLOAD_URL_TTL', min: 60, max: 604_800, byDefault: 3600 },
  { field: 'trash.retentionDays', config: 'trashRetentionDays', env: 'OPENPDS_TRASH_RETENTION_DAYS', min: 0, max: 3650, byDefault: 30 },
  { field: 'uploads.maxAgeSeconds', config: 'uploadMaxAge', env: 'OPENPDS_UPLOAD_MAX_AGE', min: 1, max: 315_360_000, byDefault: 604_800 },
  { field: 'uploads.rapidUpload.challengesPerHour', config: 'rapidUploadChallengesPerHour', env: 'OPENPDS_RAPID_UPLOAD_CHALLENGES_PER_HOUR', min: 1, max: 1_000_000, byDefault: 60 },
  { field: 'gc.intervalSeconds', config: 'gcIntervalSeconds', env: 'OPENPDS_GC_INTERVAL_SECONDS', min: 0, max: 2_147_483, byDefault: 3600 },
  { field: 'database.statementTimeoutSeconds', config: 'dbStatementTimeoutSeconds', env: 'OPENPDS_DB_STATEMENT_TIMEOUT_SECONDS', min: 0, max: 86_400, byDefault: 30 },
  { field: 'storage.s3.connectTimeoutSeconds', config: 's3ConnectTimeoutSeconds', env: 'OPENPDS_S3_CONNECT_TIMEOUT_SECONDS', min: 1, max: 300, byDefault: 5 },
  { field: 'storage.s3.idleTimeoutSeconds', config: 's3IdleTimeoutSeconds', env: 'OPENPDS_S3_IDLE_TIMEOUT_SECONDS', min: 1, max: 3600, byDefault: 30 },
] as const)('$field: what the data plane takes as $env ($min to $max), defaulting to $byDefault', ({ field, config, env, min, max, byDefault }) => {
  const withValue = (value: number) => domain(withField(S3, field, value));
  const path = field.replaceAll('.', '/');

  test('admitted exactly where the data plane starts, and the value arrives', () => {
    // maxFolderItems' max is the largest safe integer: one past it is not, so 2^63 stands for it.
    const above = max < Number.MAX_SAFE_INTEGER ? max + 1 : 2 ** 63;
    const values = [-1, min - 1, min, min + 1, byDefault, max - 1, max, above];
    for (const value of values) {
      const d = withValue(value);
      const admitted = admit('Domain', d).length === 0;
      const refusal = dataPlaneRefusal(d);
      expect([value, admitted]).toEqual([value, refusal === undefined]);
      if (admitted) expect(loadConfig(domainEnv(createDomainContext(d)))[config]).toBe(value);
      else expect(refusal).toBe(`${env} must be between ${min} and ${max}, got ${value}`);
    }
    expect(errorsOf(withField(S3, field, min - 1))).toContain(`/spec/${path} must be >= ${min}`);
    expect(errorsOf(withField(S3, field, above))).toContain(`/spec/${path} must be <= ${max}`);
  });

  test('unset, it is stored as the data plane\'s default', () => {
    const defaulted = domain(S3);
    expect(validateWithDefaults('Domain', defaulted)).toEqual([]);
    expect(fieldOf(defaulted.spec, field)).toBe(byDefault);
    expect(CONFIG_KEYS[config].default).toBe(String(byDefault));
  });
});

describe.each([
  { field: 'storage.s3.downloadRedirect', config: 'downloadRedirect', byDefault: true },
  { field: 'uploads.rapidUpload.proofV2', config: 'rapidUploadProofV2', byDefault: false },
] as const)('$field: a boolean, stored as $byDefault when unset, the data plane\'s default', ({ field, config, byDefault }) => {
  test.each([true, false])('%s is admitted and reaches the data plane', (value) => {
    const d = domain(withField(S3, field, value));
    expect(admit('Domain', d)).toEqual([]);
    expect(loadConfig(domainEnv(createDomainContext(d)))[config]).toBe(value);
  });

  test('anything but a boolean is refused (the data plane would take "yes" or "on"; the CRD keeps one spelling)', () => {
    expect(errorsOf(withField(S3, field, 'yes'))).toContain(`/spec/${field.replaceAll('.', '/')} must be boolean`);
  });

  test('unset, it is stored as the data plane\'s default', () => {
    const defaulted = domain(S3);
    expect(validateWithDefaults('Domain', defaulted)).toEqual([]);
    expect(fieldOf(defaulted.spec, field)).toBe(byDefault);
    expect(loadConfig({})[config]).toBe(byDefault);
  });
});

describe('apiServer.maxConnections: what the data plane takes as OPENPDS_MAX_CONNECTIONS (0 to 10000000), `auto` when unset', () => {
  test('admitted exactly where the data plane starts, and the value arrives', () => {
    for (const maxConnections of [-1, 0, 1, 4096, 9_999_999, 10_000_000, 10_000_001]) {
      const d = domain({ ...S3, apiServer: { maxConnections } });
      const admitted = admit('Domain', d).length === 0;
      const refusal = dataPlaneRefusal(d);
      expect([maxConnections, admitted]).toEqual([maxConnections, refusal === undefined]);
      if (admitted) expect(loadConfig(domainEnv(createDomainContext(d))).maxConnections).toBe(maxConnections);
      else expect(refusal).toBe(`OPENPDS_MAX_CONNECTIONS must be between 0 and 10000000, got ${maxConnections}`);
    }
    expect(errorsOf({ ...S3, apiServer: { maxConnections: 10_000_001 } })).toContain('/spec/apiServer/maxConnections must be <= 10000000');
  });

  test('unset, nothing is stored and the data plane sizes it from the open-file limit (`auto`)', () => {
    const defaulted = domain(S3);
    expect(validateWithDefaults('Domain', defaulted)).toEqual([]);
    expect(defaulted.spec.apiServer).not.toHaveProperty('maxConnections');
    expect(CONFIG_KEYS.maxConnections.default).toBe('auto');
    expect(loadConfig(domainEnv(createDomainContext(defaulted))).maxConnections).toBeUndefined();
  });
});

// The data plane refuses to start with a grace shorter than the upload URL lifetime + 3600 s (the GC would
// take uploads in flight); the CRD refuses the same specs, with the numbers, and admits the rest.
describe('gc.graceSeconds: at least signedURLs.uploadTTLSeconds + 3600, as the data plane requires', () => {
  const withGrace = (graceSeconds: number, uploadTTLSeconds?: number) =>
    domain({ ...S3, gc: { graceSeconds }, ...(uploadTTLSeconds === undefined ? {} : { signedURLs: { uploadTTLSeconds } }) });

  test.each([undefined, 60, 86_400, 604_800])('with uploadTTLSeconds %s: one second short is refused on both sides, the minimum admitted and arriving', (ttl) => {
    const minimum = (ttl ?? 3600) + 3600;
    const short = withGrace(minimum - 1, ttl);
    expect(admit('Domain', short)).toEqual([
      `spec.gc.graceSeconds: Invalid value: "object": gc.graceSeconds must be at least signedURLs.uploadTTLSeconds + 3600 = ${minimum}, got ${minimum - 1}: an upload's part URLs work that long without touching its session, so a shorter grace would let the GC collect uploads in flight; raise gc.graceSeconds or leave it out (it then follows signedURLs.uploadTTLSeconds)`,
    ]);
    expect(dataPlaneRefusal(short)).toBe(`OPENPDS_GC_GRACE_SECONDS must be at least OPENPDS_UPLOAD_URL_TTL + 3600 = ${minimum}, got ${minimum - 1}`);
    for (const grace of [minimum, minimum + 1]) {
      const d = withGrace(grace, ttl);
      expect(admit('Domain', d)).toEqual([]);
      expect(loadConfig(domainEnv(createDomainContext(d))).gcGraceSeconds).toBe(grace);
    }
  });

  test('its own bounds are the data plane\'s: 0 to 315360000 (0 itself then falls to the rule above)', () => {
    expect(errorsOf({ ...S3, gc: { graceSeconds: -1 } })).toContain('/spec/gc/graceSeconds must be >= 0');
    expect(dataPlaneRefusal(withGrace(-1))).toBe('OPENPDS_GC_GRACE_SECONDS must be between 0 and 315360000, got -1');
    expect(errorsOf({ ...S3, gc: { graceSeconds: 315_360_001 } })).toContain('/spec/gc/graceSeconds must be <= 315360000');
    expect(dataPlaneRefusal(withGrace(315_360_001))).toBe('OPENPDS_GC_GRACE_SECONDS must be between 0 and 315360000, got 315360001');
    expect(admit('Domain', withGrace(315_360_000, 604_800))).toEqual([]);
    expect(dataPlaneRefusal(withGrace(315_360_000, 604_800))).toBeUndefined();
    expect(errorsOf({ ...S3, gc: { graceSeconds: 0 } })).toContain('gc.graceSeconds must be at least signedURLs.uploadTTLSeconds + 3600 = 7200, got 0');
  });

  test.each([3600, 82_800, 86_400, 604_800])('unset, nothing is stored and the data plane follows uploadTTLSeconds %i (a day, or it + 3600 when longer)', (uploadTTLSeconds) => {
    const d = domain({ ...S3, signedURLs: { uploadTTLSeconds } });
    expect(admit('Domain', d)).toEqual([]);
    expect(d.spec.gc).toEqual({ intervalSeconds: 3600 });
    expect(loadConfig(domainEnv(createDomainContext(d))).gcGraceSeconds).toBe(Math.max(86_400, uploadTTLSeconds + 3600));
  });

  test('raising uploadTTLSeconds past a set grace is refused on update; with the grace unset it is admitted', () => {
    const spec = (uploadTTLSeconds: number, graceSeconds?: number) => ({ ...S3, signedURLs: { uploadTTLSeconds }, ...(graceSeconds === undefined ? {} : { gc: { graceSeconds } }) });
    expect(updateFailures(spec(3600, 90_000), spec(86_400, 90_000))).toEqual([]);
    expect(updateFailures(spec(3600, 90_000), spec(86_401, 90_000))).toEqual([expect.stringContaining('gc.graceSeconds must be at least signedURLs.uploadTTLSeconds + 3600 = 90001, got 90000')]);
    expect(updateFailures(spec(3600), spec(604_800))).toEqual([]);
  });
});

describe('resources: a pod asking more than its limit never starts', () => {
  test.each([
    ['apiServer', { requests: { memory: '2Gi' }, limits: { memory: '1Gi' } }, 'spec.apiServer.resources: Invalid value: "object": resources.requests.memory must not exceed resources.limits.memory'],
    ['workers', { requests: { memory: '1025Mi' }, limits: { memory: '1Gi' } }, 'spec.workers.resources: Invalid value: "object": resources.requests.memory must not exceed'],
    ['apiServer', { requests: { cpu: 3 }, limits: { cpu: '2500m' } }, 'resources.requests.cpu must not exceed resources.limits.cpu'],
    ['workers', { requests: { cpu: '1.5' }, limits: { cpu: 1 } }, 'resources.requests.cpu must not exceed resources.limits.cpu'],
  ])('%s %j', (component, resources, message) => {
    expect(errorsOf({ ...S3, [component]: { resources } })).toContain(message);
  });

  test('equal values in other units, integers and strings, or a side left out are admitted', () => {
    const resources = { requests: { cpu: '1000m', memory: '1024Mi' }, limits: { cpu: 1, memory: '1Gi' } };
    expect(admit('Domain', domain({ ...S3, apiServer: { resources }, workers: { resources: { requests: { memory: '8Gi' } } } }))).toEqual([]);
  });
});

describe('ingress.host', () => {
  test.each([`${'a'.repeat(64)}.example.com`, 'Drive.example.com', '*.example.com', 'drive..example.com', '-drive.example.com', 'drive.example.com.'])('%s is refused', (host) => {
    expect(errorsOf({ ...S3, ingress: { host } })).toContain('ingress.host must be a lowercase RFC 1123 host name');
  });

  test('63-character labels are admitted', () => {
    expect(admit('Domain', domain({ ...S3, ingress: { host: `${'a'.repeat(63)}.b-c.example` } }))).toEqual([]);
  });
});

describe('storage.volume', () => {
  test('`storage: {volume: {}}` alone is admitted (no replicas default breaks the ReadWriteOnce rule) and runs one pod', () => {
    const d = domain(structuredClone(VOLUME));
    expect(admit('Domain', d)).toEqual([]);
    expect(createDomainContext(d).spec.apiServer.replicas).toBe(1);
  });

  test('more than one API server on the volume is still refused', () => {
    expect(errorsOf({ ...VOLUME, apiServer: { replicas: 2 } })).toContain('storage.volume is a ReadWriteOnce disk');
  });

  test('size 0 is refused', () => {
    expect(errorsOf({ storage: { volume: { size: '0' } } })).toContain('storage.volume.size must be more than 0');
  });

  test('size grows, never shrinks (in any unit)', () => {
    const sized = (size: string) => ({ storage: { volume: { size } } });
    expect(updateFailures(sized('10Gi'), sized('20Gi'))).toEqual([]);
    expect(updateFailures(sized('1Gi'), sized('1024Mi'))).toEqual([]);
    expect(updateFailures(sized('10Gi'), sized('10G'))).toEqual([
      'spec.storage.volume.size: Invalid value: "string": storage.volume.size cannot shrink: the PersistentVolumeClaim holding the data only grows (and only when its StorageClass allows volume expansion)',
    ]);
  });

  test('storageClassName cannot change, be added or be removed', () => {
    const cls = (storageClassName?: string) => ({ storage: { volume: { size: '1Gi', ...(storageClassName && { storageClassName }) } } });
    expect(updateFailures(cls('fast'), cls('fast'))).toEqual([]);
    expect(updateFailures(cls('fast'), cls('slow')).join('\n')).toContain('storage.volume.storageClassName cannot change after creation');
    expect(updateFailures(cls(), cls('slow')).join('\n')).toContain('storage.volume.storageClassName cannot be added or removed after creation');
    expect(updateFailures(cls('fast'), cls()).join('\n')).toContain('storage.volume.storageClassName cannot be added or removed after creation');
  });
});

// Red team M5: a running Domain's bucket edited was accepted and Ready, its data plane serving an empty store
// while every file's blob stayed in the old one.
describe('storage.s3: where the blobs are cannot change', () => {
  const s3 = (s3: Record<string, string>) => ({ ...S3, storage: { s3 } });

  test('a changed bucket or prefix, or a prefix added or removed, is refused with what to do instead', () => {
    const base = { bucket: 'b-1', prefix: 'p/', endpoint: 'https://s3.example' };
    for (const next of <Record<string, string>[]>[{ ...base, bucket: 'b-2' }, { ...base, prefix: 'q/' }, { bucket: 'b-1', endpoint: 'https://s3.example' }]) {
      const failures = updateFailures(s3(base), s3(next));
      expect([next, failures]).toEqual([next, [expect.stringMatching(/^spec\.storage\.s3: Invalid value: "object": storage\.s3 bucket and prefix cannot change after creation/)]]);
    }
    expect(updateFailures(s3({ bucket: 'b-1' }), s3({ bucket: 'b-1', prefix: 'p/' })).join('\n')).toContain(
      'copy every object under the old bucket and prefix (openpds-claim.json included) to the new place, then delete this Domain and create it again with the same name, spec.database and the new storage.s3',
    );
  });

  test('the same place, another endpoint (the claim check guards it), region or credentials, and other edits are admitted', () => {
    const base = { bucket: 'b-1', prefix: 'p/', endpoint: 'https://s3.example' };
    expect(updateFailures(s3(base), s3({ ...base }))).toEqual([]);
    expect(updateFailures(s3(base), s3({ ...base, endpoint: 'https://s3.other.example' }))).toEqual([]);
    expect(updateFailures(s3(base), s3({ bucket: 'b-1', prefix: 'p/' }))).toEqual([]);
    expect(updateFailures(s3({ bucket: 'b-1' }), s3({ bucket: 'b-1', region: 'eu-west-1' }))).toEqual([]);
    expect(updateFailures({ ...s3(base), logLevel: 'info' }, { ...s3(base), logLevel: 'debug', storage: { s3: { ...base, credentialsSecretRef: { name: 'k2' } } } })).toEqual([]);
  });
});

// Red team M6: spec.database added to a volume Domain was accepted; the new pod's claim check refused the
// store (its PostgreSQL is not the embedded database that claimed it) and, with Recreate, the Domain was down.
describe('spec.database cannot be added or removed', () => {
  test('adding it to a volume Domain, or removing it, is refused with what to do instead', () => {
    const withDb = { ...VOLUME, database: { urlSecretRef: { name: 'db' } } };
    for (const [old, next] of [[VOLUME, withDb], [withDb, VOLUME]] as const) {
      expect(updateFailures(structuredClone(old), structuredClone(next))).toEqual([
      'spec: Invalid value: "object": spec.database cannot be added or removed after creation: the files are recorded in the database the Domain was created with (the embedded one on storage.volume, or that PostgreSQL), and the other database knows none of them, so the data plane would refuse to start on its store. To move to another database, create a new Domain with it and copy the files into it through the API',
      ]);
    }
  });

  test('another Secret for the same database is admitted', () => {
    expect(updateFailures(S3, { ...S3, database: { urlSecretRef: { name: 'db-rotated' } } })).toEqual([]);
    expect(updateFailures(VOLUME, structuredClone(VOLUME))).toEqual([]);
  });
});

describe('workers.replicas', () => {
  test('0 without a volume is refused: nothing would run jobs', () => {
    expect(errorsOf({ ...S3, workers: { replicas: 0 } })).toContain('workers.replicas must be at least 1 unless storage.volume is set');
  });

  test('0 is admitted with autoscaling (the HPA sets replicas), and on a volume (no worker Deployment there)', () => {
    expect(admit('Domain', domain({ ...S3, workers: { replicas: 0, autoscaling: { enabled: true } } }))).toEqual([]);
    expect(admit('Domain', domain({ ...VOLUME, workers: { replicas: 0 } }))).toEqual([]);
  });
});

// kube-prometheus-stack's Prometheus selects ServiceMonitors and PrometheusRules by `release`: without a
// way to add it, a Domain's alerts were never loaded there (session 25 review). The operator's own label
// prefixes stay its own (it selects and prunes by them).
describe('spec.monitoring.labels', () => {
  test('labels with a value Kubernetes takes are admitted', () => {
    expect(errorsOf({ ...VOLUME, monitoring: { labels: { release: 'kube-prometheus-stack', 'team.example.com/owner': 'ops', empty: '' } } })).toBe('');
  });
  test.each([
    [{ 'openpds.io/domain': 'other' }, "label keys under app.kubernetes.io/ and openpds.io/ are the operator's own"],
    [{ 'app.kubernetes.io/instance': 'x' }, "label keys under app.kubernetes.io/ and openpds.io/ are the operator's own"],
    [{ release: 'a'.repeat(64) }, '/spec/monitoring/labels/release must NOT have more than 63 characters'],
    [{ release: 'no spaces' }, '/spec/monitoring/labels/release must match pattern'],
    [Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`l${i}`, 'v'])), '/spec/monitoring/labels must NOT have more than 16 properties'],
  ])('%j is refused, naming the rule or the field', (labels, message) => {
    expect(errorsOf({ ...VOLUME, monitoring: { labels } })).toContain(message);
  });
});
