import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeProblem, loadManifests } from './manifests';
import { domainDir } from './state-dir';

const domain = (meta: string) => `apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: ${meta}\nspec: {storage: {mode: standard, volume: {size: 1Gi}}}`;
const drive = (meta: string) => `apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: ${meta}\nspec: {domainRef: {name: d}, owner: {kind: Group, name: team}}`;

function load(...docs: string[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-manifest-names-'));
  try {
    fs.writeFileSync(path.join(dir, 'all.yaml'), docs.join('\n---\n'));
    return loadManifests(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('a namespace that is not a DNS-1123 label is refused, as the API server refuses it (it named a folder outside the state dir)', () => {
  const m = load(domain('{name: quickstart, namespace: "../../../escaped"}'), drive('{name: team, namespace: "a/b"}'), drive('{name: t2, namespace: 7}'));
  expect(m.domains).toEqual([]);
  expect(m.drives).toEqual([]);
  expect(m.invalid.map(describeProblem)).toEqual([
    expect.stringMatching(/^all\.yaml Domain\/\.\.\/\.\.\/\.\.\/escaped\/quickstart: metadata\.namespace: Invalid value: "\.\.\/\.\.\/\.\.\/escaped": a lowercase RFC 1123 label/),
    expect.stringMatching(/^all\.yaml Drive\/a\/b\/team: metadata\.namespace: Invalid value: "a\/b"/),
    expect.stringMatching(/^all\.yaml Drive\/7\/t2: metadata\.namespace: Invalid value: 7/),
  ]);
});

test('a Drive name that is not a DNS-1123 subdomain is refused; dots, digits and an empty namespace are fine', () => {
  const m = load(drive('{name: "Team_Bad/../x"}'), drive('{name: "..", namespace: prod}'), drive('{name: team.eng-2, namespace: ""}'), drive(`{name: ${'a'.repeat(254)}}`));
  expect(m.drives.map((d) => `${d.metadata.namespace}/${d.metadata.name}`)).toEqual(['default/team.eng-2']);
  expect(m.invalid.map((p) => p.message)).toEqual([
    expect.stringMatching(/^metadata\.name: Invalid value: "Team_Bad\/\.\.\/x": a lowercase RFC 1123 subdomain/),
    expect.stringMatching(/^metadata\.name: Invalid value: "\.\.": /),
    expect.stringMatching(/^metadata\.name: Invalid value: "a{254}": /),
  ]);
});

test('a Domain name keeps its CRD rule (a DNS-1035 label), after the generic check', () => {
  const m = load(domain('{name: a.b}'), domain('{name: Bad_Name}'));
  expect(m.invalid.map((p) => p.message)).toEqual([expect.stringMatching(/metadata\.name must be a DNS-1035 label/), expect.stringMatching(/^metadata\.name: Invalid value: "Bad_Name"/)]);
});

test('domainDir never names a folder outside the state dir, nor another Domain', () => {
  const state = path.join(os.tmpdir(), 'openpds-state-x');
  expect(domainDir(state, 'default', 'quickstart')).toBe(path.join(state, 'up', 'default', 'quickstart'));
  for (const [ns, name] of [['../../../escaped', 'q'], ['..', 'q'], ['a/b', 'q'], ['default', '..'], ['default', 'x/../../y'], ['', 'q'], ['default', '.']]) {
    expect(() => domainDir(state, ns!, name!)).toThrow(/refused, its state would not be a folder of/);
  }
});
