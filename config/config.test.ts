// config/ is what `kubectl apply -k config/` installs; no cluster runs here, so this checks what can be
// checked without one: the kustomization is complete, every object is schema-valid, the operator's RBAC
// is exactly what its code uses, and the Lease namespace agrees with the Role's. test/operator/
// install.e2e.test.ts installs it with kubectl and runs the operator under that RBAC.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { VERSION } from '../api-server/src/version';
import { loadYamlDocs, REPO_ROOT } from '../crds/testing/crd-schema';
import { DEFAULT_IMAGE } from '../operator/src/charts/domain-defaults';
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

test("the operator's image is this release, the one a Domain deploys by default", () => {
  const deployment = docs.find(({ doc }) => doc.kind === 'Deployment')!.doc as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } };
  expect(deployment.spec.template.spec.containers.map((c) => c.image)).toEqual([`openpds/openpds:${VERSION}`]);
  expect(DEFAULT_IMAGE).toBe(`openpds/openpds:${VERSION}`);
});

test('every object in config/ is valid against the Kubernetes schemas', () => {
  expect(validateManifests(docs.map((d) => d.doc)).filter((r) => r.error)).toEqual([]);
});

/**
 * Every Kubernetes call in operator/src, by resource, derived by reading the code (update it with the
 * code; the ClusterRole must equal it, so a verb the code stops using is dropped from RBAC too):
 * - main.ts + kube/controller.ts: a list + watch informer per controller kind (Domain, Drive), and the
 *   Domain controller's secondary informers on Deployments, Services, Ingresses, NetworkPolicies, PDBs and
 *   HPAs (list + watch, by label).
 * - reconcilers/drive.registration.ts: a second informer on Domains (list + watch) for their turn to
 *   Ready; GET of a Domain missing from the cache (find); list of Drives to wake; finalizers by merge
 *   patch (kube/finalizers.ts), and on a 409 a GET (find) of the object before the retry (Drives and
 *   Domains alike); status by merge patch on drives/status. Deferred drive deletions
 *   (drive-deferred-store.ts, drive-deferred-deletes.ts): an informer on ConfigMaps by label (list +
 *   watch), entries added by merge patch (create for the first), removed by merge patch, the empty
 *   ConfigMap deleted.
 * - reconcilers/domain.ts: finalizer and status patches; GET (find) of referenced Secrets and of the admin
 *   Secret, and of the Deployments when the watch cache is behind; list of Drives on deletion; the
 *   chart's objects by server-side apply (kube/apply.ts: PATCH, which creates the object the first
 *   time), pruned and deleted by listing PRUNABLE_KINDS (+ monitoring kinds) by label and DELETE; the data
 *   volume claim and the admin Secret are applied only (never in PRUNABLE_KINDS: both outlive the Domain,
 *   so Secrets are never listed or deleted). Before a Domain's first apply, every object of its chart
 *   is read with GET (domain-name-conflicts.ts: one of a child's name that is not its own is not taken
 *   over). The admin Secret is also read with GET by
 *   createDomainAccessResolver. Children carry blockOwnerDeletion owner references to their Domain:
 *   update on domains/finalizers (OwnerReferencesPermissionEnforcement).
 * - reconcilers/domain.ts (podReasons): a Domain waiting for its replicas past podDiagnosisAfterMs lists its
 *   components' pods by label (domain-pods.ts); never get, watch or anything else of pods.
 * - kube/events.ts: core/v1 Events, create then merge patch of the count (never events.k8s.io).
 * - kube/leader-election.ts (the Role): Lease get (find/get), create, update (replace); no list, watch or
 *   patch. main.ts's monitoring discovery is a non-resource GET (/apis/monitoring.coreos.com/v1).
 */
const USED: Record<string, string[]> = {
  'openpds.io/domains': ['get', 'list', 'watch', 'patch'],
  'openpds.io/drives': ['get', 'list', 'watch', 'patch'],
  'openpds.io/domains/status': ['patch'],
  'openpds.io/drives/status': ['patch'],
  'openpds.io/domains/finalizers': ['update'],
  '/secrets': ['get', 'create', 'patch'],
  '/configmaps': ['get', 'list', 'watch', 'create', 'patch', 'delete'],
  '/services': ['get', 'list', 'watch', 'create', 'patch', 'delete'],
  '/persistentvolumeclaims': ['get', 'create', 'patch'],
  '/pods': ['list'],
  'apps/deployments': ['get', 'list', 'watch', 'create', 'patch', 'delete'],
  'autoscaling/horizontalpodautoscalers': ['get', 'list', 'watch', 'create', 'patch', 'delete'],
  'policy/poddisruptionbudgets': ['get', 'list', 'watch', 'create', 'patch', 'delete'],
  'networking.k8s.io/ingresses': ['get', 'list', 'watch', 'create', 'patch', 'delete'],
  'networking.k8s.io/networkpolicies': ['get', 'list', 'watch', 'create', 'patch', 'delete'],
  'monitoring.coreos.com/servicemonitors': ['get', 'list', 'create', 'patch', 'delete'],
  'monitoring.coreos.com/prometheusrules': ['get', 'list', 'create', 'patch', 'delete'],
  'monitoring.coreos.com/alertmanagerconfigs': ['get', 'list', 'create', 'patch', 'delete'],
  '/events': ['create', 'patch'],
};
const LEASE_VERBS = ['get', 'create', 'update'];

/** group/resource → sorted verbs the rules grant. */
function granted(rules: Rule[]): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const r of rules) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) (out[`${g}/${res}`] ??= new Set()).add(v);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}
const sorted = (table: Record<string, string[]>) => Object.fromEntries(Object.entries(table).map(([k, v]) => [k, [...v].sort()]));

test('the ClusterRole grants exactly the verbs operator/src uses, no wildcards', () => {
  expect(granted(clusterRole.rules)).toEqual(sorted(USED));
  expect(JSON.stringify(clusterRole.rules)).not.toContain('*');
});

test('the Role grants exactly the Lease verbs leader-election.ts uses', () => {
  expect(granted(role.rules)).toEqual({ 'coordination.k8s.io/leases': [...LEASE_VERBS].sort() });
});

test('every kind the Domain charts emit can be applied, and all but the data volume and the admin Secret pruned', () => {
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
    for (const m of buildDomainChart(d, { bootstrap: BOOTSTRAP, monitoring: true })) emitted.set(m.kind, m.apiVersion.includes('/') ? m.apiVersion.split('/')[0]! : '');
  }
  const missing: string[] = [];
  for (const [kind, group] of emitted) {
    const resource = RESOURCE[kind];
    if (!resource) missing.push(`${kind}: unknown resource name`);
    // Both outlive their Domain (openpds.io/retain-on-delete): applied, never listed or deleted.
    const retained = kind === 'PersistentVolumeClaim' || kind === 'Secret';
    const verbs = ['create', 'patch', ...(retained ? [] : ['list', 'delete'])];
    for (const verb of verbs) if (!allows(clusterRole.rules, group, resource!, verb)) missing.push(`${verb} ${group}/${resource}`);
  }
  expect(missing).toEqual([]);
  expect([...emitted.keys()]).toEqual(expect.arrayContaining(['ServiceMonitor', 'PersistentVolumeClaim', 'Ingress']));
  // A data volume is never deleted by the operator: files outlive their Domain.
  expect(allows(clusterRole.rules, '', 'persistentvolumeclaims', 'delete')).toBe(false);
  // It never creates or deletes the users' own resources.
  for (const kind of ['domains', 'drives']) expect(allows(clusterRole.rules, 'openpds.io', kind, 'create') || allows(clusterRole.rules, 'openpds.io', kind, 'delete')).toBe(false);
});

test('the Lease namespace the Deployment gives the operator is the one its Role is installed in', () => {
  const k = YAML.parse(fs.readFileSync(path.join(CONFIG, 'kustomization.yaml'), 'utf8')) as { namespace: string };
  const deployment = docs.find(({ doc }) => doc.kind === 'Deployment')!.doc as any;
  const container = deployment.spec.template.spec.containers[0];
  expect(container.args).toContain('--leader-elect');
  // POD_NAMESPACE comes from the downward API: the namespace the Deployment runs in, which the
  // kustomization sets for every object, the Role and RoleBinding included (none sets its own).
  expect(container.env).toEqual(expect.arrayContaining([{ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }, { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]));
  expect(container.args.some((a: string) => a.startsWith('--leader-election-namespace') || a.startsWith('--namespace'))).toBe(false);
  for (const kind of ['Deployment', 'Role', 'RoleBinding']) expect([kind, (docs.find(({ doc }) => doc.kind === kind)!.doc as any).metadata.namespace]).toEqual([kind, undefined]);
  const binding = docs.find(({ doc }) => doc.kind === 'RoleBinding')!.doc as any;
  expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: (role as any).metadata.name });
  expect(k.namespace).toBe('openpds-system');
});

test('plain client-side apply fits: every object\'s last-applied-configuration stays far below the 256 KiB annotation limit', () => {
  const all = [...docs, ...loadYamlDocs(path.join(REPO_ROOT, 'crds')).filter(({ file }) => !file.endsWith('kustomization.yaml'))];
  // kubectl stores the object as compact JSON in one annotation; all annotations of an object share 256 KiB.
  const sizes = all.map(({ file, doc }) => [file, Buffer.byteLength(JSON.stringify(doc))] as const).sort((a, b) => b[1] - a[1]);
  expect(sizes[0]![0]).toBe('crds/openpds.io_domains.yaml');
  expect(sizes[0]![1]).toBeLessThan(64 * 1024); // 17.5 KiB today: a quarter of the limit leaves ample room
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

// Two replicas are for surviving a node: spread across nodes where there are several, and a drain evicts
// one at a time (session 25 review: both could land on one node and be evicted together).
test('the operator replicas spread across nodes and a PodDisruptionBudget lets one go at a time', () => {
  const deployment = docs.find(({ doc }) => doc.kind === 'Deployment')!.doc as any;
  const selector = deployment.spec.selector.matchLabels;
  expect(deployment.spec.template.spec.topologySpreadConstraints).toEqual([{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } }]);
  const pdb = docs.find(({ doc }) => doc.kind === 'PodDisruptionBudget')!.doc as any;
  expect([pdb.spec.selector.matchLabels, pdb.spec.maxUnavailable, pdb.metadata.namespace]).toEqual([selector, 1, undefined]);
  expect(deployment.spec.replicas).toBeGreaterThan(pdb.spec.maxUnavailable);
});
