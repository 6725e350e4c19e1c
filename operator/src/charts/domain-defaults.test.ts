// The charts fill in defaults themselves (a Domain from `openpds up` or a test has none); they must be the
// CRD's defaults, or a Domain would deploy differently with and without a cluster.
import { CONFIG_KEYS, loadConfig } from '../../../api-server/src/config/config';
import { validateWithDefaults } from '../../../crds/testing/crd-schema';
import type { Domain } from '../domain-types';
import { dataPlaneSettings, resolveDomainSpec } from './domain-defaults';

const minimal = (storage: Domain['spec']['storage'], extra: Partial<Domain['spec']> = {}): Domain => ({
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Domain',
  metadata: { name: 'd' },
  spec: { storage, database: { urlSecretRef: { name: 'db' } }, alerts: { webhooks: [{ name: 'w', urlSecretRef: { name: 's' } }] }, ...extra },
});

test.each([
  ['s3', minimal({ s3: { bucket: 'b-1', credentialsSecretRef: { name: 'c' } } }), 2],
  ['volume', minimal({ volume: {} }), 1],
  ['hosting', minimal({ mode: 'hosting', hosting: { bucket: 'b-1', credentialsSecretRef: { name: 'c' } } }), 2],
])('resolveDomainSpec agrees with the CRD defaults (%s)', (_name, domain, apiReplicas) => {
  const defaulted = structuredClone(domain);
  expect(validateWithDefaults('Domain', defaulted)).toEqual([]);
  const { domainId, ...resolved } = resolveDomainSpec(domain);
  expect(domainId).toBe('d');
  // apiServer.replicas has no CRD default (it depends on the storage): the chart's is checked apart.
  expect(defaulted.spec.apiServer).not.toHaveProperty('replicas');
  expect(resolved.apiServer.replicas).toBe(apiReplicas);
  expect({ ...resolved, apiServer: { ...resolved.apiServer, replicas: undefined } }).toEqual({ ...defaulted.spec, apiServer: { ...defaulted.spec.apiServer, replicas: undefined } });
});

test('a set apiServer.replicas wins over the storage-dependent default', () => {
  expect(resolveDomainSpec(minimal({ volume: {} }, { apiServer: { replicas: 0 } })).apiServer.replicas).toBe(0);
  expect(resolveDomainSpec(minimal({ s3: { bucket: 'b-1' } }, { apiServer: { replicas: 5 } })).apiServer.replicas).toBe(5);
});

test('apiServer.maxConnections and gc.graceSeconds have no CRD default: unset, the data plane derives them', () => {
  const defaulted = minimal({ s3: { bucket: 'b-1' } });
  expect(validateWithDefaults('Domain', defaulted)).toEqual([]);
  expect(defaulted.spec.apiServer).not.toHaveProperty('maxConnections');
  expect(defaulted.spec.gc).not.toHaveProperty('graceSeconds');
  expect(resolveDomainSpec(defaulted).gc).not.toHaveProperty('graceSeconds');
});

// The ConfigMap leaves a setting out at byDefault: the data plane must then run with that very value, for
// every setting of the table (the S3 and database ones included) and whatever the upload URL lifetime.
test.each([undefined, 604_800])('every data-plane setting at its default is what the data plane takes with its variable unset (uploadTTLSeconds %s)', (uploadTTLSeconds) => {
  const d = minimal({ s3: { bucket: 'b-1' } }, uploadTTLSeconds === undefined ? {} : { signedURLs: { uploadTTLSeconds } });
  const base = { OPENPDS_SECRET_KEY: 'k'.repeat(32), OPENPDS_STORAGE: 's3', OPENPDS_S3_BUCKET: 'b-1', ...(uploadTTLSeconds === undefined ? {} : { OPENPDS_UPLOAD_URL_TTL: String(uploadTTLSeconds) }) };
  const settings = dataPlaneSettings(resolveDomainSpec(d));
  expect(settings.map((s) => s.env)).toEqual(expect.arrayContaining(['OPENPDS_S3_IDLE_TIMEOUT_SECONDS', 'OPENPDS_DB_STATEMENT_TIMEOUT_SECONDS', 'OPENPDS_GC_GRACE_SECONDS']));
  // The upload URL lifetime is the one field set in the second case (base passes it to the data plane too).
  for (const { env, value, byDefault } of settings.filter((s) => uploadTTLSeconds === undefined || s.env !== 'OPENPDS_UPLOAD_URL_TTL')) {
    const key = (Object.keys(CONFIG_KEYS) as (keyof typeof CONFIG_KEYS)[]).find((k) => CONFIG_KEYS[k].env === env)!;
    expect([env, key !== undefined]).toEqual([env, true]);
    // Every other field is unset (the CRD's defaults apply), so value is byDefault too.
    expect([env, value]).toEqual([env, byDefault]);
    expect([env, loadConfig(base)[key]]).toEqual([env, loadConfig({ ...base, [env]: String(byDefault) })[key]]);
  }
});
