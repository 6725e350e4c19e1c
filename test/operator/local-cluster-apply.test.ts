/**
 * `openpds apply` against a cluster writes all of a folder or none of it (red team: a bad manifest in the
 * middle of a folder left it half applied). Every object goes through the server's dry run first; one
 * refusal writes nothing, and the error names the file to fix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { withClusterApply } from './support/cluster-apply';

const NS = 'half';
const CONFIG_MAP = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {k: v}\n`;

describe('openpds apply -f DIR against a cluster, with one bad manifest in the middle', () => {
  const suite = withClusterApply(NS);
  const { apply } = suite;
  const find = (name: string) => suite.kube.client.find({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name });

  it('writes nothing (the apply set parent neither), names the file, exits 1; fixed, applies all', async () => {
    fs.writeFileSync(path.join(suite.dir, 'a.yaml'), CONFIG_MAP('half-a'));
    fs.writeFileSync(path.join(suite.dir, 'b.yaml'), 'apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: half-b}\nspec: {domainRef: {name: acme}, owner: {kind: Group, name: team}, quota: {totalSize: lots}}\n');
    fs.writeFileSync(path.join(suite.dir, 'c.yaml'), CONFIG_MAP('half-c'));
    const refused = await apply('--set', 'half');
    expect(refused.code).toBe(1);
    expect(refused.lines[0]).toMatch(/^! error {3}Drive half\/half-b \(b\.yaml\): .*spec\.quota\.totalSize/);
    expect(refused.lines.slice(1)).toEqual([
      "! nothing applied: 1 manifest of the folder failed the server's dry run or could not be read (an apply writes all of the folder or none of it)",
      'Apply refused: 0 created, 0 changed, 0 deleted, 1 failed.',
    ]);
    expect(await find('half-a')).toBeUndefined();
    expect(await find('half-c')).toBeUndefined();
    expect(await find('openpds-applyset-half')).toBeUndefined();
    expect(suite.kube.server.hooks.requests().filter((r) => r.method === 'PATCH' && !r.query.includes('dryRun=All'))).toEqual([]);

    fs.writeFileSync(path.join(suite.dir, 'b.yaml'), CONFIG_MAP('half-b'));
    const fixed = await apply('--set', 'half');
    expect(fixed.lines.at(-1)).toBe('Apply complete: 3 created, 0 changed, 0 deleted.');
    expect(fixed.code).toBe(0);
    expect(await find('half-a')).toBeDefined();
  }, 60_000);
});
