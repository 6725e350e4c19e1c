/**
 * The pod template shared by the API server and the workers: one image, the ConfigMap as env, secrets as
 * secretKeyRef env, a non-root read-only container, probes on the data plane's /healthz and /readyz.
 */
import { k8s } from 'cdk8s-plus-32';
import { DATA_DIR, HTTP_PORT, METRICS_PORT, RUN_AS_USER, type Component, type DomainContext } from './domain-context';
import type { Resources } from '../domain-types';

function secretEnv(name: string, secret: string, key: string): k8s.EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secret, key } } };
}

/** Env from Secrets: admin bootstrap, database URL, S3 keys. Order fixed for deterministic output. */
export function secretEnvVars(ctx: DomainContext): k8s.EnvVar[] {
  const { spec, names } = ctx;
  const env = [secretEnv('OPENPDS_ADMIN_PASSWORD', names.adminSecret, 'password'), secretEnv('OPENPDS_SECRET_KEY', names.adminSecret, 'secretKey')];
  const db = spec.database;
  if (db?.urlSecretRef) env.push(secretEnv('OPENPDS_DATABASE_URL', db.urlSecretRef.name, db.urlSecretRef.key ?? 'url'));
  // CloudNativePG writes a <cluster>-app Secret whose `uri` key is a postgresql:// URL of the app database.
  if (db?.cloudNativePG) env.push(secretEnv('OPENPDS_DATABASE_URL', `${db.cloudNativePG.clusterName}-app`, 'uri'));
  const creds = (spec.storage.s3 ?? spec.storage.hosting)?.credentialsSecretRef;
  if (creds) {
    env.push(secretEnv('OPENPDS_S3_ACCESS_KEY_ID', creds.name, creds.accessKeyIdKey ?? 'AWS_ACCESS_KEY_ID'));
    env.push(secretEnv('OPENPDS_S3_SECRET_ACCESS_KEY', creds.name, creds.secretAccessKeyKey ?? 'AWS_SECRET_ACCESS_KEY'));
  }
  return env;
}

function toResources(r: Resources): k8s.ResourceRequirements {
  const map = (m?: { cpu?: string | number; memory?: string | number }) => {
    if (!m) return undefined;
    const out: Record<string, k8s.Quantity> = {};
    for (const key of ['cpu', 'memory'] as const) {
      const v = m[key];
      if (v !== undefined) out[key] = typeof v === 'number' ? k8s.Quantity.fromNumber(v) : k8s.Quantity.fromString(v);
    }
    return out;
  };
  return { requests: map(r.requests), limits: map(r.limits) };
}

export interface PodOptions {
  component: Component;
  args: string[];
  resources: Resources;
  /** The Domain's ConfigMap (named by its content, config.chart.ts): a change of settings is a new pod template. */
  configMap: string;
  /**
   * Run `openpds migrate` in an init container first, for processes that do not migrate at start (the
   * workers): the pod then never runs on a schema older than its code. Migrations take an advisory lock,
   * so this and the API server's own start-up migration wait for each other and one finds nothing to do.
   */
  migrateFirst?: boolean;
}

export function podTemplate(ctx: DomainContext, opts: PodOptions): k8s.PodTemplateSpec {
  const http = k8s.IntOrString.fromString('http');
  // What the init container shares with the main one: image, settings, limits, hardening, scratch dirs.
  const base = {
    image: ctx.image,
    imagePullPolicy: ctx.spec.imagePullPolicy,
    envFrom: [{ configMapRef: { name: opts.configMap } }],
    env: secretEnvVars(ctx),
    // The same as the main container's, so the pod's requests (the larger of the two) do not grow.
    resources: toResources(opts.resources),
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [
      { name: 'data', mountPath: DATA_DIR },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  } satisfies Partial<k8s.Container>;
  return {
    metadata: { labels: ctx.labels(opts.component) },
    spec: {
      // The data plane never calls the Kubernetes API.
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 30,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: RUN_AS_USER,
        runAsGroup: RUN_AS_USER,
        fsGroup: RUN_AS_USER,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      // An init container has no probes: it runs to completion, and a failure (database unreachable past
      // OPENPDS_DB_START_TIMEOUT_SECONDS) restarts it with backoff, the pod never Ready meanwhile.
      ...(opts.migrateFirst && { initContainers: [{ name: 'migrate', args: ['migrate'], ...base }] }),
      containers: [
        {
          name: opts.component,
          ...base,
          args: opts.args,
          // Probes stay on http: OPENPDS_METRICS_PORT moves /metrics only.
          ports: [
            { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
            { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
          ],
          // Migrations run at start, so the first /healthz may come late: the startup probe allows 5 minutes.
          startupProbe: { httpGet: { path: '/healthz', port: http }, periodSeconds: 5, failureThreshold: 60 },
          livenessProbe: { httpGet: { path: '/healthz', port: http }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
          readinessProbe: { httpGet: { path: '/readyz', port: http }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 },
        },
      ],
      volumes: [
        // The data dir holds blobs and the embedded database on a volume; otherwise only scratch files.
        ctx.singlePod ? { name: 'data', persistentVolumeClaim: { claimName: ctx.names.data } } : { name: 'data', emptyDir: {} },
        { name: 'tmp', emptyDir: {} },
      ],
    },
  };
}
