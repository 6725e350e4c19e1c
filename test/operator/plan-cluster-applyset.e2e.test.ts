/**
 * `openpds plan/apply --set NAME` as an apply set (kubectl's ApplySet, KEP-3659), against the Kubernetes
 * API test server: two folders of the same name in different sets never prune each other; without a set
 * nothing is deleted; a ConfigMap of the parent's name that is no openpds parent stops the run; a CRD and
 * objects of its kind in one folder plan as creates and apply in one run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runApplyCommand, runPlanCommand } from '../../operator/src/local/plan-command';
import { startTestKube, type TestKube } from './support/kube';

const ROOT = path.join(__dirname, '../..');
const NS = 'apps';

const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: ${NS}}\ndata: {owner: ${name}}\n`;

describe('openpds plan / apply with an apply set', () => {
  let kube: TestKube;

  beforeAll(async () => {
    kube = await startTestKube();
    await kube.createNamespace(NS);
  });
  afterAll(async () => {
    await kube?.close();
  });

  /** A folder `<parent>/<name>` holding the given files. */
  function folder(parent: string, name: string, files: Record<string, string>): string {
    const dir = path.join(kube.dir, parent, name);
    fs.mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
    return dir;
  }
  async function cli(command: typeof runPlanCommand, dir: string, ...extra: string[]) {
    const lines: string[] = [];
    const code = await command(['-f', dir, '--kubeconfig', kube.kubeconfig, '-n', NS, ...extra], { out: (l) => lines.push(l), err: (l) => lines.push(l), env: {} });
    // The target line comes first; the plan is the rest.
    expect(lines[0]).toMatch(/^Target: cluster /);
    return { code, lines: lines.slice(1) };
  }
  const configMapNamed = (name: string) => kube.client.find({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name });

  it('two folders named prod applied as different sets never prune each other', async () => {
    const a = folder('team-a', 'prod', { 'one.yaml': configMap('a-one'), 'two.yaml': configMap('a-two') });
    const b = folder('team-b', 'prod', { 'one.yaml': configMap('b-one') });
    expect((await cli(runApplyCommand, a, '--set', 'team-a-prod')).code).toBe(0);
    expect((await cli(runApplyCommand, b, '--set', 'team-b-prod')).code).toBe(0);

    const parentA = await configMapNamed('openpds-applyset-team-a-prod');
    const parentB = await configMapNamed('openpds-applyset-team-b-prod');
    expect(parentA?.metadata?.labels?.['applyset.kubernetes.io/id']).not.toBe(parentB?.metadata?.labels?.['applyset.kubernetes.io/id']);
    expect((await configMapNamed('b-one'))?.metadata?.labels?.['applyset.kubernetes.io/part-of']).toBe(parentB?.metadata?.labels?.['applyset.kubernetes.io/id']);

    // Each apply sees only its own members: b-one is no a-* file, yet it is never a delete for team-a.
    fs.rmSync(path.join(a, 'two.yaml'));
    expect((await cli(runPlanCommand, a, '--set', 'team-a-prod')).lines).toEqual(['= unchanged ConfigMap apps/a-one', '- delete  ConfigMap apps/a-two', 'Plan: 0 to create, 0 to change, 1 to delete.']);
    expect((await cli(runApplyCommand, a, '--set', 'team-a-prod')).lines).toEqual(['= unchanged ConfigMap apps/a-one', '- deleted ConfigMap apps/a-two', 'Apply complete: 0 created, 0 changed, 1 deleted.']);
    expect((await cli(runApplyCommand, b, '--set', 'team-b-prod')).lines).toEqual(['= unchanged ConfigMap apps/b-one', 'Apply complete: 0 created, 0 changed, 0 deleted.']);
    expect(await configMapNamed('a-one')).toBeDefined();
    expect(await configMapNamed('a-two')).toBeUndefined();
    expect(await configMapNamed('b-one')).toBeDefined();
  });

  it('without --set nothing is deleted and one note says how to prune', async () => {
    const b = path.join(kube.dir, 'team-b', 'prod');
    fs.rmSync(path.join(b, 'one.yaml'));
    fs.writeFileSync(path.join(b, 'two.yaml'), configMap('b-two'));
    const note = (verb: string) => `  note: nothing is ${verb} without --set NAME (the apply set whose members that left DIR are pruned)`;
    const plan = await cli(runPlanCommand, b, '--detailed-exitcode');
    expect(plan.lines).toEqual(['+ create  ConfigMap apps/b-two', note('planned for deletion'), 'Plan: 1 to create, 0 to change, 0 to delete.']);
    expect(plan.code).toBe(2);
    const apply = await cli(runApplyCommand, b);
    expect(apply.lines).toEqual(['+ created ConfigMap apps/b-two', note('deleted'), 'Apply complete: 1 created, 0 changed, 0 deleted.']);
    expect(apply.code).toBe(0);
    expect(await configMapNamed('b-one')).toBeDefined();
    expect((await configMapNamed('b-two'))?.metadata?.labels).toBeUndefined();

    // The set, named again, prunes what left it meanwhile.
    expect((await cli(runApplyCommand, b, '--set', 'team-b-prod')).lines).toEqual(['~ updated ConfigMap apps/b-two', expect.stringContaining('applyset.kubernetes.io/part-of'), expect.stringContaining('openpds.io/apply-set'), '- deleted ConfigMap apps/b-one', 'Apply complete: 0 created, 1 changed, 1 deleted.']);
  });

  it('a folder that creates the parent\'s own namespace applies in one run, the parent written once the namespace is there', async () => {
    const dir = folder('own-ns', 'site', { 'all.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: {name: brand-new}\n---\n${configMap('inside').replace(`namespace: ${NS}`, 'namespace: brand-new')}` });
    const lines: string[] = [];
    const code = await runApplyCommand(['-f', dir, '--kubeconfig', kube.kubeconfig, '-n', 'brand-new', '--set', 'own'], { out: (l) => lines.push(l), err: (l) => lines.push(l), env: {} });
    expect(lines).toEqual([
      expect.stringMatching(/^Target: cluster .*, namespace brand-new \(-n\), apply set own \(parent brand-new\/openpds-applyset-own\)$/),'+ created Namespace brand-new', '+ created ConfigMap brand-new/inside', 'Apply complete: 2 created, 0 changed, 0 deleted.']);
    expect(code).toBe(0);
    const parent = await kube.client.find({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'brand-new', name: 'openpds-applyset-own' });
    expect(parent?.metadata?.annotations?.['applyset.kubernetes.io/contains-group-kinds']).toBe('ConfigMap,Namespace');
  });

  it('a ConfigMap of the parent\'s name that no openpds apply made is an error, and nothing is applied', async () => {
    await kube.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'openpds-applyset-squatted', namespace: NS }, data: { mine: 'yes' } });
    const dir = folder('squat', 'site', { 'one.yaml': configMap('squat-one') });
    const apply = await cli(runApplyCommand, dir, '--set', 'squatted');
    expect(apply.code).toBe(1);
    expect(apply.lines[0]).toMatch(/^! error {3}ConfigMap apps\/openpds-applyset-squatted: exists but is not the parent of openpds apply set squatted \(label applyset\.kubernetes\.io\/id=applyset-.+-v1/);
    expect(await configMapNamed('squat-one')).toBeUndefined();
    expect(await configMapNamed('openpds-applyset-squatted')).toMatchObject({ data: { mine: 'yes' } });
  });

  it('a CRD and objects of its kind in one folder: plan shows creates, apply applies the CRD first and waits for the kind', async () => {
    const crd = fs.readFileSync(path.join(ROOT, 'test/kube-api/fixtures/widget-crd.yaml'), 'utf8');
    const widget = fs.readFileSync(path.join(ROOT, 'test/kube-api/fixtures/widget.yaml'), 'utf8');
    const dir = folder('crd', 'widgets', { 'a-widget.yaml': widget, 'crd.yaml': crd });

    const plan = await cli(runPlanCommand, dir, '--set', 'widgets', '--detailed-exitcode');
    expect(plan.lines).toEqual([
      '+ create  Widget apps/sample (CRD widgets.contract.openpds.io in this plan; the server checks it on apply)',
      '+ create  CustomResourceDefinition widgets.contract.openpds.io',
      'Plan: 2 to create, 0 to change, 0 to delete.',
    ]);
    expect(plan.code).toBe(2);

    const apply = await cli(runApplyCommand, dir, '--set', 'widgets');
    expect(apply.lines).toEqual(['+ created Widget apps/sample', '+ created CustomResourceDefinition widgets.contract.openpds.io', 'Apply complete: 2 created, 0 changed, 0 deleted.']);
    expect(apply.code).toBe(0);
    // Stored with the CRD's defaults, a member of the set; the parent records both kinds.
    expect(await kube.client.request('GET', `/apis/contract.openpds.io/v1/namespaces/${NS}/widgets/sample`)).toMatchObject({ spec: { size: 'small', replicas: 1 }, metadata: { labels: { 'openpds.io/apply-set': 'widgets' } } });
    expect((await configMapNamed('openpds-applyset-widgets'))?.metadata?.annotations?.['applyset.kubernetes.io/contains-group-kinds']).toBe('CustomResourceDefinition.apiextensions.k8s.io,Widget.contract.openpds.io');
    expect((await cli(runPlanCommand, dir, '--set', 'widgets')).lines).toEqual(['= unchanged Widget apps/sample', '= unchanged CustomResourceDefinition widgets.contract.openpds.io', 'Plan: 0 to create, 0 to change, 0 to delete.']);
  });

  it('a CRD the server refuses: its objects are errors naming it, with the server\'s message, exit 1 and no stack trace', async () => {
    const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gizmos.wrong.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gizmos, singular: gizmo, kind: Gizmo}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`;
    const dir = folder('crd', 'gizmos', { 'crd.yaml': crd, 'gizmo.yaml': 'apiVersion: example.com/v1\nkind: Gizmo\nmetadata: {name: g}\n' });
    const plan = await cli(runPlanCommand, dir, '--set', 'gizmos');
    expect(plan.lines[1]).toBe('+ create  Gizmo apps/g (CRD gizmos.wrong.example.com in this plan; the server checks it on apply)');
    expect(plan.lines[0]).toMatch(/^! error {3}CustomResourceDefinition gizmos\.wrong\.example\.com \(crd\.yaml\): .*must be spec\.names\.plural\+"\."\+spec\.group/);
    expect(plan.code).toBe(1);
    const apply = await cli(runApplyCommand, dir, '--set', 'gizmos');
    expect(apply.code).toBe(1);
    expect(apply.lines[0]).toMatch(/^! error {3}CustomResourceDefinition gizmos\.wrong\.example\.com \(crd\.yaml\): .*must be spec\.names\.plural/);
    // Refused by the dry run of the whole folder: nothing is applied, the Gizmo no more than its CRD.
    expect(apply.lines[1]).toBe("! nothing applied: 1 manifest of the folder failed the server's dry run or could not be read (an apply writes all of the folder or none of it)");
    expect(apply.lines.join('\n')).not.toMatch(/\n\s+at /);
  });
});
