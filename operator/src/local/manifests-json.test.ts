/**
 * JSON manifests, read as kubectl and Argo CD read them (*.json next to *.yaml and *.yml): a Drive moved
 * from x.yaml to x.json is the same Drive, not one removed (which `up` or `apply --set` pruned, deleting its
 * drive under reclaimPolicy Delete). And the state of an `up` kept inside the folder is never read as one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeProblem, loadManifests } from './manifests';
import { writeDomainRecord, writeDriveRecords, writeFolderRecord, writeStatus } from './state-dir';
import { lockStateDir } from './up-state-lock';

const DRIVE = {
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Drive',
  metadata: { name: 'team', namespace: 'prod' },
  spec: { domainRef: { name: 'd' }, owner: { kind: 'Group', name: 'team' }, reclaimPolicy: 'Delete' },
};
const DRIVE_YAML = 'apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: team, namespace: prod}\nspec: {domainRef: {name: d}, owner: {kind: Group, name: team}, reclaimPolicy: Delete}\n';
const drive = (name: string) => ({ ...DRIVE, metadata: { name, namespace: 'prod' } });

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-manifests-json-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a Drive moved from x.yaml to x.json (or x.yml) is the same Drive, not one removed', () => {
  fs.writeFileSync(path.join(dir, 'x.yaml'), DRIVE_YAML);
  const before = loadManifests(dir);
  expect(before.drives.map((d) => d.metadata.name)).toEqual(['team']);
  fs.rmSync(path.join(dir, 'x.yaml'));
  fs.writeFileSync(path.join(dir, 'x.json'), JSON.stringify(DRIVE, null, 2));
  expect(loadManifests(dir)).toEqual(before);
  fs.renameSync(path.join(dir, 'x.json'), path.join(dir, 'x.yml'));
  fs.writeFileSync(path.join(dir, 'x.yml'), DRIVE_YAML);
  expect(loadManifests(dir)).toEqual(before);
});

test('a JSON file holds one object or a List (kubectl get -o json) whose items are expanded, in subfolders too', () => {
  fs.writeFileSync(path.join(dir, 'exported.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: [drive('one'), drive('two')] }));
  fs.mkdirSync(path.join(dir, 'team'));
  // Tab-indented, with a BOM (a Windows editor's): still JSON.
  fs.writeFileSync(path.join(dir, 'team', 'three.json'), `\uFEFF${JSON.stringify(drive('three'), null, '\t')}\n`);
  const m = loadManifests(dir);
  expect(m.invalid).toEqual([]);
  expect(m.drives.map((d) => d.metadata.name)).toEqual(['one', 'two', 'three']);
});

test('a .json file that is not valid JSON is an error naming the file and where, never skipped', () => {
  fs.writeFileSync(path.join(dir, 'good.json'), JSON.stringify(drive('good')));
  fs.writeFileSync(path.join(dir, 'half.json'), JSON.stringify(drive('half'), null, 2).slice(0, 60));
  fs.writeFileSync(path.join(dir, 'trailing.json'), '{\n  "kind": "Drive",\n}\n');
  fs.writeFileSync(path.join(dir, 'yaml.json'), DRIVE_YAML);
  // JSON.parse keeps the last of two keys: two "items" would drop the first one's Drives without a word.
  fs.writeFileSync(path.join(dir, 'twice.json'), `{"apiVersion": "v1", "kind": "List", "items": [${JSON.stringify(drive('lost'))}], "items": []}`);
  fs.writeFileSync(path.join(dir, 'empty.json'), '\n');
  fs.writeFileSync(path.join(dir, 'null.json'), 'null');
  fs.writeFileSync(path.join(dir, 'array.json'), JSON.stringify([drive('in-array')]));
  const m = loadManifests(dir);
  expect(m.drives.map((d) => d.metadata.name)).toEqual(['good']);
  expect(m.invalid.map(describeProblem)).toEqual([
    'array.json: a document is not an object',
    'empty.json: no manifests (an empty file is not taken as its Drives removed: delete the file to remove them)',
    expect.stringMatching(/^half\.json: not valid JSON: .* \(line 4, column \d+\)$/),
    'null.json: no manifests (an empty file is not taken as its Drives removed: delete the file to remove them)',
    expect.stringMatching(/^trailing\.json: not valid JSON: .* \(line 3, column 1\)$/),
    expect.stringMatching(/^twice\.json: Map keys must be unique/),
    expect.stringMatching(/^yaml\.json: not valid JSON: Unexpected token 'a'/),
  ]);
});

describe("an up's state dir inside the folder is never read as manifests", () => {
  /** A state as `up --state-dir <state>` leaves it: every JSON file it writes, a Domain's data included. */
  function makeState(state: string) {
    writeFolderRecord(state, { folder: fs.realpathSync(dir) });
    writeDriveRecords(state, { 'prod/team': { drive: { ...DRIVE, status: { driveId: 'dr1' } } as never, specHash: 'h' } });
    writeDomainRecord(state, 'prod', 'd', { url: 'http://127.0.0.1:8080', port: 8080, domain: { apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', metadata: { name: 'd', namespace: 'prod' }, spec: {} } as never });
    writeStatus(state, { domains: [] });
    const objects = path.join(state, 'up', 'prod', 'd', 'data', 'blobs', 'objects');
    fs.mkdirSync(objects, { recursive: true });
    fs.writeFileSync(path.join(objects, 'openpds-claim.json'), JSON.stringify({ instance: 'i', domain: 'd' }));
    // Not what up writes today, but whatever lands in the state (a YAML file included) is not the folder's.
    fs.writeFileSync(path.join(state, 'up', 'prod', 'd', 'data', 'notes.yaml'), DRIVE_YAML.replace('name: team', 'name: ghost'));
  }

  test.each([
    ['state', 'a state dir without a leading dot'],
    ['nested/deeper', 'deeper down'],
    ['.', 'the folder itself (-f . --state-dir .)'],
  ])('%s: %s, after up stopped (folder.json) and while it runs (up.lock)', (name) => {
    fs.writeFileSync(path.join(dir, 'drive.json'), JSON.stringify(DRIVE));
    const state = path.join(dir, name);
    makeState(state);
    const expected = { drives: [expect.objectContaining({ metadata: { name: 'team', namespace: 'prod' } })], invalid: [], notRun: [], domains: [] };
    expect(loadManifests(dir)).toEqual(expected);
    const release = lockStateDir(state, dir);
    try {
      expect(loadManifests(dir)).toEqual(expected);
      // A state from before folder.json, while its up runs: known by the lock alone.
      fs.rmSync(path.join(state, 'up', 'folder.json'));
      expect(loadManifests(dir)).toEqual(expected);
    } finally {
      release();
    }
  });

  test("a folder of the user's named up is read: only an up's lock or folder record next to it makes it state", () => {
    fs.mkdirSync(path.join(dir, 'up'));
    fs.writeFileSync(path.join(dir, 'up', 'folder.json'), JSON.stringify(drive('folder')));
    fs.writeFileSync(path.join(dir, 'up', 'drives.json'), JSON.stringify(drive('drives')));
    expect(loadManifests(dir).drives.map((d) => d.metadata.name)).toEqual(['drives', 'folder']);
  });
});
