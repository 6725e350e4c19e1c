// `openpds up`/`plan`/`apply` refuse a quota past the data plane's safe integers locally, as `kubectl
// apply` refuses it with the CRD's CEL rule: run, the drive would sit at AdminApiRejected forever.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeProblem, loadManifests } from './manifests';

const drive = (name: string, totalSize: string) => `apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: ${name}}\nspec: {domainRef: {name: d}, owner: {kind: User, name: u}, quota: {totalSize: "${totalSize}"}}`;
const domain = (name: string, size: string) => `apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: ${name}}\nspec: {storage: {volume: {}}, quotas: {defaultDriveSize: "${size}"}}`;

test('a Drive quota or a default drive size above 9007199254740991 bytes is refused with the CRD message; up to it, exactly, is run', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-manifests-bounds-'));
  try {
    fs.writeFileSync(
      path.join(dir, 'all.yaml'),
      [
        drive('huge', '99999999999Pi'),
        drive('one-over', '9007199254740992'),
        drive('fraction-over', '9007199254740991.5'),
        drive('max', '9007199254740991'),
        drive('seven', '7Pi'),
        drive('unlimited', '0'),
        domain('big', '10P'),
        domain('fine', '7.99Pi'),
      ].join('\n---\n'),
    );
    const m = loadManifests(dir);
    expect(m.drives.map((d) => d.metadata.name)).toEqual(['max', 'seven', 'unlimited']);
    expect(m.domains.map((d) => d.metadata.name)).toEqual(['fine']);
    const message = (what: string) => `${what} must be at most 9007199254740991 bytes (just under 8Pi, the data plane's largest safe integer); use "0" for unlimited`;
    expect(m.invalid.map(describeProblem)).toEqual([
      `all.yaml Drive/default/huge: spec.quota.totalSize: Invalid value: "string": ${message('quota.totalSize')}`,
      `all.yaml Drive/default/one-over: spec.quota.totalSize: Invalid value: "string": ${message('quota.totalSize')}`,
      `all.yaml Drive/default/fraction-over: spec.quota.totalSize: Invalid value: "string": ${message('quota.totalSize')}`,
      `all.yaml Domain/default/big: spec.quotas.defaultDriveSize: Invalid value: "string": ${message('quotas.defaultDriveSize')}`,
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
