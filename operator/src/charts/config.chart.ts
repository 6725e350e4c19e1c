/**
 * The data plane's configuration: a ConfigMap of OPENPDS_* variables (names from
 * api-server/src/config/config.ts), the bootstrap admin Secret, and the PersistentVolumeClaim of
 * storage.volume; the last two outlive their Domain. Secret values reach pods as secretKeyRef env (see pod.ts), never through the ConfigMap.
 *
 * The ConfigMap is named by a hash of its data (`<domain>-config-<hash>`) and immutable, as kustomize's
 * configMapGenerator does: pods read it whole at every container start (envFrom), so one edited in place
 * handed a pod of the old template that restarted mid-rollout (or while the rollout budget held its
 * Deployment back) the new settings under the old image. A new name is a new pod template, which rolls
 * the pods; the old ConfigMap stays until no Deployment of the Domain uses it and its rollout is done
 * (reconcilers/domain-config-maps.ts).
 */
import { createHash } from 'node:crypto';
import type { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-32';
import { DATA_DIR, HTTP_PORT, METRICS_PORT, type DomainContext } from './domain-context';
import { dataPlaneSettings } from './domain-defaults';
import { quantityToBytes } from './quantity';
import { storageClaimEnv } from './storage-claim';
import { compareCodeUnits } from '../code-unit-order';

/** Values of the admin Secret: generated once by the reconciler (crypto is its boundary), then re-read. */
export interface BootstrapCredentials {
  adminPassword: string;
  secretKey: string;
}

export function domainEnv(ctx: DomainContext): Record<string, string> {
  const { spec } = ctx;
  const bucket = spec.storage.s3 ?? spec.storage.hosting;
  const env: Record<string, string> = {
    OPENPDS_DOMAIN_ID: spec.domainId,
    OPENPDS_HOST: '0.0.0.0',
    OPENPDS_PORT: String(HTTP_PORT),
    // /metrics only there (the http port answers 404 for it): `serve` and `worker` alike read this ConfigMap.
    OPENPDS_METRICS_PORT: String(METRICS_PORT),
    OPENPDS_PUBLIC_URL: ctx.publicUrl,
    OPENPDS_DATA_DIR: DATA_DIR,
    OPENPDS_LOG_LEVEL: spec.logLevel,
    OPENPDS_STORAGE: spec.storage.mode === 'hosting' ? 'hosting' : spec.storage.s3 ? 's3' : 'local',
    OPENPDS_DEFAULT_DRIVE_SIZE: String(quantityToBytes(spec.quotas.defaultDriveSize)),
    OPENPDS_MAX_USERS: String(spec.quotas.maxUsers),
    OPENPDS_TRASH_RETENTION_DAYS: String(spec.trash.retentionDays),
    OPENPDS_IMAGE_ANALYSIS: String(spec.imageAnalysis.enabled),
    // With a worker Deployment the API server must not also run jobs; on a volume it is the only pod.
    OPENPDS_SERVE_RUNS_JOBS: String(ctx.singlePod),
    OPENPDS_JOB_CONCURRENCY: String(spec.workers.concurrency),
    // Clients reach the pods through an ingress controller or a Service, from private addresses: their
    // X-Forwarded-For names the client the login throttle counts (the data plane's default trusts loopback only).
    OPENPDS_TRUST_PROXY: 'loopback, linklocal, uniquelocal',
  };
  if (bucket) {
    if (bucket.endpoint) env.OPENPDS_S3_ENDPOINT = bucket.endpoint;
    env.OPENPDS_S3_REGION = bucket.region ?? 'us-east-1';
    env.OPENPDS_S3_BUCKET = bucket.bucket;
    env.OPENPDS_S3_PREFIX = bucket.prefix ?? '';
    env.OPENPDS_S3_FORCE_PATH_STYLE = String(bucket.forcePathStyle ?? false);
  }
  // Only when asked for: a new key in every Domain's ConfigMap would roll every data plane for nothing.
  if (spec.upgrade.allowNewerSchema) env.OPENPDS_ALLOW_NEWER_SCHEMA = 'true';
  // Likewise for these: every stored Domain has the CRD's default, the data plane's own default too (or, for
  // the fields without a CRD default, gc.graceSeconds and apiServer.maxConnections, nothing set: the data plane
  // derives the same value itself).
  for (const { env: name, value, byDefault } of dataPlaneSettings(spec)) if (value !== byDefault) env[name] = String(value);
  // Asked for by annotation, for a takeover only (storage-claim.ts); a changed value rolls the pods, as any variable does.
  Object.assign(env, storageClaimEnv(ctx.domain));
  if (spec.storage.hosting) env.OPENPDS_HOSTING_SCAN_INTERVAL_SECONDS = String(spec.storage.hosting.scanIntervalSeconds ?? 300);
  return sortedEntries(env);
}

/**
 * By UTF-16 code unit, not localeCompare: the order is part of the ConfigMap's name (its hash), and a
 * collation follows the process's locale, so two operator replicas with another LANG would flip the
 * name and roll every data plane at each change of leader.
 */
const sortedEntries = (env: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(env).sort(([a], [b]) => compareCodeUnits(a, b)));

/** The ConfigMap's name for these values: `<domain>-config-` and 10 hex digits of sha256 of their JSON (sorted keys). */
export function configMapName(ctx: DomainContext, env: Record<string, string>): string {
  return `${ctx.names.config}-${createHash('sha256').update(JSON.stringify(env)).digest('hex').slice(0, 10)}`;
}

function base64Values(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
}

/**
 * On the objects kept after their Domain: the operator's own mark, and Argo CD's: never prune it, and do not
 * count it as out of sync when an Application tracks it anyway (keptLabels says why it should not).
 */
const KEPT_ANNOTATIONS = {
  'argocd.argoproj.io/compare-options': 'IgnoreExtraneous',
  'argocd.argoproj.io/sync-options': 'Prune=false',
  'openpds.io/retain-on-delete': 'true',
};

/**
 * Adds the ConfigMap, the admin Secret and the data volume's claim; returns the ConfigMap's name, which the
 * pods' envFrom names. `extraEnv`: variables a newer operator would add (a test hook, DomainChartOptions).
 */
export function addConfig(chart: Chart, ctx: DomainContext, bootstrap: BootstrapCredentials, extraEnv: Record<string, string> = {}): string {
  const env = sortedEntries({ ...domainEnv(ctx), ...extraEnv });
  const name = configMapName(ctx, env);
  new k8s.KubeConfigMap(chart, 'config', {
    metadata: { name, labels: ctx.labels('config') },
    // The name says what it holds: an edit by hand (which would reach only pods started after it) is refused.
    immutable: true,
    data: env,
  });
  new k8s.KubeSecret(chart, 'admin', {
    metadata: {
      name: ctx.names.adminSecret,
      labels: ctx.keptLabels('config'),
      // Kept with the data (no ownerReference, domain.chart.ts): the data plane creates its superadmin only
      // once, so a Domain re-created with new credentials would be locked out of the data it keeps.
      annotations: KEPT_ANNOTATIONS,
    },
    type: 'Opaque',
    // data, not stringData: stringData is write-only and merged by the API server, so server-side apply
    // and Argo CD diffs would never see it settle.
    data: base64Values({ username: 'admin', password: bootstrap.adminPassword, secretKey: bootstrap.secretKey, url: ctx.publicUrl }),
  });
  const volume = ctx.spec.storage.volume;
  if (volume) {
    new k8s.KubePersistentVolumeClaim(chart, 'data', {
      metadata: {
        name: ctx.names.data,
        labels: ctx.keptLabels('data'),
        // Files outlive their Domain: this claim gets no ownerReference (domain.chart.ts), like a StatefulSet's.
        annotations: KEPT_ANNOTATIONS,
      },
      spec: {
        accessModes: ['ReadWriteOnce'],
        ...(volume.storageClassName && { storageClassName: volume.storageClassName }),
        resources: { requests: { storage: k8s.Quantity.fromString(volume.size ?? '10Gi') } },
      },
    });
  }
  return name;
}
