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
    uploads: { maxAgeSeconds: 7200, rapidUpload: { proofV2: true, challengesPerHour: 5 } },
    gc: { graceSeconds: 4000, intervalSeconds: 30 },
    apiServer: { maxConnections: 500 },
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
    uploadMaxAge: config.uploadMaxAge,
    rapidUploadProofV2: config.rapidUploadProofV2,
    rapidUploadChallengesPerHour: config.rapidUploadChallengesPerHour,
    gcGraceSeconds: config.gcGraceSeconds,
    gcIntervalSeconds: config.gcIntervalSeconds,
    maxConnections: config.maxConnections,
  }).toEqual({
    maxUsers: 7,
    maxFolderDepth: 12,
    maxFolderItems: 345,
    accessTokenTtl: 600,
    refreshTokenTtl: 3600,
    downloadUrlTtl: 60,
    uploadUrlTtl: 120,
    trashRetentionDays: 0,
    uploadMaxAge: 7200,
    rapidUploadProofV2: true,
    rapidUploadChallengesPerHour: 5,
    gcGraceSeconds: 4000,
    gcIntervalSeconds: 30,
    maxConnections: 500,
  });
});

test("unset, up's data planes get the data plane's own defaults: the GC grace follows the upload URL lifetime, connections are `auto`", () => {
  const spec = { storage: { volume: { size: '1Gi' } }, signedURLs: { uploadTTLSeconds: 604_800 } };
  const config = loadConfig({ ...domainEnv({ ...domain, spec } as unknown as Domain, { stateDir: '/tmp/openpds-state', logLevel: 'warn' }), OPENPDS_SECRET_KEY: 'k'.repeat(32) });
  expect(config).toMatchObject({ gcGraceSeconds: 608_400, gcIntervalSeconds: 3600, uploadMaxAge: 604_800, rapidUploadProofV2: false, rapidUploadChallengesPerHour: 60 });
  expect(config.maxConnections).toBeUndefined();
});

test("a Domain on S3 with PostgreSQL runs locally on disk and PGlite; its S3 and database settings are passed all the same, and valid", () => {
  const spec = {
    storage: { s3: { bucket: 'b-1', connectTimeoutSeconds: 2, idleTimeoutSeconds: 90, downloadRedirect: false } },
    database: { urlSecretRef: { name: 'db' }, statementTimeoutSeconds: 5 },
  };
  const env = domainEnv({ ...domain, spec } as unknown as Domain, { stateDir: '/tmp/openpds-state', logLevel: 'warn' });
  const config = loadConfig({ ...env, OPENPDS_SECRET_KEY: 'k'.repeat(32) });
  expect(config).toMatchObject({ storage: 'local', databaseUrl: '', s3ConnectTimeoutSeconds: 2, s3IdleTimeoutSeconds: 90, downloadRedirect: false, dbStatementTimeoutSeconds: 5 });
});
