import { loadConfig } from '../../../api-server/src/config/config';
import type { Domain } from '../domain-types';
import { domainEnv } from './domain-runner';

const domain = { apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', metadata: { name: 'd' }, spec: { storage: { volume: { size: '1Gi' } } } } as unknown as Domain;

test("up's data planes get its dataPlaneEnv settings; the Domain's own settings win over them", () => {
  const env = domainEnv(domain, { stateDir: '/tmp/openpds-state', logLevel: 'warn', dataPlaneEnv: { OPENPDS_PASSWORD_HASH_ITERATIONS: '1', OPENPDS_STORAGE: 's3', OPENPDS_LOG_LEVEL: 'debug' } });
  expect(env).toMatchObject({ OPENPDS_PASSWORD_HASH_ITERATIONS: '1', OPENPDS_STORAGE: 'local', OPENPDS_LOG_LEVEL: 'warn' });
  expect(domainEnv(domain, { stateDir: '/tmp/openpds-state', logLevel: 'warn' })).not.toHaveProperty('OPENPDS_PASSWORD_HASH_ITERATIONS');
});

test("up's data planes get every per-domain limit and lifetime of the spec, as the operator's ConfigMap carries them", () => {
  const spec = {
    storage: { volume: { size: '1Gi' } },
    quotas: { maxUsers: 7, maxFolderDepth: 12, maxFolderItems: 345 },
    tokens: { accessTTLSeconds: 600, refreshTTLSeconds: 3600 },
    signedURLs: { downloadTTLSeconds: 60, uploadTTLSeconds: 120 },
    trash: { retentionDays: 0 },
  };
  const env = domainEnv({ ...domain, spec } as unknown as Domain, { stateDir: '/tmp/openpds-state', logLevel: 'warn' });
  const config = loadConfig({ ...env, OPENPDS_SECRET_KEY: 'k'.repeat(32) });
  expect({
    maxUsers: config.maxUsers,
    maxFolderDepth: config.maxFolderDepth,
    maxFolderItems: config.maxFolderItems,
    accessTokenTtl: config.accessTokenTtl,
    refreshTokenTtl: config.refreshTokenTtl,
    downloadUrlTtl: config.downloadUrlTtl,
    uploadUrlTtl: config.uploadUrlTtl,
    trashRetentionDays: config.trashRetentionDays,
  }).toEqual({ maxUsers: 7, maxFolderDepth: 12, maxFolderItems: 345, accessTokenTtl: 600, refreshTokenTtl: 3600, downloadUrlTtl: 60, uploadUrlTtl: 120, trashRetentionDays: 0 });
});
