/**
 * `openpds plan` and `openpds apply` against a cluster (the Kubernetes API test server with the real CRDs):
 * plan is a server-side dry run that leaves nothing behind; apply creates; an edit shows as an update with
 * the field's path; with --set, a manifest removed from the folder is pruned (even of a kind the folder no
 * longer holds, which the set's parent ConfigMap recorded), and only objects of the same apply set;
 * the server's refusals are printed per object, through the real CLI too, never as a stack trace.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runApplyCommand, runPlanCommand } from '../../operator/src/local/plan-command';
import { startTestKube, type TestKube } from './support/kube';
import { kubectl } from './support/kubectl';

const ROOT = path.join(__dirname, '../..');
const NS = 'team';

const DOMAIN = `apiVersion: openpds.io/v1alpha1
kind: Domain
metadata: {name: acme}
spec:
  storage: {volume: {size: 1Gi}}
  apiServer: {replicas: 1}
`;
const DRIVE = (quota: string) => `apiVersion: openpds.io/v1alpha1
kind: Drive
metadata: {name: team-files}
spec:
  domainRef: {name: acme}
  owner: {kind: Group, name: team}
  quota: {totalSize: ${quota}}
`;
const CONFIG_MAP = `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: ${NS}}
data: {greeting: hello}
`;

describe('openpds plan / apply against a cluster', () => {
  let kube: TestKube;
  let dir: string;

  beforeAll(async () => {
    kube = await startTestKube();
    await kubectl(kube.kubeconfig, ['apply', '-k', path.join(ROOT, 'crds')]);
    await kube.createNamespace(NS);
    dir = path.join(kube.dir, 'site');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'domain.yaml'), DOMAIN);
    fs.writeFileSync(path.join(dir, 'drive.yaml'), DRIVE('5Gi'));
    fs.writeFileSync(path.join(dir, 'config.yaml'), CONFIG_MAP);
  });
  afterAll(async () => {
    await kube?.close();
  });

  async function cli(command: typeof runPlanCommand, ...extra: string[]) {
    const lines: string[] = [];
    const code = await command(['-f', dir, '--kubeconfig', kube.kubeconfig, '-n', NS, '--set', 'site', ...extra], { out: (l) => lines.push(l), err: (l) => lines.push(l), env: {} });
    // The target line comes first (its own test below); the plan is the rest.
    expect(lines[0]).toMatch(/^Target: cluster http:\/\/127\.0\.0\.1:\d+, context /);
    return { code, text: lines.slice(1).join('\n') };
  }
  const find = (kind: string, name: string, apiVersion = 'openpds.io/v1alpha1') => kube.client.find({ apiVersion, kind, namespace: NS, name });

  it('plans creates with a server-side dry run that stores nothing, then apply creates them labelled as the set', async () => {
    const plan = await cli(runPlanCommand, '--detailed-exitcode');
    expect(plan.text.split('\n')).toEqual(['+ create  ConfigMap team/settings', '+ create  Domain team/acme', '+ create  Drive team/team-files', 'Plan: 3 to create, 0 to change, 0 to delete.']);
    expect(plan.code).toBe(2);
    expect(kube.server.hooks.requests().some((r) => r.method === 'PATCH' && r.query.includes('dryRun=All') && r.query.includes('fieldManager=openpds-cli'))).toBe(true);
    expect(await find('Domain', 'acme')).toBeUndefined();
    expect(await find('ConfigMap', 'settings', 'v1')).toBeUndefined();

    const apply = await cli(runApplyCommand);
    expect(apply.text.split('\n')).toEqual(['+ created ConfigMap team/settings', '+ created Domain team/acme', '+ created Drive team/team-files', 'Apply complete: 3 created, 0 changed, 0 deleted.']);
    expect(apply.code).toBe(0);
    const domain = await find('Domain', 'acme');
    const parent = await kube.client.find({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'openpds-applyset-site' });
    const id = parent?.metadata?.labels?.['applyset.kubernetes.io/id'];
    expect(id).toMatch(/^applyset-[A-Za-z0-9_-]{43}-v1$/);
    expect(parent?.metadata?.annotations).toEqual({ 'applyset.kubernetes.io/tooling': 'openpds/0.1.0', 'applyset.kubernetes.io/contains-group-kinds': 'ConfigMap,Domain.openpds.io,Drive.openpds.io', 'applyset.kubernetes.io/additional-namespaces': '', 'openpds.io/applyset-scope': 'namespace' });
    // The set's labels only: no label the manifests do not carry otherwise (kubectl adds none either).
    expect(domain?.metadata?.labels).toEqual({ 'openpds.io/apply-set': 'site', 'applyset.kubernetes.io/part-of': id });
    // The server's defaults are in the stored object, and the next plan does not count them as changes.
    expect(domain).toMatchObject({ spec: { image: 'openpds/openpds:0.1.0' } });
    expect(domain?.metadata?.managedFields).toEqual([expect.objectContaining({ manager: 'openpds-cli', operation: 'Apply' })]);

    const again = await cli(runPlanCommand, '--detailed-exitcode');
    expect(again.text.split('\n')).toEqual(['= unchanged ConfigMap team/settings', '= unchanged Domain team/acme', '= unchanged Drive team/team-files', 'Plan: 0 to create, 0 to change, 0 to delete.']);
    expect(again.code).toBe(0);
  });

  it('shows an edit as an update with the changed paths, old and new, and apply makes it', async () => {
    fs.writeFileSync(path.join(dir, 'drive.yaml'), DRIVE('7Gi'));
    fs.writeFileSync(path.join(dir, 'config.yaml'), CONFIG_MAP.replace('hello', 'bonjour'));
    const plan = await cli(runPlanCommand, '--detailed-exitcode');
    expect(plan.code).toBe(2);
    expect(plan.text).toContain('~ update  ConfigMap team/settings\n      data.greeting: "hello" -> "bonjour"');
    expect(plan.text).toContain('~ update  Drive team/team-files\n      spec.quota.totalSize: "5Gi" -> "7Gi"');
    expect(plan.text).toContain('= unchanged Domain team/acme');
    expect(plan.text).toContain('Plan: 0 to create, 2 to change, 0 to delete.');
    expect(await find('Drive', 'team-files')).toMatchObject({ spec: { quota: { totalSize: '5Gi' } } });

    const apply = await cli(runApplyCommand);
    expect(apply.text).toContain('~ updated Drive team/team-files\n      spec.quota.totalSize: "5Gi" -> "7Gi"');
    expect(apply.text).toContain('Apply complete: 0 created, 2 changed, 0 deleted.');
    expect(await find('Drive', 'team-files')).toMatchObject({ spec: { quota: { totalSize: '7Gi' } } });
  });

  it('a manifest removed from the folder is a delete, even of a kind the folder no longer holds; apply prunes only the set', async () => {
    // Same manager label, another set; and an object with no labels at all: neither is this set's.
    await kube.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other-set', namespace: NS, labels: { 'app.kubernetes.io/managed-by': 'openpds-cli', 'openpds.io/apply-set': 'elsewhere', 'applyset.kubernetes.io/part-of': 'applyset-elsewhere-v1' } } });
    await kube.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'by-hand', namespace: NS } });
    fs.rmSync(path.join(dir, 'config.yaml'));
    fs.rmSync(path.join(dir, 'drive.yaml'));

    // No ConfigMap is left in the folder: the parent's record still names the kind, so it is searched.
    const plan = await cli(runPlanCommand);
    expect(plan.text.split('\n')).toEqual(['= unchanged Domain team/acme', '- delete  ConfigMap team/settings', '- delete  Drive team/team-files', 'Plan: 0 to create, 0 to change, 2 to delete.']);
    expect(await find('Drive', 'team-files')).toBeDefined();

    const apply = await cli(runApplyCommand);
    expect(apply.text.split('\n')).toEqual(['= unchanged Domain team/acme', '- deleted ConfigMap team/settings', '- deleted Drive team/team-files', 'Apply complete: 0 created, 0 changed, 2 deleted.']);
    expect(await find('Drive', 'team-files')).toBeUndefined();
    expect(await find('ConfigMap', 'settings', 'v1')).toBeUndefined();
    expect(await find('ConfigMap', 'other-set', 'v1')).toBeDefined();
    expect(await find('ConfigMap', 'by-hand', 'v1')).toBeDefined();
    const kinds = async () => (await find('ConfigMap', 'openpds-applyset-site', 'v1'))?.metadata?.annotations?.['applyset.kubernetes.io/contains-group-kinds'];
    expect(await kinds()).toBe('Domain.openpds.io');

    fs.writeFileSync(path.join(dir, 'keep.yaml'), CONFIG_MAP.replace('settings', 'kept'));
    expect((await cli(runApplyCommand)).text).toContain('+ created ConfigMap team/kept');
    expect(await kinds()).toBe('ConfigMap,Domain.openpds.io');
  });

  it('a field another manager owns is a conflict with the server\'s message; --force-conflicts takes it over', async () => {
    await kube.client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'kept' }, 'apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept', namespace: NS }, data: { greeting: 'hi' } }, { fieldManager: 'someone-else', force: true });
    const plan = await cli(runPlanCommand);
    expect(plan.code).toBe(1);
    expect(plan.text).toMatch(/^! error {3}ConfigMap team\/kept \(keep\.yaml\): .*conflict.*someone-else/m);
    expect(plan.text).toContain('; to take these fields over, run again with --force-conflicts (as `kubectl apply --server-side --force-conflicts`)');
    const forced = await cli(runPlanCommand, '--force-conflicts');
    expect(forced.code).toBe(0);
    expect(forced.text).toContain('~ update  ConfigMap team/kept\n      data.greeting: "hi" -> "hello"');
    expect((await cli(runApplyCommand, '--force-conflicts')).code).toBe(0);
    expect(await find('ConfigMap', 'kept', 'v1')).toMatchObject({ data: { greeting: 'hello' } });
  });

  it('prints the server refusal of an invalid manifest or unknown kind per object, exits 1, and plans the rest', async () => {
    fs.writeFileSync(path.join(dir, 'broken.yaml'), 'apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: broken}\nspec:\n  storage: {mode: ftp, volume: {size: 1Gi}}\n  apiServer: {replicas: 1}\n');
    fs.writeFileSync(path.join(dir, 'widget.yaml'), 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n');
    const plan = await cli(runPlanCommand, '--detailed-exitcode');
    expect(plan.code).toBe(1);
    expect(plan.text).toMatch(/^! error {3}Domain team\/broken \(broken\.yaml\): Domain\.openpds\.io "broken" is invalid: .*spec\.storage\.mode: Unsupported value: "ftp"/m);
    expect(plan.text).toContain('! error   Widget team/w (widget.yaml): the server does not serve example.com/v1 (is its CustomResourceDefinition installed?)');
    expect(plan.text).toContain('= unchanged Domain team/acme');
    expect(plan.text).toContain('! prune of set site skipped: 1 manifest of the folder could not be read or resolved, so nothing is deleted');
    expect(plan.text).toContain('Plan: 0 to create, 0 to change, 0 to delete, 2 failed.');

    // A set member whose manifest no longer parses is not taken for removed: nothing is pruned meanwhile.
    const kept = fs.readFileSync(path.join(dir, 'keep.yaml'), 'utf8');
    fs.writeFileSync(path.join(dir, 'keep.yaml'), `${kept}  broken: [unclosed\n`);
    const unreadable = await cli(runApplyCommand);
    expect(unreadable.code).toBe(1);
    // Printed as an error and counted: the summary says 3 failed, and the apply writes nothing of the folder.
    expect(unreadable.text).toMatch(/^! error {3}keep\.yaml: /m);
    expect(unreadable.text).toContain("! nothing applied: 3 manifests of the folder failed the server's dry run or could not be read (an apply writes all of the folder or none of it)");
    expect(unreadable.text).toContain('Apply refused: 0 created, 0 changed, 0 deleted, 3 failed.');
    expect(unreadable.text).not.toContain('- deleted');
    expect(await find('ConfigMap', 'kept', 'v1')).toBeDefined();
    fs.writeFileSync(path.join(dir, 'keep.yaml'), kept);

    // The real CLI, cluster mode chosen by $KUBECONFIG: the same lines, no stack trace.
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin/openpds.js'), 'apply', '-f', dir, '-n', NS], { env: { PATH: process.env.PATH ?? '', KUBECONFIG: kube.kubeconfig } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/! error {3}Domain team\/broken \(broken\.yaml\): .*Unsupported value: "ftp"/);
    // Two manifests the server refuses: nothing of the folder is applied, and the members stay members of their set.
    expect(run.stdout).toContain("! nothing applied: 2 manifests of the folder failed the server's dry run or could not be read (an apply writes all of the folder or none of it)\nApply refused: 0 created, 0 changed, 0 deleted, 2 failed.");
    expect((await find('ConfigMap', 'kept', 'v1'))?.metadata?.labels).toMatchObject({ 'openpds.io/apply-set': 'site', 'applyset.kubernetes.io/part-of': expect.stringMatching(/^applyset-/) });
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/\n\s+at /);
    expect(await find('Domain', 'broken')).toBeUndefined();
    fs.rmSync(path.join(dir, 'broken.yaml'));
    fs.rmSync(path.join(dir, 'widget.yaml'));
  }, 60_000);

  it('a namespace the plan creates is planned with its objects; a bad kubeconfig or context is one error line', async () => {
    const nsDir = path.join(kube.dir, 'with-namespace');
    fs.mkdirSync(nsDir);
    fs.writeFileSync(path.join(nsDir, 'all.yaml'), `apiVersion: v1\nkind: Namespace\nmetadata: {name: fresh}\n---\n${CONFIG_MAP.replace(`namespace: ${NS}`, 'namespace: fresh')}`);
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l), env: { KUBECONFIG: kube.kubeconfig } };
    expect(await runPlanCommand(['-f', nsDir], io)).toBe(0);
    expect(lines).toEqual([
      expect.stringMatching(/^Target: cluster http:\/\/127\.0\.0\.1:\d+, context openpds-kube-api, namespace default \(the context\)$/),
      '+ create  Namespace fresh',
      '+ create  ConfigMap fresh/settings (namespace fresh is created by this plan: the server checks this object on apply)',
      '  note: nothing is planned for deletion without --set NAME (the apply set whose members that left DIR are pruned)',
      'Plan: 2 to create, 0 to change, 0 to delete.',
    ]);
    lines.length = 0;
    expect(await runApplyCommand(['-f', nsDir], io)).toBe(0);
    // Without a set, no labels at all: the object is as its manifest wrote it.
    expect((await kube.client.find({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'fresh', name: 'settings' }))?.metadata?.labels).toBeUndefined();

    lines.length = 0;
    expect(await runPlanCommand(['-f', nsDir, '--context', 'nope'], io)).toBe(1);
    expect(lines.join('\n')).toMatch(/^! error {3}the kubeconfig has no context "nope" \(it has: .+\)$/);
    lines.length = 0;
    expect(await runPlanCommand(['-f', nsDir, '--kubeconfig', path.join(kube.dir, 'missing')], io)).toBe(1);
    expect(lines.join('\n')).toMatch(/^! error {3}cannot load the kubeconfig/);
    lines.length = 0;
    expect(await runPlanCommand(['-f', nsDir], { ...io, env: {} })).toBe(2);
    expect(lines.join('\n')).toContain('give --kubeconfig (or set $KUBECONFIG) to plan against a cluster, or --endpoint / --state for running domains');
    lines.length = 0;
    expect(await runPlanCommand(['-f', nsDir, '--set', 'not a label'], io)).toBe(2);
    expect(lines.join('\n')).toContain('--set not a label: the apply set name must be lower-case letters, digits, - and . inside, at most 63 characters');
    lines.length = 0;
    expect(await runApplyCommand(['--help'], io)).toBe(0);
    expect(lines.join('\n')).toMatch(/usage: openpds apply -f DIR \[--kubeconfig FILE\][^]*--endpoint {11}NAME=URL/);
  });

  it('a file that cannot be read is an error of the run, counted, exit 1, even without --set', async () => {
    const unread = path.join(kube.dir, 'unreadable');
    fs.mkdirSync(unread);
    fs.writeFileSync(path.join(unread, 'good.yaml'), CONFIG_MAP.replace('settings', 'readable'));
    fs.writeFileSync(path.join(unread, 'bad.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed\n');
    const lines: string[] = [];
    const code = await runPlanCommand(['-f', unread, '--kubeconfig', kube.kubeconfig, '--context', 'openpds-kube-api'], { out: (l) => lines.push(l), err: (l) => lines.push(l), env: {} });
    // Before: "skipped bad.yaml" on stderr, "Plan: 1 to create, …" with no failure, exit 0.
    expect(lines[0]).toMatch(/^Target: cluster http:\/\/127\.0\.0\.1:\d+, context openpds-kube-api, namespace default \(the context\)$/);
    expect(lines[1]).toMatch(/^! error {3}bad\.yaml: /);
    expect(lines).toContain(`+ create  ConfigMap ${NS}/readable`);
    expect(lines[lines.length - 1]).toBe('Plan: 1 to create, 0 to change, 0 to delete, 1 failed.');
    expect(code).toBe(1);
  });

  it('a plan right after `kubectl apply -k` of the same files is clean: every object unchanged', async () => {
    const byKubectl = path.join(kube.dir, 'by-kubectl');
    fs.mkdirSync(byKubectl);
    fs.writeFileSync(path.join(byKubectl, 'domain.yaml'), DOMAIN.replace('name: acme', `name: kubectl-made, namespace: ${NS}`));
    fs.writeFileSync(path.join(byKubectl, 'drive.yaml'), DRIVE('3Gi').replace('name: team-files', `name: kubectl-files, namespace: ${NS}`).replace('name: acme', 'name: kubectl-made'));
    fs.writeFileSync(path.join(byKubectl, 'kustomization.yaml'), 'resources: [domain.yaml, drive.yaml]\n');
    await kubectl(kube.kubeconfig, ['apply', '-k', byKubectl]);
    const lines: string[] = [];
    const code = await runPlanCommand(['-f', byKubectl, '--kubeconfig', kube.kubeconfig, '--detailed-exitcode'], { out: (l) => lines.push(l), err: (l) => lines.push(l), env: {} });
    expect(lines).toEqual([
      expect.stringMatching(/^Target: cluster /),
      `= unchanged Domain ${NS}/kubectl-made`,
      `= unchanged Drive ${NS}/kubectl-files`,
      '  note: nothing is planned for deletion without --set NAME (the apply set whose members that left DIR are pruned)',
      'Plan: 0 to create, 0 to change, 0 to delete.',
    ]);
    expect(code).toBe(0);
  });

  it('`openpds help` describes both modes of plan and apply, and what the worker runs', async () => {
    const help = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin/openpds.js'), 'help'], { env: { PATH: process.env.PATH ?? '' } });
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.on('close', () => resolve(stdout));
    });
    expect(help).toMatch(/plan -f DIR .*\n.*against a cluster \(--kubeconfig\/--context or \$KUBECONFIG\): a server-side dry run/);
    expect(help).toContain('every manifest, any kind; with --set NAME, objects of that apply set DIR lost are deletes');
    expect(help).toContain('against running domains (--endpoint NAME=URL');
    expect(help).toContain('worker       run a worker process: background jobs such as content hashing');
    expect(help).not.toContain('no jobs yet');
  }, 30_000);
});
