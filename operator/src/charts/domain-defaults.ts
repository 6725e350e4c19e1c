/**
 * The Domain spec with every schema default filled in. A Domain read from a cluster already has them (the
 * API server applies crds/openpds.io_domains.yaml defaults); one built by a test, `openpds up` or
 * `openpds plan` may not, so the charts always read this form. domain-defaults.test.ts checks these
 * values against the CRD's defaults so the two cannot drift.
 */
import { gcGraceSecondsWhenUnset } from '../../../api-server/src/config/config';
import { VERSION } from '../../../api-server/src/version';
import type { Domain, DomainDatabase, DomainSpec, Resources, StandardS3 } from '../domain-types';

type DeepRequired<T> = T extends object ? { [K in keyof T]-?: DeepRequired<T[K]> } : T;

export interface ResolvedDomainSpec {
  domainId: string;
  image: string;
  imagePullPolicy: NonNullable<DomainSpec['imagePullPolicy']>;
  logLevel: NonNullable<DomainSpec['logLevel']>;
  storage: Omit<DomainSpec['storage'], 's3'> & { mode: 'standard' | 'hosting'; s3?: StandardS3 & Required<Pick<StandardS3, 'connectTimeoutSeconds' | 'idleTimeoutSeconds' | 'downloadRedirect'>> };
  database: (DomainDatabase & { statementTimeoutSeconds: number }) | undefined;
  apiServer: { replicas: number; maxConnections?: number; resources: Resources; autoscaling: DeepRequired<NonNullable<NonNullable<DomainSpec['apiServer']>['autoscaling']>> };
  workers: { replicas: number; concurrency: number; resources: Resources; autoscaling: DeepRequired<NonNullable<NonNullable<DomainSpec['workers']>['autoscaling']>> };
  imageAnalysis: { enabled: boolean };
  quotas: { defaultDriveSize: string; maxUsers: number; maxFolderDepth: number; maxFolderItems: number };
  ingress: DomainSpec['ingress'];
  trash: { retentionDays: number };
  tokens: { accessTTLSeconds: number; refreshTTLSeconds: number };
  signedURLs: { downloadTTLSeconds: number; uploadTTLSeconds: number };
  uploads: { maxAgeSeconds: number; rapidUpload: { proofV2: boolean; challengesPerHour: number } };
  gc: { graceSeconds?: number; intervalSeconds: number };
  alerts: { webhooks: NonNullable<NonNullable<DomainSpec['alerts']>['webhooks']> };
  monitoring: { labels: Record<string, string> };
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
/** uploads.maxAgeSeconds: OPENPDS_UPLOAD_MAX_AGE (7 days). */
export const DEFAULT_UPLOAD_MAX_AGE_SECONDS = 604_800;
/** uploads.rapidUpload.proofV2: OPENPDS_RAPID_UPLOAD_PROOF_V2. */
export const DEFAULT_RAPID_UPLOAD_PROOF_V2 = false;
/** uploads.rapidUpload.challengesPerHour: OPENPDS_RAPID_UPLOAD_CHALLENGES_PER_HOUR. */
export const DEFAULT_RAPID_UPLOAD_CHALLENGES_PER_HOUR = 60;
/** gc.intervalSeconds: OPENPDS_GC_INTERVAL_SECONDS (1 hour). */
export const DEFAULT_GC_INTERVAL_SECONDS = 3600;
/** storage.s3.connectTimeoutSeconds: OPENPDS_S3_CONNECT_TIMEOUT_SECONDS. */
export const DEFAULT_S3_CONNECT_TIMEOUT_SECONDS = 5;
/** storage.s3.idleTimeoutSeconds: OPENPDS_S3_IDLE_TIMEOUT_SECONDS. */
export const DEFAULT_S3_IDLE_TIMEOUT_SECONDS = 30;
/** storage.s3.downloadRedirect: OPENPDS_DOWNLOAD_REDIRECT. */
export const DEFAULT_DOWNLOAD_REDIRECT = true;
/** database.statementTimeoutSeconds: OPENPDS_DB_STATEMENT_TIMEOUT_SECONDS. */
export const DEFAULT_DB_STATEMENT_TIMEOUT_SECONDS = 30;
/** apiServer.maxConnections has no CRD default: unset is the data plane's `auto` (OPENPDS_MAX_CONNECTIONS). */
export const DEFAULT_MAX_CONNECTIONS = 'auto';

/** One data-plane variable a Domain field sets: its value for this spec, and what the data plane takes when it is unset. */
export interface DataPlaneSetting {
  env: string;
  value: number | boolean | string;
  byDefault: number | boolean | string;
}

/**
 * The spec's per-domain data-plane settings (limits, lifetimes, timeouts, switches) with their variables
 * and defaults: one table for the operator's ConfigMap (which leaves each out at its default) and
 * `openpds up`'s data planes (which get them all), so a field added here reaches both. The S3 and database
 * settings are there only when the spec has S3 storage or a database.
 */
export function dataPlaneSettings(spec: ResolvedDomainSpec): DataPlaneSetting[] {
  const { s3 } = spec.storage;
  // gc.graceSeconds has no CRD default: unset, the data plane derives it from the upload URL lifetime.
  const derivedGrace = gcGraceSecondsWhenUnset(spec.signedURLs.uploadTTLSeconds);
  return [
    { env: 'OPENPDS_MAX_FOLDER_DEPTH', value: spec.quotas.maxFolderDepth, byDefault: DEFAULT_MAX_FOLDER_DEPTH },
    { env: 'OPENPDS_MAX_FOLDER_ITEMS', value: spec.quotas.maxFolderItems, byDefault: DEFAULT_MAX_FOLDER_ITEMS },
    { env: 'OPENPDS_ACCESS_TOKEN_TTL', value: spec.tokens.accessTTLSeconds, byDefault: DEFAULT_ACCESS_TTL_SECONDS },
    { env: 'OPENPDS_REFRESH_TOKEN_TTL', value: spec.tokens.refreshTTLSeconds, byDefault: DEFAULT_REFRESH_TTL_SECONDS },
    { env: 'OPENPDS_DOWNLOAD_URL_TTL', value: spec.signedURLs.downloadTTLSeconds, byDefault: DEFAULT_DOWNLOAD_TTL_SECONDS },
    { env: 'OPENPDS_UPLOAD_URL_TTL', value: spec.signedURLs.uploadTTLSeconds, byDefault: DEFAULT_UPLOAD_TTL_SECONDS },
    { env: 'OPENPDS_UPLOAD_MAX_AGE', value: spec.uploads.maxAgeSeconds, byDefault: DEFAULT_UPLOAD_MAX_AGE_SECONDS },
    { env: 'OPENPDS_RAPID_UPLOAD_PROOF_V2', value: spec.uploads.rapidUpload.proofV2, byDefault: DEFAULT_RAPID_UPLOAD_PROOF_V2 },
    { env: 'OPENPDS_RAPID_UPLOAD_CHALLENGES_PER_HOUR', value: spec.uploads.rapidUpload.challengesPerHour, byDefault: DEFAULT_RAPID_UPLOAD_CHALLENGES_PER_HOUR },
    // Unset, or set to what the data plane derives from the upload URL lifetime: left out.
    { env: 'OPENPDS_GC_GRACE_SECONDS', value: spec.gc.graceSeconds ?? derivedGrace, byDefault: derivedGrace },
    { env: 'OPENPDS_GC_INTERVAL_SECONDS', value: spec.gc.intervalSeconds, byDefault: DEFAULT_GC_INTERVAL_SECONDS },
    { env: 'OPENPDS_MAX_CONNECTIONS', value: spec.apiServer.maxConnections ?? DEFAULT_MAX_CONNECTIONS, byDefault: DEFAULT_MAX_CONNECTIONS },
    ...(spec.database ? [{ env: 'OPENPDS_DB_STATEMENT_TIMEOUT_SECONDS', value: spec.database.statementTimeoutSeconds, byDefault: DEFAULT_DB_STATEMENT_TIMEOUT_SECONDS }] : []),
    ...(s3
      ? [
          { env: 'OPENPDS_S3_CONNECT_TIMEOUT_SECONDS', value: s3.connectTimeoutSeconds, byDefault: DEFAULT_S3_CONNECT_TIMEOUT_SECONDS },
          { env: 'OPENPDS_S3_IDLE_TIMEOUT_SECONDS', value: s3.idleTimeoutSeconds, byDefault: DEFAULT_S3_IDLE_TIMEOUT_SECONDS },
          { env: 'OPENPDS_DOWNLOAD_REDIRECT', value: s3.downloadRedirect, byDefault: DEFAULT_DOWNLOAD_REDIRECT },
        ]
      : []),
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
      ...(s.storage.s3 && {
        s3: {
          connectTimeoutSeconds: DEFAULT_S3_CONNECT_TIMEOUT_SECONDS,
          idleTimeoutSeconds: DEFAULT_S3_IDLE_TIMEOUT_SECONDS,
          downloadRedirect: DEFAULT_DOWNLOAD_REDIRECT,
          ...withS3Defaults(s.storage.s3),
        },
      }),
      ...(s.storage.volume && { volume: { size: '10Gi', ...s.storage.volume } }),
      ...(s.storage.hosting && { hosting: { scanIntervalSeconds: 300, ...withS3Defaults(s.storage.hosting) } }),
    },
    database: s.database && {
      ...(s.database.urlSecretRef && { urlSecretRef: { key: 'url', ...s.database.urlSecretRef } }),
      ...(s.database.cloudNativePG && { cloudNativePG: s.database.cloudNativePG }),
      statementTimeoutSeconds: s.database.statementTimeoutSeconds ?? DEFAULT_DB_STATEMENT_TIMEOUT_SECONDS,
    },
    apiServer: {
      // No CRD default: a fixed 2 broke the volume rule (at most 1 on a ReadWriteOnce disk) for the natural
      // `storage: {volume: {}}`, so the default depends on the storage.
      replicas: api.replicas ?? (s.storage.volume ? 1 : 2),
      // No CRD default either: unset is the data plane's `auto`, which depends on the pod's open-file limit.
      ...(api.maxConnections !== undefined && { maxConnections: api.maxConnections }),
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
    uploads: {
      maxAgeSeconds: s.uploads?.maxAgeSeconds ?? DEFAULT_UPLOAD_MAX_AGE_SECONDS,
      rapidUpload: { proofV2: DEFAULT_RAPID_UPLOAD_PROOF_V2, challengesPerHour: DEFAULT_RAPID_UPLOAD_CHALLENGES_PER_HOUR, ...s.uploads?.rapidUpload },
    },
    // graceSeconds stays unset when unset (no CRD default): gcGraceSecondsWhenUnset (config.ts) gives the one the data plane takes.
    gc: { intervalSeconds: DEFAULT_GC_INTERVAL_SECONDS, ...s.gc },
    alerts: { webhooks: (s.alerts?.webhooks ?? []).map((w) => (w.urlSecretRef ? { ...w, urlSecretRef: { key: 'url', ...w.urlSecretRef } } : w)) },
    monitoring: { labels: { ...s.monitoring?.labels } },
    upgrade: { policy: 'Automatic', allowNewerSchema: false, ...s.upgrade },
  };
}
