/**
 * The Domain spec with every schema default filled in. A Domain read from a cluster already has them (the
 * API server applies crds/openpds.io_domains.yaml defaults); one built by a test, `openpds up` or
 * `openpds plan` may not, so the charts always read this form. domain-defaults.test.ts checks these
 * values against the CRD's defaults so the two cannot drift.
 */
import { VERSION } from '../../../api-server/src/version';
import type { Domain, DomainSpec, Resources } from '../domain-types';

type DeepRequired<T> = T extends object ? { [K in keyof T]-?: DeepRequired<T[K]> } : T;

export interface ResolvedDomainSpec {
  domainId: string;
  image: string;
  imagePullPolicy: NonNullable<DomainSpec['imagePullPolicy']>;
  logLevel: NonNullable<DomainSpec['logLevel']>;
  storage: DomainSpec['storage'] & { mode: 'standard' | 'hosting' };
  database: DomainSpec['database'];
  apiServer: { replicas: number; resources: Resources; autoscaling: DeepRequired<NonNullable<NonNullable<DomainSpec['apiServer']>['autoscaling']>> };
  workers: { replicas: number; concurrency: number; resources: Resources; autoscaling: DeepRequired<NonNullable<NonNullable<DomainSpec['workers']>['autoscaling']>> };
  imageAnalysis: { enabled: boolean };
  quotas: { defaultDriveSize: string; maxUsers: number; maxFolderDepth: number; maxFolderItems: number };
  ingress: DomainSpec['ingress'];
  trash: { retentionDays: number };
  tokens: { accessTTLSeconds: number; refreshTTLSeconds: number };
  signedURLs: { downloadTTLSeconds: number; uploadTTLSeconds: number };
  alerts: { webhooks: NonNullable<NonNullable<DomainSpec['alerts']>['webhooks']> };
  upgrade: { policy: 'Automatic' | 'Manual'; approvedImage?: string; allowNewerSchema: boolean };
}

export const DEFAULT_IMAGE = `openpds/openpds:${VERSION}`;
// Data-plane settings of the spec when unset: the CRD's defaults, and the data plane's own for the variables
// they map to (config.chart.test.ts checks both), which is why the ConfigMap leaves each out at its value.
/** quotas.maxFolderDepth: OPENPDS_MAX_FOLDER_DEPTH. */
export const DEFAULT_MAX_FOLDER_DEPTH = 1000;
/** quotas.maxFolderItems: OPENPDS_MAX_FOLDER_ITEMS. */
export const DEFAULT_MAX_FOLDER_ITEMS = 100_000;
/** tokens.accessTTLSeconds: OPENPDS_ACCESS_TOKEN_TTL (2 hours). */
export const DEFAULT_ACCESS_TTL_SECONDS = 7200;
/** tokens.refreshTTLSeconds: OPENPDS_REFRESH_TOKEN_TTL (30 days). */
export const DEFAULT_REFRESH_TTL_SECONDS = 2_592_000;
/** signedURLs.downloadTTLSeconds: OPENPDS_DOWNLOAD_URL_TTL (15 minutes). */
export const DEFAULT_DOWNLOAD_TTL_SECONDS = 900;
/** signedURLs.uploadTTLSeconds: OPENPDS_UPLOAD_URL_TTL (1 hour). */
export const DEFAULT_UPLOAD_TTL_SECONDS = 3600;

/**
 * The spec's data-plane limits and lifetimes with their variables and defaults: one table for the
 * operator's ConfigMap (which leaves each out at its default) and `openpds up`'s data planes (which get
 * them all), so a field added here reaches both.
 */
export function dataPlaneLimits(spec: ResolvedDomainSpec): { env: string; value: number; byDefault: number }[] {
  return [
    { env: 'OPENPDS_MAX_FOLDER_DEPTH', value: spec.quotas.maxFolderDepth, byDefault: DEFAULT_MAX_FOLDER_DEPTH },
    { env: 'OPENPDS_MAX_FOLDER_ITEMS', value: spec.quotas.maxFolderItems, byDefault: DEFAULT_MAX_FOLDER_ITEMS },
    { env: 'OPENPDS_ACCESS_TOKEN_TTL', value: spec.tokens.accessTTLSeconds, byDefault: DEFAULT_ACCESS_TTL_SECONDS },
    { env: 'OPENPDS_REFRESH_TOKEN_TTL', value: spec.tokens.refreshTTLSeconds, byDefault: DEFAULT_REFRESH_TTL_SECONDS },
    { env: 'OPENPDS_DOWNLOAD_URL_TTL', value: spec.signedURLs.downloadTTLSeconds, byDefault: DEFAULT_DOWNLOAD_TTL_SECONDS },
    { env: 'OPENPDS_UPLOAD_URL_TTL', value: spec.signedURLs.uploadTTLSeconds, byDefault: DEFAULT_UPLOAD_TTL_SECONDS },
  ];
}

export function resolveDomainSpec(domain: Domain): ResolvedDomainSpec {
  const s = domain.spec;
  const api = s.apiServer ?? {};
  const workers = s.workers ?? {};
  const withS3Defaults = <T extends { region?: string; forcePathStyle?: boolean; credentialsSecretRef?: { name: string; accessKeyIdKey?: string; secretAccessKeyKey?: string } }>(loc: T): T => ({
    ...loc,
    region: loc.region ?? 'us-east-1',
    forcePathStyle: loc.forcePathStyle ?? false,
    ...(loc.credentialsSecretRef && {
      credentialsSecretRef: {
        accessKeyIdKey: 'AWS_ACCESS_KEY_ID',
        secretAccessKeyKey: 'AWS_SECRET_ACCESS_KEY',
        ...loc.credentialsSecretRef,
      },
    }),
  });
  return {
    domainId: s.domainId ?? domain.metadata.name,
    image: s.image ?? DEFAULT_IMAGE,
    imagePullPolicy: s.imagePullPolicy ?? 'IfNotPresent',
    logLevel: s.logLevel ?? 'info',
    storage: {
      mode: s.storage.mode ?? 'standard',
      ...(s.storage.s3 && { s3: withS3Defaults(s.storage.s3) }),
      ...(s.storage.volume && { volume: { size: '10Gi', ...s.storage.volume } }),
      ...(s.storage.hosting && { hosting: { scanIntervalSeconds: 300, ...withS3Defaults(s.storage.hosting) } }),
    },
    database: s.database && {
      ...(s.database.urlSecretRef && { urlSecretRef: { key: 'url', ...s.database.urlSecretRef } }),
      ...(s.database.cloudNativePG && { cloudNativePG: s.database.cloudNativePG }),
    },
    apiServer: {
      // No CRD default: a fixed 2 broke the volume rule (at most 1 on a ReadWriteOnce disk) for the natural
      // `storage: {volume: {}}`, so the default depends on the storage.
      replicas: api.replicas ?? (s.storage.volume ? 1 : 2),
      resources: api.resources ?? { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } },
      autoscaling: { enabled: false, minReplicas: 2, maxReplicas: 10, targetCPUUtilizationPercentage: 70, ...api.autoscaling },
    },
    workers: {
      replicas: workers.replicas ?? 1,
      concurrency: workers.concurrency ?? 2,
      resources: workers.resources ?? { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '2Gi' } },
      autoscaling: { enabled: false, minReplicas: 1, maxReplicas: 10, targetBacklogPerReplica: 50, ...workers.autoscaling },
    },
    imageAnalysis: { enabled: true, ...s.imageAnalysis },
    quotas: { defaultDriveSize: '10Gi', maxUsers: 0, maxFolderDepth: DEFAULT_MAX_FOLDER_DEPTH, maxFolderItems: DEFAULT_MAX_FOLDER_ITEMS, ...s.quotas },
    ingress: s.ingress,
    trash: { retentionDays: 30, ...s.trash },
    tokens: { accessTTLSeconds: DEFAULT_ACCESS_TTL_SECONDS, refreshTTLSeconds: DEFAULT_REFRESH_TTL_SECONDS, ...s.tokens },
    signedURLs: { downloadTTLSeconds: DEFAULT_DOWNLOAD_TTL_SECONDS, uploadTTLSeconds: DEFAULT_UPLOAD_TTL_SECONDS, ...s.signedURLs },
    alerts: { webhooks: (s.alerts?.webhooks ?? []).map((w) => (w.urlSecretRef ? { ...w, urlSecretRef: { key: 'url', ...w.urlSecretRef } } : w)) },
    upgrade: { policy: 'Automatic', allowNewerSchema: false, ...s.upgrade },
  };
}
