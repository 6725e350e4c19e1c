/**
 * A Retain Drive that leaves the folder while its Domain's data plane cannot start: `up` keeps the record
 * and releases the drive once the Domain serves. It let the Drive go at once, the drive kept with its
 * marker, which `up` never takes for an orphan (a cluster's operator does): a Drive re-added with the same
 * owner and drive name under another metadata.name was a NameConflict naming a Drive gone for good.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAdminClient } from '../../operator/src/admin-client/admin-client';
import { adminPasswordFile, readDriveRecords } from '../../operator/src/local/state-dir';
import { createUpRunner } from '../../operator/src/local/up-runner';
import { DOMAIN_YAML, UP_TEST_DATA_PLANE_ENV } from './support/up-harness';

const driveYaml = (name: string) => `apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: ${name}}\nspec: {domainRef: {name: d}, owner: {kind: Group, name: g}, name: Keep}\n`;

test('a Retain Drive removed while its Domain cannot start is released once it serves; a Drive re-added under another name then adopts the drive', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-up-prune-down-'));
  const dir = path.join(work, 'm');
  const state = path.join(work, 'state');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'domain.yaml'), DOMAIN_YAML('d'));
  fs.writeFileSync(path.join(dir, 'drive.yaml'), driveYaml('keep'));
  const lines: string[] = [];
  const runner = () => createUpRunner({ dir, stateDir: state, basePort: 0, logLevel: 'warn', pruneAfterMs: 0, log: (l) => lines.push(l), dataPlaneEnv: UP_TEST_DATA_PLANE_ENV });
  let up = runner();
  try {
    const first = await up.sync();
    const driveId = first.status.drives[0]!.drive.status!.driveId!;
    const url = first.status.domains[0]!.detail;
    await up.stop();

    // The data plane cannot start (its admin password is gone) while the Drive leaves the folder.
    const passwordFile = adminPasswordFile(state, 'default', 'd');
    const password = fs.readFileSync(passwordFile, 'utf8');
    fs.renameSync(passwordFile, `${passwordFile}.away`);
    fs.rmSync(path.join(dir, 'drive.yaml'));
    up = runner();
    await up.sync();
    expect(Object.keys(readDriveRecords(state))).toEqual(['default/keep']);
    expect(lines).toContainEqual(expect.stringMatching(/^Drive default\/keep left the folder; its drive \S+ is released once Domain default\/d serves/));
    expect(lines.filter((l) => l.includes('Retained'))).toEqual([]);
    await up.stop();

    // Back: the prune releases the drive (its marker removed, files kept); a Drive with the same owner and name adopts it.
    fs.renameSync(`${passwordFile}.away`, passwordFile);
    up = runner();
    await up.sync();
    expect(readDriveRecords(state)).toEqual({});
    fs.writeFileSync(path.join(dir, 'drive.yaml'), driveYaml('keep2'));
    const last = await up.sync();
    expect(last.status.drives.map((d) => [d.key, d.drive.status?.driveId, d.drive.status?.conditions?.find((c) => c.type === 'Ready')?.reason])).toEqual([['default/keep2', driveId, 'Applied']]);
    const client = createAdminClient({ baseUrl: last.status.domains[0]!.detail || url, credentials: { username: 'admin', password } });
    expect((await client.getDrive(driveId)).description).toBe('openpds.io/uid=local.default.keep2; reclaimPolicy=Retain; origin=Adopted');
  } finally {
    await up.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}, 180_000);
