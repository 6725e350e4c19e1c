import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeProblem, EMPTY_FOLDER, loadManifests, readManifestDocuments } from './manifests';

const REPO = path.resolve(__dirname, '../../..');

test('reads the quickstart with the CRD defaults applied, ignoring kustomization.yaml', () => {
  const m = loadManifests(path.join(REPO, 'examples/quickstart'));
  expect(m.invalid).toEqual([]);
  expect(m.notRun).toEqual([]);
  expect(m.domains.map((d) => d.metadata)).toEqual([expect.objectContaining({ name: 'quickstart', namespace: 'default' })]);
  expect(m.domains[0]!.spec).toMatchObject({ image: 'openpds/openpds:0.1.0', trash: { retentionDays: 30 } });
  expect(m.drives[0]!.spec).toMatchObject({ reclaimPolicy: 'Retain', quota: { totalSize: '5Gi' }, owner: { kind: 'Group', name: 'team' } });
});

test('multi-document files; invalid objects and kinds without a local reconciler are reported, not run', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-manifests-'));
  try {
    fs.writeFileSync(
      path.join(dir, 'all.yaml'),
      [
        'apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: a, namespace: prod}\nspec: {domainRef: {name: d}, owner: {kind: User, name: u}}',
        'apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: bad}\nspec: {domainRef: {name: d}, owner: {kind: Robot, name: u}}',
        'apiVersion: v1\nkind: Secret\nmetadata: {name: s}',
        'apiVersion: openpds.io/v1alpha1\nkind: OAuthApp\nmetadata: {name: app}\nspec: {domainRef: {name: d}, type: web, redirectUris: ["https://a.example/cb"]}',
      ].join('\n---\n'),
    );
    const m = loadManifests(dir);
    expect(m.drives.map((d) => [d.metadata.namespace, d.metadata.name, d.spec.quota?.totalSize])).toEqual([['prod', 'a', '10Gi']]);
    expect(m.invalid.map(describeProblem)).toEqual([expect.stringMatching(/^all\.yaml Drive\/default\/bad: spec\.owner\.kind must be equal to one of the allowed values/)]);
    expect(m.notRun.map(describeProblem)).toEqual([expect.stringMatching(/^all\.yaml OAuthApp\/default\/app: local mode does not run OAuthApp yet/)]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('strict as the API server with fieldValidation=Strict: unknown fields are errors with their path; a YAML error names its file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-manifests-'));
  try {
    const drive = (name: string, spec: string, metadata = '') => `apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: ${name}${metadata}}\nspec: {domainRef: {name: d}, owner: {kind: User, name: u}${spec}}`;
    fs.writeFileSync(
      path.join(dir, 'drives.yaml'),
      [
        drive('typo', ', quotaa: 1Gi'),
        drive('deep', ', quota: {totalSize: 1Gi, totalSise: 2Gi}', ', lables: {a: b}'),
        drive('lots', ', quota: {totalSize: lots}'),
        drive('fine', ', quota: {totalSize: 1Gi}', ', labels: {a: b}, annotations: {c: d}'),
        'apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: d}\nspec: {storage: {volume: {size: 1Gi}}, ingress: {host: a.example, annotations: {any.key/x: y}}}',
      ].join('\n---\n'),
    );
    fs.writeFileSync(path.join(dir, 'broken.yaml'), 'kind: Drive\nmetadata: [unclosed\n');
    const m = loadManifests(dir);
    expect(m.drives.map((d) => d.metadata.name)).toEqual(['fine']);
    expect(m.domains.map((d) => d.metadata.name)).toEqual(['d']);
    expect(m.invalid.map(describeProblem)).toEqual([
      expect.stringMatching(/^broken\.yaml: /),
      'drives.yaml Drive/default/typo: unknown field "spec.quotaa"',
      'drives.yaml Drive/default/deep: unknown field "metadata.lables"; unknown field "spec.quota.totalSise"',
      expect.stringMatching(/^drives\.yaml Drive\/default\/lots: spec\.quota\.totalSize must match pattern/),
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('nothing of the folder is silently skipped: a Drive left unread would look removed, and a prune would delete it', () => {
  const DRIVE = (name: string, apiVersion = 'openpds.io/v1alpha1') => `apiVersion: ${apiVersion}\nkind: Drive\nmetadata: {name: ${name}}\nspec: {domainRef: {name: d}, owner: {kind: Group, name: team}}\n`;
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-manifests-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('an openpds.io version that is not served, or one of our kinds without apiVersion, is invalid; other APIs are not ours', () => {
    fs.writeFileSync(path.join(dir, 'beta.yaml'), DRIVE('beta', 'openpds.io/v1beta1'));
    fs.writeFileSync(path.join(dir, 'none.yaml'), DRIVE('none').replace('apiVersion: openpds.io/v1alpha1\n', ''));
    fs.writeFileSync(path.join(dir, 'widget.yaml'), 'apiVersion: openpds.io/v1alpha1\nkind: Widget\nmetadata: {name: w}\n');
    fs.writeFileSync(path.join(dir, 'secret.yaml'), 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n');
    const m = loadManifests(dir);
    expect(m.drives).toEqual([]);
    expect(m.invalid.map(describeProblem)).toEqual([
      'beta.yaml Drive/default/beta: apiVersion openpds.io/v1beta1 is not served (openpds.io serves openpds.io/v1alpha1)',
      'none.yaml Drive/default/none: apiVersion is not set (Drive is openpds.io/v1alpha1)',
      'widget.yaml Widget/default/w: unknown kind Widget of openpds.io/v1alpha1',
    ]);
  });

  test('a typo in the group makes no Drive someone else\'s: one of our kinds under any other apiVersion, or no kind, is invalid', () => {
    fs.writeFileSync(path.join(dir, 'case.yaml'), DRIVE('case', 'OpenPDS.io/v1alpha1'));
    fs.writeFileSync(path.join(dir, 'dot.yaml'), DRIVE('dot', 'openpds.io.v1alpha1'));
    fs.writeFileSync(path.join(dir, 'other.yaml'), 'apiVersion: example.com/v1\nkind: Domain\nmetadata: {name: theirs}\n');
    fs.writeFileSync(path.join(dir, 'users.yaml'), 'apiVersion: v1\nkind: UserSystem\nmetadata: {name: u}\n');
    fs.writeFileSync(path.join(dir, 'nokind.yaml'), 'apiVersion: openpds.io/v1alpha1\nmetadata: {name: what}\nspec: {}\n');
    const m = loadManifests(dir);
    expect(m.drives).toEqual([]);
    expect(m.domains).toEqual([]);
    expect(m.invalid.map(describeProblem)).toEqual([
      'case.yaml Drive/default/case: apiVersion OpenPDS.io/v1alpha1 is not served (openpds.io serves openpds.io/v1alpha1)',
      expect.stringMatching(/^dot\.yaml Drive\/default\/dot: apiVersion openpds\.io\.v1alpha1 is not served \(Drive is openpds\.io\/v1alpha1; a Drive of another API is refused/),
      'nokind.yaml: kind is not set (the API server refuses an object without one)',
      expect.stringMatching(/^other\.yaml Domain\/default\/theirs: apiVersion example\.com\/v1 is not served \(Domain is openpds\.io\/v1alpha1/),
      expect.stringMatching(/^users\.yaml UserSystem\/default\/u: apiVersion v1 is not served \(UserSystem is openpds\.io\/v1alpha1/),
    ]);
  });

  test('kind: List (kubectl get -o yaml) and <Kind>List are expanded into their items, as kubectl does', () => {
    const items = [DRIVE('one'), DRIVE('two')].map((d) => `  - ${d.trimEnd().replaceAll('\n', '\n    ')}`).join('\n');
    // As exported: server-set metadata included, which the API server ignores on create (a cluster uid would replace the local one).
    const exported = items.replace('{name: one}', '{name: one, uid: 0b4c1a52-5b0e-4c3e-9d1e-7f0f3a2b1c9d, resourceVersion: "42", generation: 3, creationTimestamp: "2026-01-01T00:00:00Z"}');
    fs.writeFileSync(path.join(dir, 'exported.yaml'), `apiVersion: v1\nkind: List\nmetadata: {resourceVersion: ""}\nitems:\n${exported}\n`);
    fs.writeFileSync(path.join(dir, 'drives.yaml'), `apiVersion: openpds.io/v1alpha1\nkind: DriveList\nitems:\n${items.replaceAll('one', 'three').replaceAll('two', 'four')}\n`);
    const m = loadManifests(dir);
    expect(m.invalid).toEqual([]);
    expect(m.drives.map((d) => d.metadata.name)).toEqual(['three', 'four', 'one', 'two']);
    expect(m.drives[2]!.metadata).toEqual({ name: 'one', namespace: 'default' });
  });

  test('symlinked files and folders are read; a link to nothing and a link cycle are not a crash', () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-manifests-target-'));
    try {
      fs.writeFileSync(path.join(elsewhere, 'real.yaml'), DRIVE('linked'));
      fs.mkdirSync(path.join(elsewhere, 'sub'));
      fs.writeFileSync(path.join(elsewhere, 'sub', 'deep.yaml'), DRIVE('deep'));
      fs.symlinkSync(path.join(elsewhere, 'real.yaml'), path.join(dir, 'drive.yaml'));
      fs.symlinkSync(path.join(elsewhere, 'sub'), path.join(dir, 'more'));
      fs.symlinkSync(dir, path.join(dir, 'loop'));
      fs.symlinkSync(path.join(elsewhere, 'gone.yaml'), path.join(dir, 'dangling.yaml'));
      const m = loadManifests(dir);
      expect(m.drives.map((d) => d.metadata.name)).toEqual(['linked', 'deep']);
      expect(m.invalid.map(describeProblem)).toEqual([expect.stringMatching(/^dangling\.yaml: cannot read the symlink's target: ENOENT/)]);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  test('an empty file, or one of comments and --- only, is a problem ("no manifests"), not a folder without Drives', () => {
    fs.writeFileSync(path.join(dir, 'empty.yaml'), '');
    fs.writeFileSync(path.join(dir, 'comments.yaml'), '# the team drive\n---\n---\n');
    fs.writeFileSync(path.join(dir, 'drive.yaml'), `---\n${DRIVE('fine')}---\n`);
    const m = loadManifests(dir);
    expect(m.drives.map((d) => d.metadata.name)).toEqual(['fine']);
    expect(m.invalid.map(describeProblem)).toEqual([
      'comments.yaml: no manifests (an empty file is not taken as its Drives removed: delete the file to remove them)',
      'empty.yaml: no manifests (an empty file is not taken as its Drives removed: delete the file to remove them)',
    ]);
  });

  test('a folder with no manifests (none, only kustomization.yaml, an empty List) is refused, as kubectl does, unless allowed', () => {
    const refused = [`.: ${EMPTY_FOLDER}`];
    expect(loadManifests(dir).invalid.map(describeProblem)).toEqual(refused);
    fs.writeFileSync(path.join(dir, 'kustomization.yaml'), 'resources: [drive.yaml]\n');
    fs.writeFileSync(path.join(dir, 'README.md'), 'drives go here\n');
    expect(readManifestDocuments(dir).problems.map(describeProblem)).toEqual(refused);
    fs.writeFileSync(path.join(dir, 'list.yaml'), 'apiVersion: v1\nkind: List\nitems: []\n');
    expect(loadManifests(dir).invalid.map(describeProblem)).toEqual(refused);
    expect(loadManifests(dir, undefined, {}, { allowEmpty: true }).invalid).toEqual([]);
    expect(readManifestDocuments(dir, { allowEmpty: true }).problems).toEqual([]);
    // Any object, of any API, is a folder that says something.
    fs.writeFileSync(path.join(dir, 'secret.yaml'), 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n');
    expect(loadManifests(dir).invalid).toEqual([]);
  });

  test('an alias without its anchor, or an alias bomb, is a problem naming its file, not a crash of the run', () => {
    fs.writeFileSync(path.join(dir, 'alias.yaml'), 'apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: al}\nspec: *base\n');
    const nine = (x: string) => `[${Array(9).fill(x).join(',')}]`;
    fs.writeFileSync(path.join(dir, 'bomb.yaml'), `a: &a ${nine('"lol"')}\nb: &b ${nine('*a')}\nc: &c ${nine('*b')}\nd: &d ${nine('*c')}\ne: ${nine('*d')}\n`);
    // An anchor used within its own document is fine.
    fs.writeFileSync(path.join(dir, 'fine.yaml'), DRIVE('fine').replace('{name: fine}', '{name: fine, labels: &l {team: a}, annotations: *l}'));
    const m = loadManifests(dir);
    expect(m.drives.map((d) => d.metadata.name)).toEqual(['fine']);
    expect(m.invalid.map(describeProblem)).toEqual([
      'alias.yaml: YAML aliases: Unresolved alias (the anchor must be set before the alias): base',
      expect.stringMatching(/^bomb\.yaml: YAML aliases: Excessive alias count/),
    ]);
  });

  test('the same Drive in two files (or twice in one) is an error naming the other file, and neither is run', () => {
    fs.writeFileSync(path.join(dir, 'a.yaml'), DRIVE('shared'));
    fs.writeFileSync(path.join(dir, 'b.yaml'), `${DRIVE('shared').replace('name: team', 'name: other')}---\n${DRIVE('own')}`);
    const m = loadManifests(dir);
    expect(m.drives.map((d) => d.metadata.name)).toEqual(['own']);
    expect(m.invalid.map(describeProblem)).toEqual(['b.yaml Drive/default/shared: also defined in a.yaml', 'a.yaml Drive/default/shared: also defined in b.yaml']);
  });

  test('the same Domain twice is an error too, and neither is run; a Drive of that name is another object', () => {
    const domain = (replicas: number) => `apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: shared}\nspec: {storage: {mode: standard, volume: {size: 1Gi}}, apiServer: {replicas: ${replicas}}}\n`;
    fs.writeFileSync(path.join(dir, 'a.yaml'), `${domain(1)}---\n${DRIVE('shared')}`);
    fs.writeFileSync(path.join(dir, 'b.yaml'), domain(0)); // (2 would break the CRD's volume rule: one replica at most)
    const m = loadManifests(dir);
    expect(m.domains).toEqual([]);
    expect(m.drives.map((d) => d.metadata.name)).toEqual(['shared']);
    expect(m.invalid.map(describeProblem)).toEqual(['b.yaml Domain/default/shared: also defined in a.yaml', 'a.yaml Domain/default/shared: also defined in b.yaml']);
  });
});
