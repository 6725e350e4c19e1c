import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { DEFAULT_CRD_DIR, loadManifests, transitionRules } from './manifests';

const drive = (domain: string, owner: string) => `apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: team}\nspec: {domainRef: {name: ${domain}}, owner: {kind: Group, name: ${owner}}, quota: {totalSize: 2Gi}}\n`;

function folderWith(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-transitions-'));
  fs.writeFileSync(path.join(dir, 'drive.yaml'), text);
  return dir;
}

const applied = loadManifests(folderWith(drive('quickstart', 'team'))).drives[0]!;
const previous = { Drive: { 'default/team': applied } };

test("a Drive's domainRef or owner changed from the one last applied is invalid, with the CRD's own message", () => {
  const moved = loadManifests(folderWith(drive('qs2', 'team')), undefined, previous);
  expect(moved.drives).toEqual([]);
  expect(moved.invalid).toEqual([{ where: 'drive.yaml', kind: 'Drive', name: 'default/team', message: 'spec.domainRef: Invalid value: "object": domainRef is immutable' }]);

  const given = loadManifests(folderWith(drive('quickstart', 'ops')), undefined, previous);
  expect(given.invalid.map((p) => p.message)).toEqual(['spec.owner: Invalid value: "object": owner is immutable (create a new Drive to move data to another owner)']);
});

test('other changes, a Drive never applied, and another Drive are accepted', () => {
  expect(loadManifests(folderWith(drive('quickstart', 'team').replace('2Gi', '3Gi')), undefined, previous)).toMatchObject({ invalid: [], drives: [expect.anything()] });
  expect(loadManifests(folderWith(drive('qs2', 'ops')), undefined, {})).toMatchObject({ invalid: [] });
  expect(loadManifests(folderWith(drive('qs2', 'ops').replace('name: team}', 'name: other}')), undefined, previous)).toMatchObject({ invalid: [] });
});

test('the transition rules local mode checks: all of a Drive\'s; of the CRDs, only the quantity comparison is left to the API server', () => {
  const schemaOf = (file: string) => YAML.parse(fs.readFileSync(path.join(DEFAULT_CRD_DIR, file), 'utf8')).spec.versions[0].schema.openAPIV3Schema;
  expect(transitionRules(schemaOf('openpds.io_drives.yaml'))).toEqual([
    { at: ['spec', 'domainRef'], rule: 'self.name == oldSelf.name', message: 'domainRef is immutable', parts: [{ equal: 'name' }] },
    { at: ['spec', 'owner'], rule: 'self.kind == oldSelf.kind && self.name == oldSelf.name', message: 'owner is immutable (create a new Drive to move data to another owner)', parts: [{ equal: 'kind' }, { equal: 'name' }] },
  ]);
  const unchecked = fs
    .readdirSync(DEFAULT_CRD_DIR)
    .filter((f) => /^openpds\.io_.*\.yaml$/.test(f))
    .flatMap((f) => transitionRules(schemaOf(f)).filter((r) => !r.parts).map((r) => r.rule));
  expect(unchecked).toEqual(['quantity(self).compareTo(quantity(oldSelf)) >= 0']);
});
