import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeProblem, loadManifests } from './manifests';

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
