// `openpds up -f examples/quickstart/` end to end: a real in-process data plane per Domain, the Drive
// applied through its admin API, a quota edited in the manifest applied, hand-made drift corrected, and a
// restart over the same state dir that finds the same drive again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runUpCommand } from '../../operator/src/local/up-command';
import { UP_TEST_DATA_PLANE_ENV, upHarness, waitFor } from './support/up-harness';

const REPO = path.resolve(__dirname, '../..');
const GiB = 1024 ** 3;

describe('openpds up on examples/quickstart', () => {
  const { dir, state, lines, start, domainApi } = upHarness('openpds-up-', { pruneAfter: '1s', domain: 'quickstart', seed: false }); // a real first start

  function driveStatus() {
    const file = path.join(state, 'up/status.json');
    if (!fs.existsSync(file)) return undefined;
    return JSON.parse(fs.readFileSync(file, 'utf8')).drives.find((d: { key: string }) => d.key === 'default/team')?.drive.status;
  }

  it('runs the Domain as a data plane, applies the Drive, follows manifest edits and corrects drift', async () => {
    fs.cpSync(path.join(REPO, 'examples/quickstart'), dir, { recursive: true });
    const up = start();
    try {
      const status = await waitFor('the Drive to be Ready', () => (driveStatus()?.conditions?.find((c: any) => c.type === 'Ready' && c.status === 'True') ? driveStatus() : undefined));
      const { api, token } = await domainApi();
      const drive = await api.ok('/v2/drive/get', { drive_id: status.driveId }, token);
      expect(drive).toMatchObject({ drive_name: 'Team drive', owner: 'team', owner_type: 'group', total_size: 5 * GiB });
      expect(lines.join('\n')).toMatch(/Drive\s+default\/team\s+True\s+Applied/);

      const manifest = path.join(dir, 'drive.yaml');
      fs.writeFileSync(manifest, fs.readFileSync(manifest, 'utf8').replace('totalSize: 5Gi', 'totalSize: 7Gi'));
      await waitFor('the new quota', async () => ((await api.ok('/v2/drive/get', { drive_id: status.driveId }, token)).total_size === 7 * GiB ? true : undefined));
      await waitFor('the status to follow', () => (driveStatus()?.totalSize === '7Gi' ? true : undefined));

      await api.ok('/v2/drive/update', { drive_id: status.driveId, total_size: GiB }, token);
      await waitFor('the drift to be corrected', async () => ((await api.ok('/v2/drive/get', { drive_id: status.driveId }, token)).total_size === 7 * GiB ? true : undefined));
      expect(lines.join('\n')).toContain('Warning DriftDetected');
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  });

  it('a restart over the same state finds the same drive, and a removed Drive (Retain) keeps its data', async () => {
    const before = driveStatus().driveId as string;
    const restartedAt = new Date().toISOString();
    const up = start();
    try {
      await waitFor('the data plane to restart', () => (lines.filter((l) => l.includes('data plane listening')).length >= 2 ? true : undefined));
      const { api, token } = await domainApi();
      await waitFor('a pass after the restart', () => (JSON.parse(fs.readFileSync(path.join(state, 'up/status.json'), 'utf8')).updatedAt > restartedAt ? true : undefined));
      expect(driveStatus().driveId).toBe(before);
      const all = await api.ok('/v2/drive/list', { owner: 'team' }, token);
      expect(all.items.map((d: { drive_id: string }) => d.drive_id)).toEqual([before]);

      fs.rmSync(path.join(dir, 'drive.yaml'));
      await waitFor('the Drive to leave the status', () => (driveStatus() === undefined ? true : undefined));
      expect(lines).toContain('Drive default/team left the folder: its drive will be released (reclaimPolicy Retain) in 1 s unless it comes back');
      await waitFor('the release, once the grace is over', () => (lines.some((l) => l.includes('Normal Retained')) ? true : undefined));
      const kept = await api.ok('/v2/drive/get', { drive_id: before }, token);
      expect(kept.description).not.toContain('openpds.io/uid=');
      expect(lines.join('\n')).toContain('Normal Retained');
      if (process.env.SHOW_UP_OUTPUT) console.log(lines.join('\n'));
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  });
});

describe('openpds up on examples/hosting', () => {
  it('does not run a hosting Domain as something else: StorageModeUnsupported, as the operator says, and its Drive waits', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-up-hosting-'));
    const state = path.join(work, 'state');
    const lines: string[] = [];
    const controller = new AbortController();
    const exited = runUpCommand(['-f', path.join(REPO, 'examples/hosting'), '--state-dir', state, '--base-port', '0', '--resync', '1'], { signal: controller.signal, out: (l) => lines.push(l), err: (l) => lines.push(`ERR ${l}`) });
    try {
      const status = await waitFor('status.json', () => {
        const file = path.join(state, 'up/status.json');
        return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
      });
      expect(status.domains).toEqual([expect.objectContaining({ key: 'default/photos', ready: 'False', reason: 'StorageModeUnsupported', detail: expect.stringContaining('storage.mode hosting is not implemented') })]);
      expect(lines.join('\n')).not.toContain('data plane listening');
      expect(status.drives[0].drive.status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'DomainNotReady' });
    } finally {
      controller.abort();
      await expect(exited).resolves.toBe(0);
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('openpds up with a manifest that turns invalid', () => {
  const { dir, lines, start, status, driveStatus, ready, domainApi, writeFolder, addPrecious } = upHarness('openpds-up-invalid-', { pruneAfter: '1s' });
  const drive = (name: string, spec: string) => `apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: ${name}}\nspec:\n  domainRef: {name: d}\n  owner: {kind: Group, name: team}\n  name: ${name}\n${spec}`;
  const KEEP = drive('keep', '  quota: {totalSize: 1Gi}\n  reclaimPolicy: Delete\n');
  const HOLD = drive('hold', '  quota: {totalSize: 1Gi}\n');
  const passes = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const before = status()?.updatedAt;
      await waitFor('a pass', () => (status()?.updatedAt !== before ? true : undefined));
    }
  };

  it('keeps the drive (Delete) and its files while its manifest is invalid, says so, and does not adopt it once fixed', async () => {
    writeFolder({ 'keep.yaml': KEEP, 'hold.yaml': HOLD });
    const up = start();
    try {
      await waitFor('both Drives Ready', () => (ready('default/keep') && ready('default/hold') ? true : undefined));
      const keepId = driveStatus('default/keep').driveId as string;
      await addPrecious(keepId);
      const { api, token } = await domainApi();

      fs.writeFileSync(path.join(dir, 'keep.yaml'), KEEP.replace('totalSize: 1Gi', 'totalSize: lots'));
      await waitFor('the invalid manifest to be reported', () => (lines.some((l) => l.startsWith('invalid keep.yaml Drive/default/keep: spec.quota.totalSize must match pattern')) ? true : undefined));
      expect(lines).toContain('1 manifest of the folder could not be read or is invalid: no drive is deleted or released and no Domain stopped until the folder is fixed; Drive default/keep keeps running as last applied');
      // An unknown field is invalid too, and a YAML error in another file: still nothing is removed.
      fs.writeFileSync(path.join(dir, 'hold.yaml'), HOLD.replace('  name: hold\n', '  name: hold\n  quotaa: 1Gi\n'));
      await waitFor('the unknown field to be reported', () => (lines.includes('invalid hold.yaml Drive/default/hold: unknown field "spec.quotaa"') ? true : undefined));
      fs.writeFileSync(path.join(dir, 'broken.yaml'), 'kind: Drive\nmetadata: [unclosed\n');
      await waitFor('the YAML error to be reported', () => (lines.some((l) => l.startsWith('invalid broken.yaml: ')) ? true : undefined));
      await passes(2);

      const text = lines.join('\n');
      expect(text).not.toMatch(/Normal (Deleted|Retained)/);
      expect(text).not.toContain('the Domain is gone');
      expect(text).not.toContain('stopped (removed from the manifests');
      const kept = await api.ok('/v2/drive/get', { drive_id: keepId }, token);
      expect(kept.description).toContain('openpds.io/uid=local.default.keep');
      expect((await api.ok('/v2/file/list', { drive_id: keepId, parent_file_id: 'root' }, token)).items.map((f: { name: string }) => f.name)).toEqual(['precious']);
      // Still in the status, as last applied.
      expect(driveStatus('default/keep')).toMatchObject({ driveId: keepId, totalSize: '1Gi' });

      // Fixed (with a new quota): the same drive, its own Drive's still (Created, not Adopted), the edit applied.
      fs.rmSync(path.join(dir, 'broken.yaml'));
      fs.writeFileSync(path.join(dir, 'hold.yaml'), HOLD);
      fs.writeFileSync(path.join(dir, 'keep.yaml'), KEEP.replace('totalSize: 1Gi', 'totalSize: 2Gi'));
      await waitFor('the new quota', () => (driveStatus('default/keep')?.totalSize === '2Gi' ? true : undefined));
      expect(driveStatus('default/keep')).toMatchObject({ driveId: keepId, origin: 'Created' });
      expect(lines.join('\n')).not.toContain('Normal Adopted');
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  });

  it('a Drive removed while up was stopped is released through its running Domain at the next start, not "the Domain is gone"', async () => {
    const holdId = driveStatus('default/hold').driveId as string;
    fs.rmSync(path.join(dir, 'hold.yaml'));
    const up = start();
    try {
      await waitFor('the Drive to be released', () => (lines.some((l) => l.startsWith('Drive default/hold: Normal Retained: kept drive')) ? true : undefined));
      // Not at once: missing at start-up, it had the grace first.
      expect(lines).toContain('Drive default/hold left the folder: its drive will be released (reclaimPolicy Retain) in 1 s unless it comes back');
      const { api, token } = await domainApi();
      expect((await api.ok('/v2/drive/get', { drive_id: holdId }, token)).description).not.toContain('openpds.io/uid=');
      expect(lines.join('\n')).not.toContain('the Domain is gone');
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  });
});

// A git checkout, stash or branch switch takes a manifest away for a moment: the drive and its files must
// survive that (--prune-after), while the restart and a rename keep the same drive too.
describe('openpds up with a Drive manifest briefly missing', () => {
  const { work, dir, state, lines, start, driveStatus, ready, logged, passBegunAfter, drivesOf, writeFolder, addPrecious } = upHarness('openpds-up-prune-', { pruneAfter: '2s' });
  const opsDrives = () => drivesOf('opsgroup');
  const aside = path.join(work, 'aside.yaml');
  const OPS = 'apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: ops}\nspec:\n  domainRef: {name: d}\n  owner: {kind: Group, name: opsgroup}\n  name: Ops drive\n  quota: {totalSize: 1Gi}\n  reclaimPolicy: Delete\n';
  const PENDING = 'Drive default/ops left the folder: its drive will be deleted (reclaimPolicy Delete) in 2 s unless it comes back';
  let opsId = '';

  it('a manifest missing for less than the grace (mv away, copy back) keeps the drive (Delete) and its files', async () => {
    writeFolder({ 'ops.yaml': OPS });
    const up = start();
    try {
      await waitFor('the Drive Ready', () => ready('default/ops'));
      opsId = driveStatus('default/ops').driveId;
      await addPrecious(opsId);

      fs.renameSync(path.join(dir, 'ops.yaml'), aside);
      await logged(PENDING);
      const pendingSince = Date.now(); // no earlier than up first saw it missing
      fs.copyFileSync(aside, path.join(dir, 'ops.yaml'));
      await logged(`Drive default/ops is back in the folder: pending prune cancelled, drive ${opsId} kept`);
      await passBegunAfter(pendingSince + 2_000); // past the grace, with passes in between
      await waitFor('the Drive Ready again', () => ready('default/ops'));

      expect(driveStatus('default/ops').driveId).toBe(opsId);
      expect(await opsDrives()).toEqual([expect.objectContaining({ id: opsId, files: ['precious'] })]);
      expect(lines.join('\n')).not.toMatch(/Normal (Deleted|Retained)/);
      expect(lines.filter((l) => l.includes('Normal Created'))).toHaveLength(1);
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  });

  it('a manifest missing when up starts is pending too, not deleted at once', async () => {
    fs.renameSync(path.join(dir, 'ops.yaml'), aside);
    const seen = lines.length;
    const up = start();
    try {
      await waitFor('the pending notice', () => (lines.slice(seen).includes(PENDING) ? true : undefined));
      const pendingSince = Date.now();
      fs.copyFileSync(aside, path.join(dir, 'ops.yaml'));
      await logged(`Drive default/ops is back in the folder: pending prune cancelled, drive ${opsId} kept`);
      await passBegunAfter(pendingSince + 2_000);
      await waitFor('the Drive Ready again', () => ready('default/ops'));
      expect(driveStatus('default/ops').driveId).toBe(opsId);
      expect(await opsDrives()).toEqual([expect.objectContaining({ id: opsId, files: ['precious'] })]);
      expect(lines.join('\n')).not.toMatch(/Normal (Deleted|Retained)/);
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  });

  it('a manifest gone for the whole grace is pruned (Delete: the drive and its files)', async () => {
    const up = start();
    try {
      await waitFor('the Drive Ready', () => ready('default/ops'));
      fs.rmSync(path.join(dir, 'ops.yaml'));
      const removedAt = Date.now();
      await waitFor('the deletion', () => (lines.some((l) => l.startsWith(`Drive default/ops: Normal Deleted: deleted drive ${opsId} and its files`)) ? true : undefined));
      expect(Date.now() - removedAt).toBeGreaterThanOrEqual(2_000);
      expect(await opsDrives()).toEqual([]);
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  });

  it('refuses a --prune-after that is not a duration', async () => {
    const errors: string[] = [];
    await expect(runUpCommand(['-f', dir, '--state-dir', state, '--prune-after', 'soon'], { err: (l) => errors.push(l) })).resolves.toBe(2);
    expect(errors[0]).toMatch(/^openpds up: --prune-after must be a duration such as 30s, 500ms, 2m or 0 \(got "soon"\)/);
  });
});

// Renaming a Drive (metadata.name; the owner and spec.name stay) moves its drive to the new name, as kubectl
// users expect of a manifest edit: nothing is created or deleted, whatever the reclaimPolicy (red-team F7).
describe('openpds up with a renamed Drive', () => {
  const { dir, state, lines, start, driveStatus, ready, passBegunAfter, drivesOf, writeFolder, addPrecious } = upHarness('openpds-up-move-', { pruneAfter: '1s' });
  const opsDrives = () => drivesOf('opsgroup');
  const drive = (name: string, policy: string) => `apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: ${name}}\nspec:\n  domainRef: {name: d}\n  owner: {kind: Group, name: opsgroup}\n  name: Ops drive\n  quota: {totalSize: 1Gi}\n  reclaimPolicy: ${policy}\n`;
  // Rewritten in place, as an editor saves it: one change the watcher sees.
  const rewrite = (text: string) => {
    fs.writeFileSync(path.join(dir, 'ops.yaml.tmp'), text);
    fs.renameSync(path.join(dir, 'ops.yaml.tmp'), path.join(dir, 'ops.yaml'));
  };
  let opsId = '';

  it('reclaimPolicy Delete: the renamed Drive keeps the drive and its files, its marker names the new Drive', async () => {
    writeFolder({ 'ops.yaml': drive('ops', 'Delete') });
    const up = start();
    try {
      await waitFor('the Drive Ready', () => ready('default/ops'));
      opsId = driveStatus('default/ops').driveId;
      await addPrecious(opsId);

      rewrite(drive('ops-renamed', 'Delete'));
      await waitFor('the move', () => (lines.includes(`Drive default/ops moved to default/ops-renamed: drive ${opsId} and its files kept`) ? true : undefined));
      const movedSince = Date.now(); // no earlier than the pass that saw default/ops gone
      await waitFor('the renamed Drive Ready', () => ready('default/ops-renamed'));
      await passBegunAfter(movedSince + 1_000); // past the grace: nothing is pruned later either
      expect(driveStatus('default/ops-renamed')).toMatchObject({ driveId: opsId, origin: 'Created' });
      expect(await opsDrives()).toEqual([{ id: opsId, description: 'openpds.io/uid=local.default.ops-renamed; reclaimPolicy=Delete', files: ['precious'] }]);
      expect(lines.join('\n')).not.toMatch(/Normal (Deleted|Retained|Adopted)|left the folder|DriftDetected/);
      expect(lines.filter((l) => l.includes('Normal Created'))).toHaveLength(1);
      expect(JSON.parse(fs.readFileSync(path.join(state, 'up/drives.json'), 'utf8'))).not.toHaveProperty(['default/ops']);
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  });

  it('renamed and turned Delete -> Retain while up was stopped: moved at the next start, not deleted by the old policy', async () => {
    rewrite(drive('ops-final', 'Retain'));
    const up = start();
    try {
      await waitFor('the move', () => (lines.includes(`Drive default/ops-renamed moved to default/ops-final: drive ${opsId} and its files kept`) ? true : undefined));
      const movedSince = Date.now();
      await waitFor('the renamed Drive Ready', () => ready('default/ops-final'));
      await passBegunAfter(movedSince + 1_000);
      expect(driveStatus('default/ops-final')).toMatchObject({ driveId: opsId });
      expect(await opsDrives()).toEqual([{ id: opsId, description: 'openpds.io/uid=local.default.ops-final; reclaimPolicy=Retain', files: ['precious'] }]);
      expect(lines.join('\n')).not.toMatch(/Normal (Deleted|Retained|Adopted)|left the folder|DriftDetected/);
      expect(lines.filter((l) => l.includes('Normal Created'))).toHaveLength(1);
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  });
  it('a copy saved before the original is removed (cp, then rm): a NameConflict while both exist, then the move; never a second drive', async () => {
    const up = start();
    try {
      await waitFor('the Drive Ready', () => ready('default/ops-final'));
      fs.writeFileSync(path.join(dir, 'ops-copy.yaml'), drive('ops-copy', 'Retain'));
      await waitFor('the conflict', () => (driveStatus('default/ops-copy')?.conditions?.find((c: { type: string; reason: string }) => c.type === 'Ready' && c.reason === 'NameConflict') ? true : undefined));
      expect(await opsDrives()).toHaveLength(1);
      await passBegunAfter(Date.now() + 1_000); // a second and a pass later (the conflict asks again in a second): still one drive
      expect((await opsDrives()).map((d) => d.id)).toEqual([opsId]);

      fs.rmSync(path.join(dir, 'ops.yaml'));
      await waitFor('the move', () => (lines.includes(`Drive default/ops-final moved to default/ops-copy: drive ${opsId} and its files kept`) ? true : undefined));
      await waitFor('the copy Ready', () => ready('default/ops-copy'));
      expect(driveStatus('default/ops-copy')).toMatchObject({ driveId: opsId });
      expect(await opsDrives()).toEqual([{ id: opsId, description: 'openpds.io/uid=local.default.ops-copy; reclaimPolicy=Retain', files: ['precious'] }]);
      expect(lines.join('\n')).not.toMatch(/Normal (Deleted|Retained|Adopted)|left the folder/);
      expect(lines.filter((l) => l.includes('Normal Created'))).toHaveLength(1);
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  });
});

const TEAM = (domain: string) => `apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: team}\nspec:\n  domainRef: {name: ${domain}}\n  owner: {kind: Group, name: team}\n  name: Team drive\n  quota: {totalSize: 1Gi}\n  reclaimPolicy: Delete\n`;

/** Starts `up` with args of the test's own and answers its exit code, or 'running' if it still runs after `ms`; it is stopped either way. */
async function exitWithin(ms: number, argv: string[], lines: string[]): Promise<number | 'running'> {
  const controller = new AbortController();
  const exited = runUpCommand(argv, { signal: controller.signal, out: (l) => lines.push(l), err: (l) => lines.push(`ERR ${l}`) });
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([exited, new Promise<'running'>((r) => (timer = setTimeout(() => r('running'), ms)))]);
  clearTimeout(timer);
  controller.abort();
  await exited;
  return outcome;
}

// A state dir is one folder's (red-team: `.openpds` is per working directory, so `up -f upA` then
// `up -f upB` from the same place deleted upA's drive and files), and one `up`'s at a time.
describe('openpds up and its state dir', () => {
  const { work, dir, state, lines: upLines, start, driveStatus, ready, drivesOf, writeFolder, addPrecious } = upHarness('openpds-up-state-', { pruneAfter: '500ms' });
  /** The Drive Ready in a pass of the `up` started last (status.json outlives a run). */
  const readyAgain = () => waitFor('a pass of this run with the Drive Ready', () => (upLines.filter((l) => l.startsWith('Domain default/d: data plane listening')).length >= runs && ready('default/team') ? true : undefined), 120_000);
  let runs = 0;
  let teamId = '';

  it('up over another folder with the same state is refused, naming both folders, and prunes nothing of the first', async () => {
    writeFolder({ 'team.yaml': TEAM('d') });
    let up = start();
    runs++;
    try {
      await readyAgain();
      teamId = driveStatus('default/team').driveId;
      await addPrecious(teamId);
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }

    const other = path.join(work, 'upB'); // the same Domain, no Drive
    fs.mkdirSync(other);
    fs.copyFileSync(path.join(dir, 'domain.yaml'), path.join(other, 'domain.yaml'));
    const lines: string[] = [];
    await expect(exitWithin(5_000, ['-f', other, '--state-dir', state, '--base-port', '0', '--resync', '1', '--prune-after', '0'], lines)).resolves.toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^ERR openpds up: the state dir .* belongs to the manifests in .*manifests, not .*upB: .* --state-dir DIR, or, .* pass --adopt-state\.$/)]);

    up = start();
    runs++;
    try {
      await readyAgain();
      expect(await drivesOf('team')).toEqual([expect.objectContaining({ id: teamId, files: ['precious'] })]);
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  }, 240_000);

  it('a second up on the state while one runs is refused at once in one line naming the first, and touches nothing', async () => {
    const up = start();
    runs++;
    try {
      await readyAgain();
      const records = fs.readFileSync(path.join(state, 'up/drives.json'), 'utf8');
      const lines: string[] = [];
      await expect(exitWithin(5_000, ['-f', dir, '--state-dir', state, '--base-port', '0', '--resync', '1'], lines)).resolves.toBe(1);
      expect(lines).toEqual([expect.stringMatching(new RegExp(`^ERR openpds up: the state dir .* is in use by openpds up \\(pid ${process.pid} on .*, -f .*manifests\\): stop that one first, or give this one another --state-dir\\. `))]);
      expect(fs.readFileSync(path.join(state, 'up/drives.json'), 'utf8')).toBe(records);
      expect(await drivesOf('team')).toEqual([expect.objectContaining({ id: teamId, files: ['precious'] })]);
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  }, 240_000);

  it('--adopt-state hands the state to the other folder, says so, and prunes what it lacks as for a removed Drive (after the grace)', async () => {
    const other = path.join(work, 'upB');
    const lines: string[] = [];
    const controller = new AbortController();
    const exited = runUpCommand(['-f', other, '--state-dir', state, '--adopt-state', '--base-port', '0', '--resync', '1', '--prune-after', '500ms'], { signal: controller.signal, out: (l) => lines.push(l), err: (l) => lines.push(`ERR ${l}`), dataPlaneEnv: UP_TEST_DATA_PLANE_ENV });
    try {
      await waitFor('the pending prune', () => (lines.includes('Drive default/team left the folder: its drive will be deleted (reclaimPolicy Delete) in 0.5 s unless it comes back') ? true : undefined), 120_000);
      expect(lines[0]).toBe(`openpds up: the state dir ${state} now belongs to ${fs.realpathSync(other)} (--adopt-state; it was ${fs.realpathSync(dir)}'s): Drives it recorded that this folder lacks are pruned (per reclaimPolicy) once --prune-after has passed`);
      await waitFor('the deletion', () => (lines.some((l) => l.startsWith(`Drive default/team: Normal Deleted: deleted drive ${teamId}`)) ? true : undefined), 60_000);
    } finally {
      controller.abort();
      await expect(exited).resolves.toBe(0);
    }
  }, 240_000);
});

// spec.domainRef and spec.owner are immutable (the CRD's transition rules): renaming the Domain in both files
// was taken for the drive deleted in the data plane (a false DriftDetected) and an empty drive was created.
describe('openpds up with a Drive moved to another Domain', () => {
  const { dir, lines, start, seedDomain, driveStatus, ready, logged, passBegunAfter, drivesOf, writeFolder, addPrecious, status } = upHarness('openpds-up-immutable-', { pruneAfter: '500ms' });

  it("refuses the change with the CRD's message: the Drive keeps its drive, files and Domain; no DriftDetected, no new drive", async () => {
    writeFolder({ 'team.yaml': TEAM('d') });
    const up = start();
    try {
      await waitFor('the Drive Ready', () => ready('default/team'), 60_000);
      const teamId = driveStatus('default/team').driveId as string;
      await addPrecious(teamId);

      await seedDomain('d2');
      fs.writeFileSync(path.join(dir, 'domain.yaml'), fs.readFileSync(path.join(dir, 'domain.yaml'), 'utf8').replace('{name: d}', '{name: d2}'));
      fs.writeFileSync(path.join(dir, 'team.yaml'), TEAM('d2'));
      await logged('invalid team.yaml Drive/default/team: spec.domainRef: Invalid value: "object": domainRef is immutable');
      await waitFor('Domain d2 running', () => (lines.some((l) => l.startsWith('Domain default/d2: data plane listening')) ? true : undefined), 60_000);
      await passBegunAfter(Date.now() + 500); // past the grace, with passes in between
      await waitFor('a pass with d2 in the status', () => (status()?.domains.some((d: { key: string }) => d.key === 'default/d2') ? true : undefined));

      expect(driveStatus('default/team')).toMatchObject({ driveId: teamId });
      expect(await drivesOf('team')).toEqual([expect.objectContaining({ id: teamId, files: ['precious'] })]);
      const text = lines.join('\n');
      expect(text).not.toMatch(/DriftDetected|Normal (Deleted|Retained|Recreated)|Domain default\/d: stopped/);
      expect(lines.filter((l) => l.includes('Normal Created'))).toHaveLength(1);
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  }, 240_000);
});

// Every CEL rule of the CRDs, as `kubectl apply` would apply them: a Domain whose name breaks the rule on
// the whole object is not run, and a running Domain's refused change (its volume shrunk) keeps it as it was.
describe("openpds up and the CRDs' CEL rules", () => {
  const { dir, lines, start, logged, status, writeFolder } = upHarness('openpds-up-cel-', { pruneAfter: '1s' });
  const LONG = 'a'.repeat(49);

  it("refuses a 49-character Domain name and a shrunk volume with the CRD's messages; the valid Domain runs as last applied", async () => {
    writeFolder({ 'long.yaml': `apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: ${LONG}}\nspec: {storage: {volume: {size: 1Gi}}}\n` });
    const up = start();
    try {
      await logged(`invalid long.yaml Domain/default/${LONG}: <nil>: Invalid value: "object": metadata.name must be at most 48 characters: the Service <name>-worker-metrics built from it must fit a 63-character DNS label`);
      await waitFor('Domain d running', () => (lines.some((l) => l.startsWith('Domain default/d: data plane listening')) ? true : undefined), 60_000);

      fs.writeFileSync(path.join(dir, 'domain.yaml'), fs.readFileSync(path.join(dir, 'domain.yaml'), 'utf8').replace('size: 1Gi', 'size: 512Mi'));
      await logged('invalid domain.yaml Domain/default/d: spec.storage.volume.size: Invalid value: "string": storage.volume.size cannot shrink: the PersistentVolumeClaim holding the data only grows (and only when its StorageClass allows volume expansion)');
      const before = status()?.updatedAt;
      await waitFor('another pass', () => (status()?.updatedAt !== before ? true : undefined));
      expect(status()?.domains.map((d: { key: string }) => d.key)).toEqual(['default/d']);
      expect(lines.join('\n')).not.toMatch(/Domain default\/d: (restarting|stopped)|Domain default\/a{49}/);
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  }, 240_000);
});
