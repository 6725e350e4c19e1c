import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadManifests } from './manifests';

const REPO = path.resolve(__dirname, '../../..');

test('reads the quickstart with the CRD defaults applied, ignoring kustomization.yaml', () => {
  const m = loadManifests(path.join(REPO, 'examples/quickstart'));
  expect(m.problems).toEqual([]);
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
    expect(m.problems).toEqual([expect.stringMatching(/^all\.yaml Drive\/bad: .*owner\/kind must be equal to one of the allowed values/), expect.stringMatching(/OAuthApp\/app: local mode does not run OAuthApp yet/)]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
