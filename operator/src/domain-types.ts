/**
 * TypeScript shapes of the four openpds.io/v1alpha1 kinds, kept by hand in step with crds/*.yaml
 * (crds/crds.test.ts checks the examples against the schemas; these types are what the charts and
 * reconcilers read). Fields the schema defaults are still optional here: a CR read from a cluster has
 * them, but one built in a test or by `openpds up` may not, so readers apply the same defaults.
 */

export const API_GROUP = 'openpds.io';
export const API_VERSION = 'openpds.io/v1alpha1';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface SecretKeyRef {
  name: string;
  key?: string;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';
export type ConditionType = 'Ready' | 'Progressing' | 'Degraded' | 'Synced';

export interface Condition {
  type: ConditionType | string;
  status: ConditionStatus;
  reason: string;
  message?: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface CommonStatus {
  observedGeneration?: number;
  conditions?: Condition[];
}

// ---- Domain ----------------------------------------------------------------------------------

export type Quantity = string | number;
export interface Resources {
  requests?: { cpu?: Quantity; memory?: Quantity };
  limits?: { cpu?: Quantity; memory?: Quantity };
}

export interface S3Location {
  endpoint?: string;
  region?: string;
  bucket: string;
  prefix?: string;
  forcePathStyle?: boolean;
  credentialsSecretRef?: { name: string; accessKeyIdKey?: string; secretAccessKeyKey?: string };
}

/** Standard mode's bucket, with the data plane's S3 client settings (hosting mode has none: no data plane runs it yet). */
export interface StandardS3 extends S3Location {
  connectTimeoutSeconds?: number;
  idleTimeoutSeconds?: number;
  downloadRedirect?: boolean;
}

export interface DomainStorage {
  mode?: 'standard' | 'hosting';
  s3?: StandardS3;
  volume?: { size?: string; storageClassName?: string };
  hosting?: S3Location & { scanIntervalSeconds?: number };
}

export interface DomainDatabase {
  urlSecretRef?: SecretKeyRef;
  cloudNativePG?: { clusterName: string };
  statementTimeoutSeconds?: number;
}

export interface Autoscaling {
  enabled?: boolean;
  minReplicas?: number;
  maxReplicas?: number;
}

export interface DomainSpec {
  domainId?: string;
  image?: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  storage: DomainStorage;
  database?: DomainDatabase;
  apiServer?: {
    replicas?: number;
    /** Absent: the data plane's `auto` (no CRD default). */
    maxConnections?: number;
    resources?: Resources;
    autoscaling?: Autoscaling & { targetCPUUtilizationPercentage?: number };
  };
  workers?: {
    replicas?: number;
    concurrency?: number;
    resources?: Resources;
    autoscaling?: Autoscaling & { targetBacklogPerReplica?: number };
  };
  imageAnalysis?: { enabled?: boolean };
  quotas?: { defaultDriveSize?: string; maxUsers?: number; maxFolderDepth?: number; maxFolderItems?: number };
  ingress?: { host: string; tlsSecretName?: string; className?: string; annotations?: Record<string, string> };
  trash?: { retentionDays?: number };
  tokens?: { accessTTLSeconds?: number; refreshTTLSeconds?: number };
  signedURLs?: { downloadTTLSeconds?: number; uploadTTLSeconds?: number };
  uploads?: { maxAgeSeconds?: number; rapidUpload?: { proofV2?: boolean; challengesPerHour?: number } };
  /** graceSeconds has no CRD default: absent, the data plane derives it from signedURLs.uploadTTLSeconds. */
  gc?: { graceSeconds?: number; intervalSeconds?: number };
  alerts?: { webhooks?: AlertWebhook[] };
  /** Labels for the monitoring objects, for a Prometheus that selects them by label (kube-prometheus-stack: `release`). */
  monitoring?: { labels?: Record<string, string> };
  upgrade?: { policy?: 'Automatic' | 'Manual'; approvedImage?: string; allowNewerSchema?: boolean };
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
}

export interface AlertWebhook {
  name: string;
  url?: string;
  urlSecretRef?: SecretKeyRef;
}

export interface DomainStatus extends CommonStatus {
  domainId?: string;
  endpoint?: string;
  url?: string;
  adminSecretRef?: { name: string };
  readyReplicas?: number;
  workerReadyReplicas?: number;
  currentImage?: string;
  /** The S3 keyspace last applied (domain-preflight.ts); absent on a volume. */
  storage?: { endpoint: string; bucket: string; prefix: string };
  usage?: DomainUsageStatus;
  /** When the data plane took its blob store over for openpds.io/storage-claim=takeover (charts/storage-claim.ts); null clears it. */
  storageClaim?: { takenOverAt: string } | null;
}

/** What the domain holds, from its admin API (/v2/domain/get); sizes also as quantities for printer columns. */
export interface DomainUsageStatus {
  users: number;
  drives: number;
  usedBytes: number;
  usedSize: string;
  /** Sum of the quotas drives have; unlimitedDrives are not in it. */
  quotaBytes: number;
  quotaSize: string;
  unlimitedDrives: number;
  /** RFC 3339: when these figures were last written (changed, or confirmed at most hourly). */
  observedAt: string;
}

export interface Domain {
  apiVersion: typeof API_VERSION;
  kind: 'Domain';
  metadata: ObjectMeta;
  spec: DomainSpec;
  status?: DomainStatus;
}

// ---- UserSystem ------------------------------------------------------------------------------

export interface DomainRef {
  name: string;
}

export interface UserSystemSpec {
  domainRef: DomainRef;
  type: 'builtin' | 'customJWT' | 'oidc';
  displayName?: string;
  enabled?: boolean;
  builtin?: { allowSignup?: boolean; passwordMinLength?: number; verification?: 'none' | 'email' | 'sms' };
  customJWT?: { issuer: string; audience?: string; publicKey?: string; jwksUrl?: string; algorithms?: string[]; subjectClaim?: string };
  oidc?: {
    issuer: string;
    clientId: string;
    clientSecretRef: SecretKeyRef;
    scopes?: string[];
    claimMapping?: { userId?: string; email?: string; displayName?: string; groups?: string };
  };
}

export interface UserSystem {
  apiVersion: typeof API_VERSION;
  kind: 'UserSystem';
  metadata: ObjectMeta;
  spec: UserSystemSpec;
  status?: CommonStatus & { userSystemId?: string };
}

// ---- OAuthApp --------------------------------------------------------------------------------

export interface OAuthAppSpec {
  domainRef: DomainRef;
  displayName?: string;
  type: 'web' | 'spa' | 'native' | 'server';
  redirectUris?: string[];
  scopes?: string[];
  policy?: 'Allow' | 'Deny';
  credentialsSecretName?: string;
}

export interface OAuthApp {
  apiVersion: typeof API_VERSION;
  kind: 'OAuthApp';
  metadata: ObjectMeta;
  spec: OAuthAppSpec;
  status?: CommonStatus & { clientId?: string; credentialsSecretRef?: { name: string } };
}

// ---- Drive -----------------------------------------------------------------------------------

export interface DriveSpec {
  domainRef: DomainRef;
  owner: { kind: 'User' | 'Group'; name: string };
  name?: string;
  description?: string;
  quota?: { totalSize?: string };
  reclaimPolicy?: 'Retain' | 'Delete';
}

export interface DriveStatus extends CommonStatus {
  driveId?: string;
  usedSize?: string;
  totalSize?: string;
  usedBytes?: number;
  totalBytes?: number;
}

export interface Drive {
  apiVersion: typeof API_VERSION;
  kind: 'Drive';
  metadata: ObjectMeta;
  spec: DriveSpec;
  status?: DriveStatus;
}
