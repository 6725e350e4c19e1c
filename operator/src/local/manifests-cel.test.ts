// `openpds up`/`plan`/`apply` check every CEL rule of the CRDs, as `kubectl apply` does on the API server:
// what local mode runs, a cluster would admit, and what it refuses carries the CRD's own message.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeProblem, loadManifests } from './manifests';

const REPO = path.resolve(__dirname, '../../..');
const domain = (name: string, spec = 'storage: {volume: {size: 1Gi}}') => `apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: ${name}}\nspec: {${spec}}`;

function folderWith(...docs: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-manifests-cel-'));
  fs.writeFileSync(path.join(dir, 'all.yaml'), docs.join('\n---\n'));
  return dir;
}

test('a Domain name of 49 characters is refused with the rule on the whole object, as kubectl prints it; 48 are run', () => {
  const m = loadManifests(folderWith(domain('a'.repeat(49)), domain('b'.repeat(48))));
  expect(m.domains.map((d) => d.metadata.name)).toEqual(['b'.repeat(48)]);
  expect(m.invalid.map(describeProblem)).toEqual([
    `all.yaml Domain/default/${'a'.repeat(49)}: <nil>: Invalid value: "object": metadata.name must be at most 48 characters: the Service <name>-worker-metrics built from it must fit a 63-character DNS label`,
  ]);
});

test('a status in the manifest (kubectl get -o yaml) does not lift a rule: the API server drops it on create', () => {
  const exported = `${domain('c'.repeat(49))}\nstatus: {observedGeneration: 1}`;
  expect(loadManifests(folderWith(exported)).invalid.map((p) => p.message)).toEqual([expect.stringContaining('metadata.name must be at most 48 characters')]);
});

test('field rules at any depth are checked, each failure with its field path and message', () => {
  const m = loadManifests(
    folderWith(
      domain('both', 'storage: {volume: {size: 1Gi}, s3: {bucket: photos}}'),
      domain('replicas', 'storage: {volume: {size: 1Gi}}, apiServer: {replicas: 2}'),
      domain('host', 'storage: {volume: {size: 1Gi}}, ingress: {host: Photos.Example.com}'),
      domain('empty', 'storage: {volume: {size: "0"}}'),
      'apiVersion: openpds.io/v1alpha1\nkind: OAuthApp\nmetadata: {name: app}\nspec: {domainRef: {name: d}, type: web, redirectUris: ["http://a.example/cb"]}',
    ),
  );
  expect(m.domains).toEqual([]);
  expect(m.invalid.map((p) => `${p.name}: ${p.message}`)).toEqual([
    'default/both: spec.storage: Invalid value: "object": standard storage needs exactly one of s3 or volume',
    'default/replicas: spec: Invalid value: "object": storage.volume is a ReadWriteOnce disk, so apiServer.replicas must be 0 or 1 and apiServer.autoscaling.enabled false',
    expect.stringMatching(/^default\/host: spec\.ingress\.host: Invalid value: "string": ingress\.host must be a lowercase RFC 1123 host name/),
    'default/empty: spec.storage.volume.size: Invalid value: "string": storage.volume.size must be more than 0',
    'default/app: spec: Invalid value: "object": web redirectUris must be https (http only on localhost)',
  ]);
});

test.each(fs.readdirSync(path.join(REPO, 'examples')))('examples/%s passes every rule', (example) => {
  const m = loadManifests(path.join(REPO, 'examples', example));
  // examples/monitoring also holds a prometheus-adapter config, no Kubernetes object: kubectl apply -f refuses
  // that folder too ("Object 'Kind' is missing"); its manifest is applied by file.
  const notObjects = example === 'monitoring' ? [{ where: 'prometheus-adapter-rules.yaml', message: expect.stringMatching(/^kind is not set/) }] : [];
  expect(m.invalid).toEqual(notObjects);
  if (['quickstart', 'hosting', 'oidc', 'oauth-app'].includes(example)) expect(m.domains.length + m.drives.length + m.notRun.length).toBeGreaterThan(0);
});
