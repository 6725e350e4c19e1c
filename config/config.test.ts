// config/ is what `kubectl apply -k config/` installs; no cluster runs here, so this checks what can be
// checked without one: the kustomization is complete, every object is schema-valid, and the operator's
// RBAC covers every kind its charts create, and no more than it needs.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { loadYamlDocs, REPO_ROOT } from '../crds/testing/crd-schema';
import { buildDomainChart } from '../operator/src/charts/domain.chart';
import { BOOTSTRAP, fullDomain, hostingDomain, quickstartDomain } from '../operator/src/charts/testing/domain-fixtures';
import { validateManifests } from '../operator/src/charts/testing/validate-k8s';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Files a kustomization pulls in, following folders that are kustomizations themselves. */
function kustomizationFiles(dir: string): string[] {
  const k = YAML.parse(fs.readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  return k.resources.flatMap((r) => {
    const full = path.join(dir, r);
    if (!fs.existsSync(full)) throw new Error(`${path.relative(REPO_ROOT, dir)}/kustomization.yaml lists missing ${r}`);
    return fs.statSync(full).isDirectory() ? kustomizationFiles(full) : [full];
  });
}

const CONFIG = __dirname;
const docs = loadYamlDocs(CONFIG).filter(({ file }) => !file.endsWith('kustomization.yaml'));
const clusterRole = docs.find(({ doc }) => doc.kind === 'ClusterRole')!.doc as unknown as { rules: Rule[] };
const role = docs.find(({ doc }) => doc.kind === 'Role')!.doc as unknown as { rules: Rule[] };

const allows = (rules: Rule[], group: string, resource: string, verb: string) =>
  rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));

test('the kustomization lists files that exist, and every file in config/ is listed', () => {
  const listed = kustomizationFiles(CONFIG).map((f) => path.relative(REPO_ROOT, f));
  expect(listed).toEqual(expect.arrayContaining(['crds/openpds.io_domains.yaml', 'config/manager/deployment.yaml']));
  expect(new Set(listed)).toEqual(new Set([...docs.map((d) => d.file), ...loadYamlDocs(path.join(REPO_ROOT, 'crds')).filter(({ file }) => !file.endsWith('kustomization.yaml')).map((d) => d.file)]));
});

test('every object in config/ is valid against the Kubernetes schemas', () => {
  expect(validateManifests(docs.map((d) => d.doc)).filter((r) => r.error)).toEqual([]);
});

test('the ClusterRole covers every kind the Domain charts emit', () => {
  const RESOURCE: Record<string, string> = {
    ConfigMap: 'configmaps',
    Secret: 'secrets',
    PersistentVolumeClaim: 'persistentvolumeclaims',
    Service: 'services',
    Deployment: 'deployments',
    HorizontalPodAutoscaler: 'horizontalpodautoscalers',
    PodDisruptionBudget: 'poddisruptionbudgets',
    NetworkPolicy: 'networkpolicies',
    Ingress: 'ingresses',
    ServiceMonitor: 'servicemonitors',
    PrometheusRule: 'prometheusrules',
    AlertmanagerConfig: 'alertmanagerconfigs',
  };
  const emitted = new Map<string, string>();
  for (const d of [quickstartDomain(), hostingDomain(), fullDomain()]) {
    for (const m of buildDomainChart(d, { bootstrap: BOOTSTRAP })) emitted.set(m.kind, m.apiVersion.includes('/') ? m.apiVersion.split('/')[0]! : '');
  }
  const missing: string[] = [];
  for (const [kind, group] of emitted) {
    const resource = RESOURCE[kind];
    if (!resource) missing.push(`${kind}: unknown resource name`);
    // Server-side apply is a patch (create on first apply); pruning lists by label, then deletes.
    const verbs = ['get', 'list', 'watch', 'create', 'patch', ...(kind === 'PersistentVolumeClaim' ? [] : ['delete'])];
    for (const verb of verbs) if (!allows(clusterRole.rules, group, resource!, verb)) missing.push(`${verb} ${group}/${resource}`);
  }
  expect(missing).toEqual([]);
  // A data volume is never deleted by the operator: files outlive their Domain.
  expect(allows(clusterRole.rules, '', 'persistentvolumeclaims', 'delete')).toBe(false);
  // Nothing the operator does not create: RBAC grants only the groups above, no wildcards.
  const groups = new Set(clusterRole.rules.flatMap((r) => r.apiGroups));
  expect([...groups].sort()).toEqual(['', 'apps', 'autoscaling', 'events.k8s.io', 'monitoring.coreos.com', 'networking.k8s.io', 'openpds.io', 'policy']);
  expect(JSON.stringify(clusterRole.rules)).not.toContain('*');
});

test('the operator can watch its kinds and write status and finalizers, Events, and its Lease', () => {
  for (const kind of ['domains', 'drives', 'oauthapps', 'usersystems']) {
    for (const verb of ['get', 'list', 'watch', 'patch']) expect([kind, verb, allows(clusterRole.rules, 'openpds.io', kind, verb)]).toEqual([kind, verb, true]);
    expect(allows(clusterRole.rules, 'openpds.io', `${kind}/status`, 'patch')).toBe(true);
    expect(allows(clusterRole.rules, 'openpds.io', `${kind}/finalizers`, 'update')).toBe(true);
    // It never creates or deletes the users' own resources.
    expect(allows(clusterRole.rules, 'openpds.io', kind, 'create') || allows(clusterRole.rules, 'openpds.io', kind, 'delete')).toBe(false);
  }
  expect(allows(clusterRole.rules, '', 'events', 'create')).toBe(true);
  expect(allows(clusterRole.rules, 'coordination.k8s.io', 'leases', 'update')).toBe(false);
  for (const verb of ['get', 'create', 'update']) expect(allows(role.rules, 'coordination.k8s.io', 'leases', verb)).toBe(true);
});

test('bindings point at the ServiceAccount in the namespace the kustomization installs into', () => {
  const k = YAML.parse(fs.readFileSync(path.join(CONFIG, 'kustomization.yaml'), 'utf8')) as { namespace: string };
  const sa = docs.find(({ doc }) => doc.kind === 'ServiceAccount')!.doc as { metadata: { name: string } };
  for (const { doc } of docs.filter(({ doc }) => doc.kind === 'ClusterRoleBinding' || doc.kind === 'RoleBinding')) {
    expect((doc as { subjects: unknown[] }).subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: k.namespace }]);
  }
  const deployment = docs.find(({ doc }) => doc.kind === 'Deployment')!.doc as any;
  expect(deployment.spec.template.spec.serviceAccountName).toBe(sa.metadata.name);
  expect(deployment.spec.template.spec.containers[0].args[0]).toBe('operator');
});
