import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadManifests } from './manifests';

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

test("every transition rule of the CRDs is checked, a Domain's quantity comparison too, against the object as last applied", () => {
  const domain = (size: string, mode = 'standard', volume = `volume: {size: ${size}}`) => `apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: acme}\nspec: {storage: {mode: ${mode}, ${volume}}}\n`;
  const last = { Domain: { 'default/acme': loadManifests(folderWith(domain('2Gi'))).domains[0]! } };
  expect(loadManifests(folderWith(domain('1Gi')), undefined, last).invalid.map((p) => p.message)).toEqual([
    'spec.storage.volume.size: Invalid value: "string": storage.volume.size cannot shrink: the PersistentVolumeClaim holding the data only grows (and only when its StorageClass allows volume expansion)',
  ]);
  expect(loadManifests(folderWith(domain('3Gi')), undefined, last)).toMatchObject({ invalid: [], domains: [expect.anything()] });
  const hosting = loadManifests(folderWith(domain('', 'hosting', 'hosting: {bucket: customer}')), undefined, last);
  expect(hosting.invalid.map((p) => p.message)).toEqual([
    [
      'spec: Invalid value: "object": spec.database is required unless storage.volume is set (the embedded database lives on that volume)',
      'spec.storage: Invalid value: "object": storage.mode is immutable (data is laid out differently in each mode)',
      'spec.storage: Invalid value: "object": switching between storage.volume and storage.s3 would strand the stored data; create a new Domain',
    ].join('; '),
  ]);
});

test('an empty namespace is the default one, as kubectl reads it: its object as last applied is found, and the problem names default/', () => {
  const inEmpty = drive('qs2', 'team').replace('metadata: {name: team}', "metadata: {name: team, namespace: ''}");
  const moved = loadManifests(folderWith(inEmpty), undefined, previous);
  expect(moved.drives).toEqual([]);
  expect(moved.invalid).toEqual([{ where: 'drive.yaml', kind: 'Drive', name: 'default/team', message: 'spec.domainRef: Invalid value: "object": domainRef is immutable' }]);
});
