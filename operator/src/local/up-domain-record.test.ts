/**
 * A Domain's transition rules across a restart of `up` (red team F4): checked against the Domain its
 * domain.json records, so spec.domainId added, removed or changed while up was stopped is refused with the
 * message a running up gives, and the data plane is not started on the old data dir under another id.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Domain } from '../domain-types';
import { seedDomainDatabase } from '../../../test/operator/support/up-seed';
import { UP_TEST_DATA_PLANE_ENV } from '../../../test/operator/support/up-harness';
import { loadManifests } from './manifests';
import { adminPassword, readRecordedDomains, writeDomainRecord } from './state-dir';
import { createUpRunner } from './up-runner';

const domainYaml = (domainId?: string) =>
  `apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: d}\nspec: {${domainId ? `domainId: ${domainId}, ` : ''}storage: {volume: {size: 1Gi}}}\n`;

function setup(recordedId: string | undefined, folderId: string | undefined) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-up-domain-record-'));
  const dir = path.join(work, 'm');
  const state = path.join(work, 'state');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'domain.yaml'), domainYaml(recordedId));
  const ran = loadManifests(dir).domains[0]!;
  writeDomainRecord(state, 'default', 'd', { url: 'http://127.0.0.1:1', port: 1, domain: ran });
  fs.writeFileSync(path.join(dir, 'domain.yaml'), domainYaml(folderId));
  return { work, dir, state };
}

test.each([
  ['added', undefined, 'other-id', 'domainId cannot be added or removed after creation'],
  ['removed', 'first-id', undefined, 'domainId cannot be added or removed after creation'],
  ['changed', 'first-id', 'other-id', 'domainId is immutable'],
])('spec.domainId %s while up was stopped is refused at the next up, against domain.json', async (_how, recordedId, folderId, message) => {
  const { work, dir, state } = setup(recordedId, folderId);
  const lines: string[] = [];
  const runner = createUpRunner({ dir, stateDir: state, basePort: 0, logLevel: 'warn', log: (l) => lines.push(l) });
  try {
    const { status } = await runner.sync();
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^invalid domain\\.yaml Domain/default/d: spec.*${message}`)));
    expect(status.domains).toEqual([]); // not started under the other id
    expect(lines.filter((l) => l.includes('data plane listening'))).toEqual([]);
  } finally {
    await runner.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('readRecordedDomains: each domain.json with a Domain, by namespace/name; unreadable or older records left out', () => {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-recorded-domains-'));
  try {
    const domain = { apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', metadata: { name: 'a', namespace: 'prod' }, spec: { domainId: 'x' } } as unknown as Domain;
    writeDomainRecord(state, 'prod', 'a', { url: 'u', port: 1, domain });
    writeDomainRecord(state, 'default', 'old', { url: 'u', port: 2 });
    fs.mkdirSync(path.join(state, 'up/default/garbage'), { recursive: true });
    fs.writeFileSync(path.join(state, 'up/default/garbage/domain.json'), 'garbage');
    expect(readRecordedDomains(state)).toEqual({ 'prod/a': domain });
    expect(readRecordedDomains(path.join(state, 'none'))).toEqual({});
  } finally {
    fs.rmSync(state, { recursive: true, force: true });
  }
});

test('a Domain that leaves the folder and comes back in the same run is checked against domain.json too (review 17)', async () => {
  const { work, dir, state } = setup('first-id', 'first-id');
  // A seeded database and test-cost argon2 (up-seed.ts, up-harness.ts): this is about domain.json, not a
  // first start. Its admin password first, as a first start makes it before the database.
  adminPassword(state, 'default', 'd', 'first-id');
  await seedDomainDatabase(state, 'd');
  const lines: string[] = [];
  const runner = createUpRunner({ dir, stateDir: state, basePort: 0, logLevel: 'warn', allowEmpty: true, log: (l) => lines.push(l), dataPlaneEnv: UP_TEST_DATA_PLANE_ENV });
  try {
    expect((await runner.sync()).status.domains.map((d) => d.key)).toEqual(['default/d']); // runs as first-id
    expect(lines.filter((l) => l.startsWith('Domain default/d: data plane listening'))).toHaveLength(1);
    fs.rmSync(path.join(dir, 'domain.yaml'));
    expect((await runner.sync()).status.domains).toEqual([]); // gone: stopped, its data dir kept
    fs.writeFileSync(path.join(dir, 'domain.yaml'), domainYaml('other-id'));
    const { status } = await runner.sync();
    expect(lines).toContainEqual(expect.stringMatching(/^invalid domain\.yaml Domain\/default\/d: spec.*domainId is immutable/));
    expect(status.domains).toEqual([]); // not started on first-id's data dir under other-id
  } finally {
    await runner.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}, 120_000);
