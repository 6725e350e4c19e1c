/**
 * Where `openpds apply --set NAME` looks for members to prune, against the Kubernetes API test server:
 * - the set's parent lives in the namespace its namespace-less objects go to (the context's without -n),
 *   so two teams applying `--set prod` from their own context namespaces are two sets;
 * - a parent an older openpds wrote in `default` (shared by every context namespace) deletes nothing
 *   outside `default`; what it labelled is reported as kept;
 * - members are looked for only in the namespaces the set records, and only objects whose set label this
 *   tool applied are deleted: a copy elsewhere, or a copy made by kubectl, is left alone;
 * - a CRD or Namespace that left the folder is pruned only with --prune-cascading, and the plan counts
 *   what the server deletes with it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { applySetId } from '../../operator/src/local/cluster-applyset';
import { isStatus } from '../../operator/src/local/cluster-resources';
import { runApplyCommand, runPlanCommand } from '../../operator/src/local/plan-command';
import { startTestKube, type TestKube } from './support/kube';
import { kubectl } from './support/kubectl';

const ROOT = path.join(__dirname, '../..');
const configMap = (name: string, namespace?: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}${namespace ? `, namespace: ${namespace}` : ''}}\ndata: {owner: ${name}}\n`;

describe('openpds apply --set: which objects a set may prune', () => {
  let kube: TestKube;
  /** The test server's kubeconfig with the context namespace set to team-a, team-b. */
  const kubeconfigs: Record<string, string> = {};

  beforeAll(async () => {
    kube = await startTestKube();
    for (const ns of ['team-a', 'team-b', 'staging', 'apps', 'others']) await kube.createNamespace(ns);
    for (const ns of ['team-a', 'team-b']) {
      const config = parse(fs.readFileSync(kube.kubeconfig, 'utf8')) as { contexts: { context: { namespace: string } }[] };
      config.contexts[0]!.context.namespace = ns;
      kubeconfigs[ns] = path.join(kube.dir, `kc-${ns}`);
      fs.writeFileSync(kubeconfigs[ns], stringify(config));
    }
  });
  afterAll(async () => {
    await kube?.close();
  });

  function folder(name: string, files: Record<string, string>): string {
    const dir = path.join(kube.dir, name);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
    return dir;
  }
  async function cli(command: typeof runPlanCommand, dir: string, kubeconfig: string, ...extra: string[]) {
    const lines: string[] = [];
    const code = await command(['-f', dir, '--kubeconfig', kubeconfig, ...extra], { out: (l) => lines.push(l), err: (l) => lines.push(l), env: {} });
    return { code, header: lines[0], lines: lines.slice(1) };
  }
  const widgetCrd = () =>
    kube.client.request('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.contract.openpds.io').catch((error: unknown) => {
      if (isStatus(error, 404)) return undefined;
      throw error;
    });
  const configMapIn = (namespace: string, name: string) => kube.client.find({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name });
  /** As an older openpds applied a member: server-side apply by openpds-cli with the set's labels. */
  async function applyAsOpenpds(namespace: string, name: string, id: string, set: string) {
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels: { 'openpds.io/apply-set': set, 'applyset.kubernetes.io/part-of': id } }, data: { owner: name } };
    await kube.client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name }, 'apply', body, { fieldManager: 'openpds-cli', force: true });
  }

  it('two context namespaces applying the same --set without -n are two sets: neither prunes the other', async () => {
    const qs = folder('qs', { 'one.yaml': configMap('quickstart') });
    const a = await cli(runApplyCommand, qs, kubeconfigs['team-a']!, '--set', 'prod');
    expect(a.lines).toEqual(['+ created ConfigMap team-a/quickstart', 'Apply complete: 1 created, 0 changed, 0 deleted.']);
    const b = await cli(runApplyCommand, qs, kubeconfigs['team-b']!, '--set', 'prod');
    // Before: the parent was default's for both, and this run deleted team-a/quickstart.
    expect(b.lines).toEqual(['+ created ConfigMap team-b/quickstart', 'Apply complete: 1 created, 0 changed, 0 deleted.']);
    expect(b.code).toBe(0);
    expect(await configMapIn('team-a', 'quickstart')).toBeDefined();
    expect(await configMapIn('team-a', 'openpds-applyset-prod')).toBeDefined();
    expect(await configMapIn('team-b', 'openpds-applyset-prod')).toBeDefined();
    expect(await configMapIn('default', 'openpds-applyset-prod')).toBeUndefined();
    expect((await configMapIn('team-b', 'quickstart'))?.metadata?.labels?.['applyset.kubernetes.io/part-of']).toBe(applySetId({ name: 'prod', namespace: 'team-b' }));
    // The first line names where the run went, and where its set's parent lives.
    expect(a.header).toMatch(/^Target: cluster http:\/\/127\.0\.0\.1:\d+, context openpds-kube-api, namespace team-a \(the context\), apply set prod \(parent team-a\/openpds-applyset-prod\)$/);
  });

  it('members are looked for only in the namespaces the set records, and only those whose label openpds applied', async () => {
    // The red team's copy, with real kubectl: the member into another namespace, and under another name.
    const live = JSON.parse(await kubectl(kube.kubeconfig, ['get', 'configmap', '-n', 'team-b', 'quickstart', '-o', 'json'])) as { metadata: Record<string, unknown> };
    for (const [namespace, name] of [['staging', 'quickstart'], ['team-b', 'quickstart-copy']] as const) {
      const { labels } = live.metadata;
      const copy = { ...live, metadata: { name, namespace, labels } };
      await kubectl(kube.kubeconfig, ['apply', '-f', '-'], JSON.stringify(copy));
    }
    const qs = path.join(kube.dir, 'qs');
    const plan = await cli(runPlanCommand, qs, kubeconfigs['team-b']!, '--set', 'prod');
    // Before: `- delete ConfigMap staging/quickstart` and `- delete ConfigMap team-b/quickstart-copy`.
    expect(plan.lines).toEqual([
      '= unchanged ConfigMap team-b/quickstart',
      '? kept    ConfigMap team-b/quickstart-copy: carries the label of set prod but openpds-cli never applied it (a copy?): not deleted',
      'Plan: 0 to create, 0 to change, 0 to delete.',
    ]);
    expect(plan.code).toBe(0);
    expect((await cli(runApplyCommand, qs, kubeconfigs['team-b']!, '--set', 'prod')).code).toBe(0);
    expect(await configMapIn('staging', 'quickstart')).toBeDefined();
    expect(await configMapIn('team-b', 'quickstart-copy')).toBeDefined();
  });

  it('a parent an older openpds left in default deletes nothing on its word outside default; the set moves to the context namespace', async () => {
    // What an older openpds left: one parent in default for runs from team-a and team-b, members in both.
    const legacyId = applySetId({ name: 'legacy', namespace: 'default' });
    await kube.client.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'openpds-applyset-legacy',
        namespace: 'default',
        labels: { 'applyset.kubernetes.io/id': legacyId },
        annotations: { 'applyset.kubernetes.io/tooling': 'openpds/0.1.0', 'applyset.kubernetes.io/contains-group-kinds': 'ConfigMap', 'applyset.kubernetes.io/additional-namespaces': 'team-a,team-b' },
      },
    });
    for (const [ns, name] of [['team-a', 'old-a'], ['team-b', 'old-b'], ['team-b', 'still-b'], ['default', 'old-d'], ['others', 'old-o']] as const) await applyAsOpenpds(ns, name, legacyId, 'legacy');

    // team-b's context: a new parent in team-b; the legacy members that left the folder are kept, listed.
    const b = folder('legacy-b', { 'still.yaml': configMap('still-b'), 'new.yaml': configMap('new-b') });
    const plan = await cli(runPlanCommand, b, kubeconfigs['team-b']!, '--set', 'legacy');
    expect(plan.lines).toEqual([
      '+ create  ConfigMap team-b/new-b',
      '~ update  ConfigMap team-b/still-b',
      `      metadata.labels["applyset.kubernetes.io/part-of"]: "${legacyId}" -> "${applySetId({ name: 'legacy', namespace: 'team-b' })}"`,
      '? kept    ConfigMap team-b/old-b: labelled by the older parent default/openpds-applyset-legacy: not deleted, delete it by hand if it is this set\'s',
      expect.stringMatching(/^ {2}note: set legacy now keeps its parent in team-b\/openpds-applyset-legacy; an older openpds kept it in default\/openpds-applyset-legacy, shared by runs from every context namespace, so nothing is deleted on its word .* Delete default\/openpds-applyset-legacy once no one applies set legacy with an older openpds\.$/),
      'Plan: 1 to create, 1 to change, 0 to delete.',
    ]);
    expect((await cli(runApplyCommand, b, kubeconfigs['team-b']!, '--set', 'legacy')).code).toBe(0);
    for (const [ns, name] of [['team-a', 'old-a'], ['team-b', 'old-b'], ['default', 'old-d']] as const) expect(await configMapIn(ns, name)).toBeDefined();
    expect((await configMapIn('team-b', 'openpds-applyset-legacy'))?.metadata?.annotations?.['openpds.io/applyset-scope']).toBe('namespace');
    // The legacy parent may still speak for team-a: left as it was.
    expect((await configMapIn('default', 'openpds-applyset-legacy'))?.metadata?.annotations?.['applyset.kubernetes.io/additional-namespaces']).toBe('team-a,team-b');

    // default's context: the same parent, trusted for default only. old-d goes; old-o in a namespace the
    // folder also writes is only reported; team-a's and team-b's members are not even looked at.
    const d = folder('legacy-d', { 'here.yaml': configMap('here'), 'there.yaml': configMap('there', 'others') });
    const apply = await cli(runApplyCommand, d, kube.kubeconfig, '--set', 'legacy');
    expect(apply.lines).toEqual([
      '+ created ConfigMap default/here',
      '+ created ConfigMap others/there',
      '- deleted ConfigMap default/old-d',
      '? kept    ConfigMap others/old-o: labelled by the set\'s parent from an older openpds, which runs from any context namespace shared: not deleted, delete it by hand if it is this set\'s',
      'Apply complete: 2 created, 0 changed, 1 deleted.',
    ]);
    expect(await configMapIn('default', 'old-d')).toBeUndefined();
    for (const [ns, name] of [['team-a', 'old-a'], ['team-b', 'old-b'], ['others', 'old-o']] as const) expect(await configMapIn(ns, name)).toBeDefined();
    // Rewritten as this version's: the record holds the folder's namespaces only, no longer team-a's or team-b's.
    const parent = await configMapIn('default', 'openpds-applyset-legacy');
    expect(parent?.metadata?.annotations).toMatchObject({ 'openpds.io/applyset-scope': 'namespace', 'applyset.kubernetes.io/additional-namespaces': 'others' });
  });

  it('a CRD or Namespace that left the folder is refused without --prune-cascading; the plan counts what goes with it', async () => {
    const crd = fs.readFileSync(path.join(ROOT, 'test/kube-api/fixtures/widget-crd.yaml'), 'utf8');
    const widget = fs.readFileSync(path.join(ROOT, 'test/kube-api/fixtures/widget.yaml'), 'utf8');
    const install = folder('install', { 'crd.yaml': crd, 'ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: scratch}\n', 'keep.yaml': configMap('keep') });
    expect((await cli(runApplyCommand, install, kube.kubeconfig, '-n', 'apps', '--set', 'install')).code).toBe(0);
    // Objects the set never made, that deleting its CRD or Namespace would take with them.
    for (const [ns, name] of [['apps', 'w1'], ['apps', 'w2'], ['others', 'w3']]) await kubectl(kube.kubeconfig, ['apply', '-n', ns!, '-f', '-'], widget.replace('name: sample', `name: ${name}`));
    for (const name of ['c1', 'c2']) await kube.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'scratch' } });
    fs.rmSync(path.join(install, 'crd.yaml'));
    fs.rmSync(path.join(install, 'ns.yaml'));

    const expected = (verb: string) => [
      '= unchanged ConfigMap apps/keep',
      `! error   CustomResourceDefinition widgets.contract.openpds.io: not deleted: the server would delete 3 other objects with it; give --prune-cascading to delete it`,
      '      with it: 2 Widget in apps',
      '      with it: 1 Widget in others',
      '! error   Namespace scratch: not deleted: the server would delete 2 other objects with it; give --prune-cascading to delete it',
      '      with it: 2 ConfigMap in scratch',
      `${verb}, 2 failed.`,
    ];
    const plan = await cli(runPlanCommand, install, kube.kubeconfig, '-n', 'apps', '--set', 'install');
    expect(plan.lines).toEqual(expected('Plan: 0 to create, 0 to change, 0 to delete'));
    expect(plan.code).toBe(1);
    const refused = await cli(runApplyCommand, install, kube.kubeconfig, '-n', 'apps', '--set', 'install');
    expect(refused.lines).toEqual(expected('Apply complete: 0 created, 0 changed, 0 deleted'));
    expect(refused.code).toBe(1);
    expect(await widgetCrd()).toBeDefined();
    // Still recorded, so the next run finds them again.
    expect((await configMapIn('apps', 'openpds-applyset-install'))?.metadata?.annotations?.['applyset.kubernetes.io/contains-group-kinds']).toBe('ConfigMap,CustomResourceDefinition.apiextensions.k8s.io,Namespace');

    const cascading = await cli(runApplyCommand, install, kube.kubeconfig, '-n', 'apps', '--set', 'install', '--prune-cascading');
    expect(cascading.lines).toEqual([
      '= unchanged ConfigMap apps/keep',
      '- deleted CustomResourceDefinition widgets.contract.openpds.io (deletes 3 other objects with it)',
      '      with it: 2 Widget in apps',
      '      with it: 1 Widget in others',
      '- deleted Namespace scratch (deletes 2 other objects with it)',
      '      with it: 2 ConfigMap in scratch',
      'Apply complete: 0 created, 0 changed, 2 deleted.',
    ]);
    expect(cascading.code).toBe(0);
    expect(await widgetCrd()).toBeUndefined();

    // Documented, and meaningless (so refused) without a set.
    const help: string[] = [];
    await runApplyCommand(['--help'], { out: (l) => help.push(l) });
    expect(help.join('\n')).toMatch(/--prune-cascading {4}let --set delete a CustomResourceDefinition or Namespace/);
    expect((await cli(runPlanCommand, install, kube.kubeconfig, '--prune-cascading')).code).toBe(2);
  });
});
