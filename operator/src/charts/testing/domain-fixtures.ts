/** Domains the chart tests build: the two examples as a cluster would hand them over, and one using every option. */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { Domain } from '../../domain-types';

const EXAMPLES = path.resolve(__dirname, '../../../../examples');

function fromExample(file: string, uid: string): Domain {
  const domain = YAML.parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8')) as Domain;
  return { ...domain, metadata: { ...domain.metadata, namespace: 'openpds', uid, generation: 3 } };
}

export const BOOTSTRAP = { adminPassword: 'test-admin-password', secretKey: 'k'.repeat(48) };

export const quickstartDomain = (): Domain => fromExample('quickstart/domain.yaml', '00000000-0000-4000-8000-000000000001');
export const hostingDomain = (): Domain => fromExample('hosting/domain.yaml', '00000000-0000-4000-8000-000000000002');

export const fullDomain = (): Domain => ({
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Domain',
  metadata: { name: 'acme', namespace: 'tenants', uid: '00000000-0000-4000-8000-000000000003', generation: 7 },
  spec: {
    domainId: 'acme-prod',
    image: 'registry.example.com/openpds/openpds:1.2.3',
    storage: {
      mode: 'standard',
      s3: {
        endpoint: 'http://rgw.storage.svc:7480',
        bucket: 'openpds',
        prefix: 'acme/',
        forcePathStyle: true,
        credentialsSecretRef: { name: 'acme-s3' },
        connectTimeoutSeconds: 10,
        idleTimeoutSeconds: 120,
        downloadRedirect: false,
      },
    },
    database: { cloudNativePG: { clusterName: 'acme-pg' }, statementTimeoutSeconds: 60 },
    apiServer: { replicas: 3, maxConnections: 20_000, resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: 2, memory: '2Gi' } } },
    workers: { replicas: 4, concurrency: 4, autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 20, targetBacklogPerReplica: 25 } },
    imageAnalysis: { enabled: false },
    quotas: { defaultDriveSize: '50Gi', maxUsers: 500, maxFolderDepth: 100, maxFolderItems: 20_000 },
    ingress: { host: 'drive.acme.example', tlsSecretName: 'acme-tls', className: 'nginx', annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '0' } },
    trash: { retentionDays: 90 },
    tokens: { accessTTLSeconds: 900, refreshTTLSeconds: 604_800 },
    signedURLs: { downloadTTLSeconds: 300, uploadTTLSeconds: 14_400 },
    uploads: { maxAgeSeconds: 172_800, rapidUpload: { proofV2: true, challengesPerHour: 30 } },
    gc: { graceSeconds: 172_800, intervalSeconds: 1800 },
    alerts: { webhooks: [{ name: 'ops', url: 'https://hooks.acme.example/alert' }, { name: 'pager', urlSecretRef: { name: 'pager-url' } }] },
    upgrade: { policy: 'Manual', approvedImage: 'registry.example.com/openpds/openpds:1.2.2' },
  },
  status: { currentImage: 'registry.example.com/openpds/openpds:1.2.2' },
});

/** A copy of the spec `base` with `value` at the dotted `field` (objects on the way merged into, not replaced). */
export function withSpecField<T extends Record<string, unknown>>(base: T, field: string, value: unknown): T {
  const spec = structuredClone(base);
  const keys = field.split('.');
  let node: Record<string, unknown> = spec;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys[keys.length - 1]!] = value;
  return spec;
}
