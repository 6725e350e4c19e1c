// spec.upgrade.allowNewerSchema reaches the data plane as OPENPDS_ALLOW_NEWER_SCHEMA, a setting the data
// plane's config knows (an older image on a newer schema stays not ready without it), and only when set:
// a new key in every Domain's ConfigMap would change its config hash and roll every data plane. The same
// holds for every per-domain setting of dataPlaneSettings at its default (and for gc.graceSeconds and
// apiServer.maxConnections unset, which have no CRD default: the data plane derives the same value).
import { CONFIG_KEYS, loadConfig } from '../../../api-server/src/config/config';
import type { Domain } from '../domain-types';
import { withSpecField } from './testing/domain-fixtures';
import { domainEnv as localDomainEnv } from '../local/domain-runner';
import { domainEnv } from './config.chart';
import { createDomainContext } from './domain-context';
import {
  DEFAULT_ACCESS_TTL_SECONDS,
  DEFAULT_DB_STATEMENT_TIMEOUT_SECONDS,
  DEFAULT_DOWNLOAD_REDIRECT,
  DEFAULT_DOWNLOAD_TTL_SECONDS,
  DEFAULT_GC_INTERVAL_SECONDS,
  DEFAULT_MAX_FOLDER_DEPTH,
  DEFAULT_MAX_FOLDER_ITEMS,
  DEFAULT_RAPID_UPLOAD_CHALLENGES_PER_HOUR,
  DEFAULT_RAPID_UPLOAD_PROOF_V2,
  DEFAULT_REFRESH_TTL_SECONDS,
  DEFAULT_S3_CONNECT_TIMEOUT_SECONDS,
  DEFAULT_S3_IDLE_TIMEOUT_SECONDS,
  DEFAULT_UPLOAD_MAX_AGE_SECONDS,
  DEFAULT_UPLOAD_TTL_SECONDS,
} from './domain-defaults';

type Spec = Record<string, unknown>;
const VOLUME: Spec = { storage: { volume: {} } };
/** S3 storage and a database: the storage.s3 and database fields exist only there. */
const S3_DB: Spec = { storage: { s3: { bucket: 'b-1' } }, database: { urlSecretRef: { name: 'db' } } };
const SECRET = { OPENPDS_SECRET_KEY: 'k'.repeat(32) };

/** A Domain with `base`'s spec and, when given, `value` at the dotted `field` under spec. */
function domainWith(base: Spec, field: string, value?: unknown): Domain {
  const spec = value === undefined ? structuredClone(base) : withSpecField(base, field, value);
  return { apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', metadata: { name: 'd', namespace: 'ns' }, spec } as unknown as Domain;
}
const chartEnv = (d: Domain) => domainEnv(createDomainContext(d));

const domain = (upgrade?: Domain['spec']['upgrade']): Domain => ({
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Domain',
  metadata: { name: 'd', namespace: 'ns' },
  spec: { storage: { volume: {} }, ...(upgrade ? { upgrade } : {}) },
});

test('allowNewerSchema: true sets OPENPDS_ALLOW_NEWER_SCHEMA, which the data plane reads', () => {
  const env = domainEnv(createDomainContext(domain({ allowNewerSchema: true })));
  expect(env.OPENPDS_ALLOW_NEWER_SCHEMA).toBe('true');
  expect(loadConfig({ ...env, OPENPDS_SECRET_KEY: 'k'.repeat(32) }).allowNewerSchema).toBe(true);
});

test('unset or false adds nothing to the ConfigMap', () => {
  expect(domainEnv(createDomainContext(domain()))).not.toHaveProperty('OPENPDS_ALLOW_NEWER_SCHEMA');
  expect(domainEnv(createDomainContext(domain({ allowNewerSchema: false })))).toEqual(domainEnv(createDomainContext(domain())));
});

const withDepth = (maxFolderDepth?: number): Domain => ({ ...domain(), spec: { storage: { volume: {} }, quotas: maxFolderDepth === undefined ? {} : { maxFolderDepth } } });

describe('quotas.maxFolderDepth', () => {
  test.each([1, 100, 10_000])('%i reaches the data plane as OPENPDS_MAX_FOLDER_DEPTH', (depth) => {
    const env = domainEnv(createDomainContext(withDepth(depth)));
    expect(env.OPENPDS_MAX_FOLDER_DEPTH).toBe(String(depth));
    expect(loadConfig({ ...env, OPENPDS_SECRET_KEY: 'k'.repeat(32) }).maxFolderDepth).toBe(depth);
  });

  test('unset, or the default 1000 every stored Domain gets, adds nothing: the data plane defaults to the same 1000', () => {
    expect(domainEnv(createDomainContext(withDepth()))).not.toHaveProperty('OPENPDS_MAX_FOLDER_DEPTH');
    expect(domainEnv(createDomainContext(withDepth(1000)))).toEqual(domainEnv(createDomainContext(withDepth())));
    // Were the data plane's default to move, a Domain left at 1000 would silently follow it.
    expect(CONFIG_KEYS.maxFolderDepth.default).toBe(String(DEFAULT_MAX_FOLDER_DEPTH));
    expect(loadConfig({ ...domainEnv(createDomainContext(withDepth(1000))), OPENPDS_SECRET_KEY: 'k'.repeat(32) }).maxFolderDepth).toBe(1000);
  });
});

describe.each([
  { field: 'quotas.maxFolderItems', config: 'maxFolderItems', env: 'OPENPDS_MAX_FOLDER_ITEMS', byDefault: DEFAULT_MAX_FOLDER_ITEMS, values: [0, 1, 9007199254740991] },
  { field: 'tokens.accessTTLSeconds', config: 'accessTokenTtl', env: 'OPENPDS_ACCESS_TOKEN_TTL', byDefault: DEFAULT_ACCESS_TTL_SECONDS, values: [60, 900, 86_400] },
  { field: 'tokens.refreshTTLSeconds', config: 'refreshTokenTtl', env: 'OPENPDS_REFRESH_TOKEN_TTL', byDefault: DEFAULT_REFRESH_TTL_SECONDS, values: [300, 86_400, 315_360_000] },
  { field: 'signedURLs.downloadTTLSeconds', config: 'downloadUrlTtl', env: 'OPENPDS_DOWNLOAD_URL_TTL', byDefault: DEFAULT_DOWNLOAD_TTL_SECONDS, values: [10, 300, 604_800] },
  { field: 'signedURLs.uploadTTLSeconds', config: 'uploadUrlTtl', env: 'OPENPDS_UPLOAD_URL_TTL', byDefault: DEFAULT_UPLOAD_TTL_SECONDS, values: [60, 86_400, 604_800] },
  { field: 'uploads.maxAgeSeconds', config: 'uploadMaxAge', env: 'OPENPDS_UPLOAD_MAX_AGE', byDefault: DEFAULT_UPLOAD_MAX_AGE_SECONDS, values: [1, 3600, 315_360_000] },
  { field: 'uploads.rapidUpload.challengesPerHour', config: 'rapidUploadChallengesPerHour', env: 'OPENPDS_RAPID_UPLOAD_CHALLENGES_PER_HOUR', byDefault: DEFAULT_RAPID_UPLOAD_CHALLENGES_PER_HOUR, values: [1, 600, 1_000_000] },
  { field: 'gc.intervalSeconds', config: 'gcIntervalSeconds', env: 'OPENPDS_GC_INTERVAL_SECONDS', byDefault: DEFAULT_GC_INTERVAL_SECONDS, values: [0, 60, 2_147_483] },
  { field: 'database.statementTimeoutSeconds', config: 'dbStatementTimeoutSeconds', env: 'OPENPDS_DB_STATEMENT_TIMEOUT_SECONDS', byDefault: DEFAULT_DB_STATEMENT_TIMEOUT_SECONDS, values: [0, 1, 86_400], base: S3_DB },
  { field: 'storage.s3.connectTimeoutSeconds', config: 's3ConnectTimeoutSeconds', env: 'OPENPDS_S3_CONNECT_TIMEOUT_SECONDS', byDefault: DEFAULT_S3_CONNECT_TIMEOUT_SECONDS, values: [1, 10, 300], base: S3_DB },
  { field: 'storage.s3.idleTimeoutSeconds', config: 's3IdleTimeoutSeconds', env: 'OPENPDS_S3_IDLE_TIMEOUT_SECONDS', byDefault: DEFAULT_S3_IDLE_TIMEOUT_SECONDS, values: [1, 120, 3600], base: S3_DB },
] as const)('$field', ({ field, config, env, byDefault, values, ...row }) => {
  const withValue = (value?: number): Domain => domainWith((row as { base?: Spec }).base ?? VOLUME, field, value);

  test.each(values)(`%i reaches the data plane as ${env}`, (value) => {
    const vars = domainEnv(createDomainContext(withValue(value)));
    expect(vars[env]).toBe(String(value));
    expect(loadConfig({ ...vars, OPENPDS_SECRET_KEY: 'k'.repeat(32) })[config]).toBe(value);
  });

  test(`unset, or the default every stored Domain gets, adds nothing: the data plane defaults to the same`, () => {
    expect(domainEnv(createDomainContext(withValue()))).not.toHaveProperty(env);
    expect(domainEnv(createDomainContext(withValue(byDefault)))).toEqual(domainEnv(createDomainContext(withValue())));
    // Were the data plane's default to move, a Domain left at the CRD's default would silently follow it.
    expect(CONFIG_KEYS[config].default).toBe(String(byDefault));
    expect(loadConfig({ ...domainEnv(createDomainContext(withValue(byDefault))), OPENPDS_SECRET_KEY: 'k'.repeat(32) })[config]).toBe(byDefault);
  });
});

describe.each([
  { field: 'storage.s3.downloadRedirect', config: 'downloadRedirect', env: 'OPENPDS_DOWNLOAD_REDIRECT', byDefault: DEFAULT_DOWNLOAD_REDIRECT, base: S3_DB },
  { field: 'uploads.rapidUpload.proofV2', config: 'rapidUploadProofV2', env: 'OPENPDS_RAPID_UPLOAD_PROOF_V2', byDefault: DEFAULT_RAPID_UPLOAD_PROOF_V2, base: VOLUME },
] as const)('$field', ({ field, config, env, byDefault, base }) => {
  test(`${!byDefault} reaches the data plane as ${env}`, () => {
    const vars = chartEnv(domainWith(base, field, !byDefault));
    expect(vars[env]).toBe(String(!byDefault));
    expect(loadConfig({ ...vars, ...SECRET })[config]).toBe(!byDefault);
  });

  test(`unset, or ${byDefault} as every stored Domain gets it, adds nothing: the data plane defaults to the same`, () => {
    expect(chartEnv(domainWith(base, field))).not.toHaveProperty(env);
    expect(chartEnv(domainWith(base, field, byDefault))).toEqual(chartEnv(domainWith(base, field)));
    expect(CONFIG_KEYS[config].default).toBe(String(byDefault));
    expect(loadConfig({ ...chartEnv(domainWith(base, field)), ...SECRET })[config]).toBe(byDefault);
  });
});

describe('apiServer.maxConnections (no CRD default: unset is the data plane\'s `auto`)', () => {
  test.each([0, 1, 10_000_000])('%i reaches the data plane as OPENPDS_MAX_CONNECTIONS', (value) => {
    const vars = chartEnv(domainWith(S3_DB, 'apiServer.maxConnections', value));
    expect(vars.OPENPDS_MAX_CONNECTIONS).toBe(String(value));
    expect(loadConfig({ ...vars, ...SECRET }).maxConnections).toBe(value);
  });

  test('unset adds nothing, and the data plane sizes it from the open-file limit', () => {
    expect(chartEnv(domainWith(S3_DB, ''))).not.toHaveProperty('OPENPDS_MAX_CONNECTIONS');
    expect(loadConfig({ ...chartEnv(domainWith(S3_DB, '')), ...SECRET }).maxConnections).toBeUndefined();
  });
});

describe('gc.graceSeconds (no CRD default: unset, the data plane derives it from signedURLs.uploadTTLSeconds)', () => {
  test.each([
    [7200, undefined],
    [86_400, undefined],
    [700_000, 604_800],
    [315_360_000, undefined],
  ])('%i reaches the data plane as OPENPDS_GC_GRACE_SECONDS (uploadTTLSeconds %s)', (grace, ttl) => {
    const d = domainWith({ ...VOLUME, ...(ttl === undefined ? {} : { signedURLs: { uploadTTLSeconds: ttl } }) }, 'gc.graceSeconds', grace);
    const vars = chartEnv(d);
    // 86400 with the default TTL is what the data plane derives: left out, as at any field's default.
    expect(vars.OPENPDS_GC_GRACE_SECONDS).toBe(grace === 86_400 ? undefined : String(grace));
    expect(loadConfig({ ...vars, ...SECRET }).gcGraceSeconds).toBe(grace);
  });

  test.each([60, 3600, 82_800, 82_801, 604_800])('unset adds nothing with uploadTTLSeconds %i; the data plane takes a day, or the TTL + 3600 when more', (ttl) => {
    const unset = chartEnv(domainWith(VOLUME, 'signedURLs.uploadTTLSeconds', ttl));
    expect(unset).not.toHaveProperty('OPENPDS_GC_GRACE_SECONDS');
    const derived = Math.max(86_400, ttl + 3600);
    expect(loadConfig({ ...unset, ...SECRET }).gcGraceSeconds).toBe(derived);
    // Set to what the data plane would derive, it changes nothing either (no roll).
    const same = domainWith({ ...VOLUME, signedURLs: { uploadTTLSeconds: ttl } }, 'gc.graceSeconds', derived);
    expect(chartEnv(same)).toEqual(unset);
  });
});

test('the S3 and database settings stay out of a volume Domain\'s ConfigMap (it has neither)', () => {
  const vars = chartEnv(domainWith(VOLUME, ''));
  for (const env of ['OPENPDS_S3_CONNECT_TIMEOUT_SECONDS', 'OPENPDS_S3_IDLE_TIMEOUT_SECONDS', 'OPENPDS_DOWNLOAD_REDIRECT', 'OPENPDS_DB_STATEMENT_TIMEOUT_SECONDS']) expect(vars).not.toHaveProperty(env);
});

test('`openpds up` passes quotas.maxFolderDepth to its data planes too, the default included', () => {
  const local = (maxFolderDepth?: number) => localDomainEnv(withDepth(maxFolderDepth), { stateDir: '/tmp/openpds-state', logLevel: 'info' });
  expect(local(7).OPENPDS_MAX_FOLDER_DEPTH).toBe('7');
  expect(loadConfig(local(7)).maxFolderDepth).toBe(7);
  expect(loadConfig(local()).maxFolderDepth).toBe(DEFAULT_MAX_FOLDER_DEPTH);
});
