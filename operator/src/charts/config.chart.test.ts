// spec.upgrade.allowNewerSchema reaches the data plane as OPENPDS_ALLOW_NEWER_SCHEMA, a setting the data
// plane's config knows (an older image on a newer schema stays not ready without it), and only when set:
// a new key in every Domain's ConfigMap would change its config hash and roll every data plane. The same
// holds for spec.quotas.maxFolderDepth, quotas.maxFolderItems, tokens and signedURLs at their defaults.
import { CONFIG_KEYS, loadConfig } from '../../../api-server/src/config/config';
import type { Domain } from '../domain-types';
import { domainEnv as localDomainEnv } from '../local/domain-runner';
import { domainEnv } from './config.chart';
import { createDomainContext } from './domain-context';
import {
  DEFAULT_ACCESS_TTL_SECONDS,
  DEFAULT_DOWNLOAD_TTL_SECONDS,
  DEFAULT_MAX_FOLDER_DEPTH,
  DEFAULT_MAX_FOLDER_ITEMS,
  DEFAULT_REFRESH_TTL_SECONDS,
  DEFAULT_UPLOAD_TTL_SECONDS,
} from './domain-defaults';

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
] as const)('$field', ({ field, config, env, byDefault, values }) => {
  const [group, name] = field.split('.') as [string, string];
  const withValue = (value?: number): Domain => ({ ...domain(), spec: { storage: { volume: {} }, [group]: value === undefined ? {} : { [name]: value } } });

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

test('`openpds up` passes quotas.maxFolderDepth to its data planes too, the default included', () => {
  const local = (maxFolderDepth?: number) => localDomainEnv(withDepth(maxFolderDepth), { stateDir: '/tmp/openpds-state', logLevel: 'info' });
  expect(local(7).OPENPDS_MAX_FOLDER_DEPTH).toBe('7');
  expect(loadConfig(local(7)).maxFolderDepth).toBe(7);
  expect(loadConfig(local()).maxFolderDepth).toBe(DEFAULT_MAX_FOLDER_DEPTH);
});
