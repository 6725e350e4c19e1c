import YAML from 'yaml';
import { schemaOf } from '../../../crds/testing/crd-schema';
import { buildDomainChart, referencedSecretKeys, type Manifest } from './domain.chart';
import { createDomainContext, GENERATION_LABEL } from './domain-context';
import { BOOTSTRAP, fullDomain, hostingDomain, quickstartDomain } from './testing/domain-fixtures';
import { validateManifests } from './testing/validate-k8s';
import type { MonitoringOption } from './monitoring.chart';

/** The CRD's rules on metadata.name (at the root of the Domain schema). */
const domainNameRules = () => (schemaOf('Domain')['x-kubernetes-validations'] ?? []).map((v) => v.rule).filter((r) => r.includes('metadata.name'));
const build = (domain = quickstartDomain()) => buildDomainChart(domain, { bootstrap: BOOTSTRAP });
const find = (ms: Manifest[], kind: string, name?: string) => ms.find((m) => m.kind === kind && (!name || m.metadata.name === name));
const kinds = (ms: Manifest[]) => ms.map((m) => `${m.kind}/${m.metadata.name}`);
const cases = [
  ['quickstart (volume)', quickstartDomain],
  ['hosting', hostingDomain],
  ['standard s3, every option', fullDomain],
] as const;

describe.each(cases)('%s', (_name, fixture) => {
  const manifests = build(fixture());
  const withoutMonitoring = buildDomainChart(fixture(), { bootstrap: BOOTSTRAP, monitoring: false });

  test('matches the snapshot', () => {
    // YAML reads like what `kubectl get -o yaml` shows, so snapshot reviews are reviews of real objects.
    expect(manifests.map((m) => YAML.stringify(m)).join('---\n')).toMatchSnapshot();
  });

  test('every manifest is valid against the Kubernetes OpenAPI schemas', () => {
    expect(validateManifests(manifests).filter((r) => r.error)).toEqual([]);
  });

  test('is deterministic', () => {
    expect(JSON.stringify(build(fixture()))).toBe(JSON.stringify(manifests));
  });

  test('labels, namespace and owner references on every object', () => {
    const domain = fixture();
    for (const m of manifests) {
      expect(m.metadata.namespace).toBe(domain.metadata.namespace);
      // The data volume's claim and the admin Secret outlive the Domain: the kept data answers to those credentials.
      const retained = m.kind === 'PersistentVolumeClaim' || (m.kind === 'Secret' && m.metadata.name === `${domain.metadata.name}-admin`);
      expect(m.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': 'openpds',
        'app.kubernetes.io/managed-by': 'openpds-operator',
        [GENERATION_LABEL]: String(domain.metadata.generation),
      });
      // Argo CD's tracking label only on owned objects (an Application named like the Domain would prune the kept ones).
      expect(m.metadata.labels?.['app.kubernetes.io/instance']).toBe(retained ? undefined : domain.metadata.name);
      if (retained) expect(m.metadata.annotations?.['argocd.argoproj.io/sync-options']).toBe('Prune=false');
      const expected = retained ? undefined : [expect.objectContaining({ kind: 'Domain', uid: domain.metadata.uid, controller: true })];
      expect(m.metadata.ownerReferences).toEqual(expected);
      expect(m.metadata.annotations?.['openpds.io/retain-on-delete']).toBe(retained ? 'true' : undefined);
    }
  });

  test.each([true, false])('referencedSecretKeys names every Secret key the manifests read but the admin Secret (monitoring %s)', (monitoring) => {
    const domain = fixture();
    const read = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) return v.forEach(walk);
      if (!v || typeof v !== 'object') return;
      const o = v as Record<string, unknown>;
      for (const field of ['secretKeyRef', 'urlSecret']) {
        const ref = o[field] as { name: string; key: string } | undefined;
        if (ref && ref.name !== `${domain.metadata.name}-admin`) read.add(`${ref.name}/${ref.key}`);
      }
      Object.values(o).forEach(walk);
    };
    walk(monitoring ? manifests : withoutMonitoring);
    expect(referencedSecretKeys(createDomainContext(domain), { monitoring }).map((u) => `${u.secret}/${u.key}`)).toEqual([...read].sort());
  });

  test('every Service name is a DNS-1035 label, and the CRD name limit is what the longest one allows', () => {
    const limit = Number(/size\(\) <= (\d+)/.exec(domainNameRules().join(' '))![1]);
    const d = fixture();
    d.metadata.name = `a${'b'.repeat(limit - 1)}`;
    // Services are the tightest (63, a DNS-1035 label); the ConfigMap's name is longer, up to 253 allowed.
    const longest = Math.max(...buildDomainChart(d, { bootstrap: BOOTSTRAP }).filter((m) => m.kind === 'Service').map((m) => m.metadata.name.length));
    for (const m of buildDomainChart(d, { bootstrap: BOOTSTRAP })) {
      if (m.kind === 'Service') expect(m.metadata.name).toMatch(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/);
      expect(m.metadata.name.length).toBeLessThanOrEqual(253);
    }
    // The names' longest suffix, -worker-metrics, exists only with workers: the limit is tight there.
    if (!createDomainContext(d).singlePod) expect(longest).toBe(63);
  });

  test('pods run as non-root with a read-only root filesystem and probes', () => {
    for (const d of manifests.filter((m) => m.kind === 'Deployment') as any[]) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
      const [c] = pod.containers;
      expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      expect(c.envFrom).toEqual([{ configMapRef: { name: configMapName(manifests) } }]);
    }
  });
});

/** The chart's ConfigMap's name (one per chart). */
const configMapName = (ms: Manifest[]): string => ms.find((m) => m.kind === 'ConfigMap')!.metadata.name;

test('quickstart: one API server pod on the volume, in-process workers, no HPA or PDB', () => {
  const ms = build();
  expect(kinds(ms)).toEqual([
    expect.stringMatching(/^ConfigMap\/quickstart-config-[0-9a-f]{10}$/),
    'Secret/quickstart-admin',
    'PersistentVolumeClaim/quickstart-data',
    'Service/quickstart-api',
    'Deployment/quickstart-api',
    'NetworkPolicy/quickstart-api',
    'ServiceMonitor/quickstart',
    'PrometheusRule/quickstart',
  ]);
  const api = find(ms, 'Deployment') as any;
  expect(api.spec).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' } });
  expect(api.spec.template.spec.containers[0].args).toEqual(['serve']);
  expect(api.spec.template.spec.volumes[0]).toEqual({ name: 'data', persistentVolumeClaim: { claimName: 'quickstart-data' } });
  expect((find(ms, 'ConfigMap') as any).data).toMatchObject({
    OPENPDS_DOMAIN_ID: 'quickstart',
    OPENPDS_PORT: '8080',
    OPENPDS_STORAGE: 'local',
    OPENPDS_SERVE_RUNS_JOBS: 'true',
    OPENPDS_DEFAULT_DRIVE_SIZE: '10737418240',
  });
});

test('every option: S3 env, CloudNativePG URL, ingress, both HPAs, PDBs, webhooks, held-back image', () => {
  const ms = build(fullDomain());
  const config = (find(ms, 'ConfigMap') as any).data;
  expect(config).toMatchObject({
    OPENPDS_DOMAIN_ID: 'acme-prod',
    OPENPDS_STORAGE: 's3',
    OPENPDS_S3_BUCKET: 'openpds',
    OPENPDS_S3_PREFIX: 'acme/',
    OPENPDS_S3_FORCE_PATH_STYLE: 'true',
    OPENPDS_PUBLIC_URL: 'https://drive.acme.example',
    OPENPDS_SERVE_RUNS_JOBS: 'false',
    OPENPDS_IMAGE_ANALYSIS: 'false',
  });
  const api = find(ms, 'Deployment', 'acme-api') as any;
  const container = api.spec.template.spec.containers[0];
  // Manual upgrade policy and spec.image not approved: the running image stays.
  expect(container.image).toBe('registry.example.com/openpds/openpds:1.2.2');
  expect(container.env).toContainEqual({ name: 'OPENPDS_DATABASE_URL', valueFrom: { secretKeyRef: { name: 'acme-pg-app', key: 'uri' } } });
  expect(container.env).toContainEqual({ name: 'OPENPDS_S3_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'acme-s3', key: 'AWS_SECRET_ACCESS_KEY' } } });
  const workerHpa = find(ms, 'HorizontalPodAutoscaler', 'acme-worker') as any;
  // `domain` is the label the ServiceMonitor copies from the Services' openpds.io/domain: the Domain's name, not its domainId.
  expect(workerHpa.spec.metrics[0].external.metric).toEqual({ name: 'openpds_jobs_backlog', selector: { matchLabels: { domain: 'acme', namespace: 'tenants' } } });
  expect(find(ms, 'Deployment', 'acme-worker')!.spec).not.toHaveProperty('replicas');
  expect(find(ms, 'PodDisruptionBudget', 'acme-api')).toBeDefined();
  expect(find(ms, 'HorizontalPodAutoscaler', 'acme-api')).toBeUndefined();
  const amc = find(ms, 'AlertmanagerConfig') as any;
  expect(amc.spec.receivers[0].webhookConfigs).toEqual([
    { sendResolved: true, url: 'https://hooks.acme.example/alert' },
    { sendResolved: true, urlSecret: { key: 'url', name: 'pager-url' } },
  ]);
  const rules = (find(ms, 'PrometheusRule') as any).spec.groups[0].rules.map((r: { alert: string }) => r.alert);
  expect(rules).toEqual(['OpenPDSApiErrorRateHigh', 'OpenPDSApiLatencyHigh', 'OpenPDSJobBacklogOld', 'OpenPDSWorkerFailures', 'OpenPDSStorageErrors', 'OpenPDSDomainNotReady']);
});

test("OpenPDSDomainNotReady reads the operator's per-Domain Ready gauge, not the Deployments", () => {
  const rule = (find(build(fullDomain()), 'PrometheusRule') as any).spec.groups[0].rules.find((r: { alert: string }) => r.alert === 'OpenPDSDomainNotReady');
  // Any reason but Stopped (replicas 0 by spec), one value per Domain whichever operator pod exported it.
  expect(rule.expr).toBe('max by (namespace, domain) (openpds_operator_domain_ready{namespace="tenants",domain="acme",reason!="Stopped"}) < 1');
  expect(rule.expr).not.toMatch(/kube_deployment/);
  expect(rule.for).toBe('5m');
  expect(rule.labels).toEqual({ severity: 'critical', openpds_domain: 'acme' });
  // The reason is read when the alert is sent, not an alert label: a new reason must not restart `for:`.
  const reason = '{{ with query `max by (reason) (openpds_operator_domain_ready{namespace="tenants",domain="acme"})` }}{{ . | first | label "reason" }}{{ end }}';
  expect(rule.annotations.summary).toBe(`The Domain has not been Ready for 5 minutes (reason: ${reason})`);
  expect(rule.annotations.description).toContain(`Domain tenants/acme is not Ready (reason: ${reason})`);
});

test('apiServer.replicas 0 stops the workers too: no worker pods, no HPA to scale them back, no PDB', () => {
  const d = fullDomain();
  d.spec.apiServer = { ...d.spec.apiServer, replicas: 0 };
  const ms = build(d);
  expect((find(ms, 'Deployment', 'acme-api') as any).spec.replicas).toBe(0);
  expect((find(ms, 'Deployment', 'acme-worker') as any).spec.replicas).toBe(0);
  expect(find(ms, 'HorizontalPodAutoscaler', 'acme-worker')).toBeUndefined();
  expect(find(ms, 'PodDisruptionBudget', 'acme-worker')).toBeUndefined();
  expect(find(ms, 'PodDisruptionBudget', 'acme-api')).toBeUndefined();
  expect(validateManifests(ms).filter((r) => r.error)).toEqual([]);
});

test('approving the image rolls it out; a config change is a new ConfigMap, which the pods of both Deployments name', () => {
  const d = fullDomain();
  d.spec.upgrade = { policy: 'Manual', approvedImage: d.spec.image };
  const image = (ms: Manifest[]) => (find(ms, 'Deployment', 'acme-api') as any).spec.template.spec.containers[0].image;
  const envFrom = (ms: Manifest[], name: string) => (find(ms, 'Deployment', name) as any).spec.template.spec.containers[0].envFrom[0].configMapRef.name;
  const approved = build(d);
  expect(image(approved)).toBe('registry.example.com/openpds/openpds:1.2.3');
  d.spec.trash = { retentionDays: 7 };
  const edited = build(d);
  expect(configMapName(edited)).not.toBe(configMapName(approved));
  expect(find(edited, 'ConfigMap', configMapName(approved))).toBeUndefined();
  for (const deployment of ['acme-api', 'acme-worker']) expect(envFrom(edited, deployment)).toBe(configMapName(edited));
  // The workers' migrate init container reads the same settings.
  expect((find(edited, 'Deployment', 'acme-worker') as any).spec.template.spec.initContainers[0].envFrom).toEqual([{ configMapRef: { name: configMapName(edited) } }]);
});

test('the ConfigMap is named by its data and immutable: the same settings, the same name, whatever else changed', () => {
  const d = fullDomain();
  const first = build(d);
  const cm = find(first, 'ConfigMap', configMapName(first)) as Manifest & { data: Record<string, string>; immutable?: boolean };
  expect(cm.immutable).toBe(true);
  expect(cm.metadata.name).toMatch(/^acme-config-[0-9a-f]{10}$/);
  // A new generation, image or replica count is no new ConfigMap.
  d.metadata.generation = 9;
  d.spec.image = 'registry.example.com/openpds/openpds:1.2.4';
  d.spec.apiServer = { ...d.spec.apiServer, replicas: 5 };
  expect(configMapName(build(d))).toBe(cm.metadata.name);
  // Any variable more (a newer operator's setting) is.
  const newer = buildDomainChart(d, { bootstrap: BOOTSTRAP, configEnv: { OPENPDS_NEW_SETTING: '1' } });
  expect(configMapName(newer)).not.toBe(cm.metadata.name);
  expect((find(newer, 'ConfigMap', configMapName(newer)) as any).data).toEqual({ ...cm.data, OPENPDS_NEW_SETTING: '1' });
});

test('the ConfigMap\'s keys are in code-unit order, which no locale changes (the order is part of the name)', () => {
  // localeCompare puts A_B first (ICU sorts punctuation before letters): the name would follow LANG.
  const ms = buildDomainChart(fullDomain(), { bootstrap: BOOTSTRAP, configEnv: { OPENPDS_A_B: '1', OPENPDS_AB: '2' } });
  const keys = Object.keys((find(ms, 'ConfigMap', configMapName(ms)) as any).data);
  expect(keys.indexOf('OPENPDS_AB')).toBeLessThan(keys.indexOf('OPENPDS_A_B'));
  expect(keys).toEqual([...keys].sort());
});

test('without a uid (not yet created) nothing claims ownership; monitoring can be left out', () => {
  const d = quickstartDomain();
  delete d.metadata.uid;
  const ms = buildDomainChart(d, { bootstrap: BOOTSTRAP, monitoring: false });
  expect(ms.every((m) => m.metadata.ownerReferences === undefined)).toBe(true);
  expect(ms.some((m) => m.kind === 'ServiceMonitor')).toBe(false);
});

test('referencedSecretKeys: S3 keys (defaults or renamed), the database URL, CloudNativePG\'s app Secret, webhook URLs', () => {
  expect(referencedSecretKeys(createDomainContext(fullDomain()))).toEqual([
    { secret: 'acme-pg-app', key: 'uri', readBy: 'OPENPDS_DATABASE_URL' },
    { secret: 'acme-s3', key: 'AWS_ACCESS_KEY_ID', readBy: 'OPENPDS_S3_ACCESS_KEY_ID' },
    { secret: 'acme-s3', key: 'AWS_SECRET_ACCESS_KEY', readBy: 'OPENPDS_S3_SECRET_ACCESS_KEY' },
    { secret: 'pager-url', key: 'url', readBy: 'alert webhook pager' },
  ]);
  const d = fullDomain();
  d.spec.storage.s3!.credentialsSecretRef = { name: 'keys', accessKeyIdKey: 'id', secretAccessKeyKey: 'secret' };
  d.spec.database = { urlSecretRef: { name: 'db' } };
  d.spec.alerts = {};
  expect(referencedSecretKeys(createDomainContext(d))).toEqual([
    { secret: 'db', key: 'url', readBy: 'OPENPDS_DATABASE_URL' },
    { secret: 'keys', key: 'id', readBy: 'OPENPDS_S3_ACCESS_KEY_ID' },
    { secret: 'keys', key: 'secret', readBy: 'OPENPDS_S3_SECRET_ACCESS_KEY' },
  ]);
  // The quickstart reads no Secret but the operator's own admin Secret.
  expect(referencedSecretKeys(createDomainContext(quickstartDomain()))).toEqual([]);
});

test('referencedSecretKeys: without monitoring no webhook is rendered, so its Secret is not required', () => {
  const ctx = createDomainContext(fullDomain());
  expect(referencedSecretKeys(ctx, { monitoring: false }).map((u) => u.readBy)).not.toContain('alert webhook pager');
  expect(referencedSecretKeys(ctx, { monitoring: true }).map((u) => u.readBy)).toContain('alert webhook pager');
  // The default is the chart's: monitoring rendered.
  expect(referencedSecretKeys(ctx)).toEqual(referencedSecretKeys(ctx, { monitoring: true }));
});

test('monitoring as the kinds a cluster serves: only those are rendered, and a webhook Secret only with its AlertmanagerConfig', () => {
  const kindsOf = (monitoring: MonitoringOption) => buildDomainChart(fullDomain(), { bootstrap: BOOTSTRAP, monitoring }).filter((m) => m.apiVersion.startsWith('monitoring.coreos.com/')).map((m) => m.kind);
  expect(kindsOf(['ServiceMonitor'])).toEqual(['ServiceMonitor']);
  expect(kindsOf(['ServiceMonitor', 'PrometheusRule']).sort()).toEqual(['PrometheusRule', 'ServiceMonitor']);
  expect(kindsOf([])).toEqual([]);
  expect(kindsOf(true).sort()).toEqual(['AlertmanagerConfig', 'PrometheusRule', 'ServiceMonitor']);
  const ctx = createDomainContext(fullDomain());
  expect(referencedSecretKeys(ctx, { monitoring: ['ServiceMonitor', 'PrometheusRule'] }).map((u) => u.readBy)).not.toContain('alert webhook pager');
  expect(referencedSecretKeys(ctx, { monitoring: ['AlertmanagerConfig'] }).map((u) => u.readBy)).toContain('alert webhook pager');
});

test('spec.monitoring.labels go on the ServiceMonitor, PrometheusRule and AlertmanagerConfig only, under the operator’s own', () => {
  const d = fullDomain();
  d.spec.monitoring = { labels: { release: 'kube-prometheus-stack', 'openpds.io/domain': 'not-this' } };
  const manifests = buildDomainChart(d, { bootstrap: BOOTSTRAP, monitoring: true });
  const monitoring = manifests.filter((m) => m.apiVersion.startsWith('monitoring.coreos.com/'));
  expect(monitoring.map((m) => m.kind).sort()).toEqual(['AlertmanagerConfig', 'PrometheusRule', 'ServiceMonitor']);
  for (const m of monitoring) expect(m.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack', 'openpds.io/domain': d.metadata.name });
  for (const m of manifests.filter((m) => !m.apiVersion.startsWith('monitoring.coreos.com/'))) expect(m.metadata.labels).not.toHaveProperty('release');
});

// localeCompare follows the process's locale: two operator replicas with another LANG listed the same
// missing Secret keys in another order (a status message that flaps at each change of leader), and
// sorted the manifests so too. Code-unit order is the same everywhere ('Z' before 'a').
test('referencedSecretKeys and the manifests are in code-unit order, whatever the locale', () => {
  const d = quickstartDomain();
  d.spec.alerts = { webhooks: [{ name: 'b', urlSecretRef: { name: 'hooks', key: 'alpha' } }, { name: 'a', urlSecretRef: { name: 'hooks', key: 'Zeta' } }] };
  expect(referencedSecretKeys(createDomainContext(d), { monitoring: true }).map((u) => u.key)).toEqual(['Zeta', 'alpha']);
  const names = buildDomainChart(fullDomain(), { bootstrap: BOOTSTRAP }).map((m) => `${m.kind}/${m.metadata.name}`);
  const byKind = new Map<string, string[]>();
  for (const n of names) byKind.set(n.split('/')[0]!, [...(byKind.get(n.split('/')[0]!) ?? []), n]);
  for (const group of byKind.values()) expect(group).toEqual([...group].sort());
});
