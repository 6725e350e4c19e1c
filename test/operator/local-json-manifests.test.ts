/**
 * `openpds apply -f DIR --set NAME` reads *.json as kubectl does: an object moved from x.yaml to x.json is
 * the same member of the set, not one removed (pruned: a Drive under reclaimPolicy Delete with its files).
 * A .json file that is not JSON is an error naming it, and while it is there nothing is pruned.
 */
import fs from 'node:fs';
import path from 'node:path';
import { withClusterApply } from './support/cluster-apply';

const NS = 'json';
const CONFIG_MAP = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'json-a' }, data: { k: 'v' } };
const DRIVE = { apiVersion: 'openpds.io/v1alpha1', kind: 'Drive', metadata: { name: 'json-b' }, spec: { domainRef: { name: 'acme' }, owner: { kind: 'Group', name: 'team' }, reclaimPolicy: 'Delete' } };
const CONFIG_MAP_YAML = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: json-a}\ndata: {k: v}\n';
const DRIVE_YAML = 'apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: json-b}\nspec: {domainRef: {name: acme}, owner: {kind: Group, name: team}, reclaimPolicy: Delete}\n';

describe('openpds apply -f DIR --set NAME against a cluster, with manifests moved to JSON', () => {
  const suite = withClusterApply(NS);
  const { apply } = suite;
  const deletes = () => suite.kube.server.hooks.requests().filter((r) => r.method === 'DELETE');
  const exists = async () => [await suite.kube.client.find({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'json-a' }), await suite.kube.client.find({ apiVersion: 'openpds.io/v1alpha1', kind: 'Drive', namespace: NS, name: 'json-b' })].map(Boolean);

  it('a member moved from x.yaml to x.json (one object, or a List) stays; a broken .json stops the prune', async () => {
    fs.writeFileSync(path.join(suite.dir, 'a.yaml'), CONFIG_MAP_YAML);
    fs.writeFileSync(path.join(suite.dir, 'b.yaml'), DRIVE_YAML);
    // A member that stays YAML: the folder is not empty, so a JSON file left unread looked removed.
    fs.writeFileSync(path.join(suite.dir, 'c.yaml'), CONFIG_MAP_YAML.replace('json-a', 'json-c'));
    const first = await apply('--set', 'json');
    expect(first.lines.at(-1)).toBe('Apply complete: 3 created, 0 changed, 0 deleted.');
    expect(first.code).toBe(0);

    fs.rmSync(path.join(suite.dir, 'a.yaml'));
    fs.writeFileSync(path.join(suite.dir, 'a.json'), JSON.stringify(CONFIG_MAP, null, 2));
    fs.rmSync(path.join(suite.dir, 'b.yaml'));
    fs.writeFileSync(path.join(suite.dir, 'b.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [DRIVE] }));
    const moved = await apply('--set', 'json');
    expect(moved.lines.at(-1)).toBe('Apply complete: 0 created, 0 changed, 0 deleted.');
    expect(moved.code).toBe(0);
    expect(deletes()).toEqual([]);
    expect(await exists()).toEqual([true, true]);

    // The Drive's file half-written: not JSON, an error naming it, and nothing of the set is pruned.
    fs.writeFileSync(path.join(suite.dir, 'b.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [DRIVE] }).slice(0, 50));
    const broken = await apply('--set', 'json');
    expect(broken.code).toBe(1);
    expect(broken.lines.join('\n')).toMatch(/b\.json.*not valid JSON/);
    expect(deletes()).toEqual([]);
    expect(await exists()).toEqual([true, true]);
  }, 60_000);
});
