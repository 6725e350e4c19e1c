// `openpds up` against what a folder can turn into by accident (red team, local mode): an empty folder, a
// Ctrl-C in a long pass, a Domain removed with its Drive while up was stopped, a --base-port moved. Each
// must never delete a drive nobody asked to delete, nor leave the state behind what was done.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { runPlanCommand } from '../../operator/src/local/plan-command';
import { DOMAIN_YAML as DOMAIN, upHarness, waitFor } from './support/up-harness';

const DRIVE = (name: string, domain = 'd') => `apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: ${name}}\nspec: {domainRef: {name: ${domain}}, owner: {kind: Group, name: team}, name: ${name}, quota: {totalSize: 1Gi}, reclaimPolicy: Delete}\n`;

describe('openpds up over a folder that went empty', () => {
  const { work, dir, lines, start, driveStatus, ready, logged, passes, domainApi } = upHarness('openpds-local-empty-');

  it('deletes no drive and stops no Domain (even with --prune-after 0) and says why', async () => {
    fs.writeFileSync(path.join(dir, 'domain.yaml'), DOMAIN('d'));
    fs.writeFileSync(path.join(dir, 'drive.yaml'), DRIVE('photos'));
    const up = start();
    try {
      await waitFor('the Drive Ready', () => ready('default/photos'));
      const id = driveStatus('default/photos').driveId as string;
      // A checkout of another branch, an unmounted volume: the folder is there, its files are not.
      fs.mkdirSync(path.join(work, 'aside'));
      for (const f of ['domain.yaml', 'drive.yaml']) fs.renameSync(path.join(dir, f), path.join(work, 'aside', f));
      await logged((l) => l.startsWith('invalid .: no manifests in the folder'));
      await passes(2);
      expect(lines.join('\n')).not.toMatch(/Normal (Deleted|Retained)|stopped \(removed from the manifests/);
      const { api, token } = await domainApi('d');
      expect((await api.ok('/v2/drive/get', { drive_id: id }, token)).drive_id).toBe(id);
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  });

  it('with --allow-empty, an empty folder is no problem (nothing of it is reported invalid)', async () => {
    const seen = lines.length;
    const up = start('--allow-empty');
    try {
      await passes(2);
      expect(lines.slice(seen).filter((l) => l.startsWith('invalid '))).toEqual([]);
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  });
});

describe('openpds plan --state and what the next up prunes', () => {
  const { dir, state, start, driveStatus, ready } = upHarness('openpds-local-plan-prunes-');

  it('lists a recorded Drive that left the folder as the next up\'s delete, counts it, and exits 2 with --detailed-exitcode', async () => {
    fs.writeFileSync(path.join(dir, 'domain.yaml'), DOMAIN('d'));
    fs.writeFileSync(path.join(dir, 'drive.yaml'), DRIVE('photos'));
    const up = start();
    let id = '';
    try {
      await waitFor('the Drive Ready', () => ready('default/photos'));
      id = driveStatus('default/photos').driveId as string;
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
    fs.rmSync(path.join(dir, 'drive.yaml'));
    const out: string[] = [];
    const code = await runPlanCommand(['-f', dir, '--state', state, '--detailed-exitcode'], { out: (l) => out.push(l), err: (l) => out.push(`ERR ${l}`) });
    expect(out).toContain(`- delete  Drive default/photos (${id}): left the folder; reclaimPolicy Delete, the drive and its files are deleted (by the next openpds up, after --prune-after)`);
    expect(out.at(-1)).toBe('Plan: 0 to create, 0 to change, 1 to delete, 0 unchanged.');
    expect(code).toBe(2);
  });
});

describe('openpds up stopped (Ctrl-C) in the middle of a pass', () => {
  const { dir, state, lines, start } = upHarness('openpds-local-sigint-');

  it('stops after the current drive, says so, and records every drive it made', async () => {
    fs.writeFileSync(path.join(dir, 'domain.yaml'), DOMAIN('d'));
    fs.writeFileSync(path.join(dir, 'drives.yaml'), Array.from({ length: 60 }, (_, i) => DRIVE(`d${String(i).padStart(2, '0')}`)).join('---\n'));
    const up = start();
    const created = () => lines.filter((l) => l.includes(': Normal Created: created drive')).length;
    await waitFor('a few drives created', () => (created() >= 5 ? true : undefined), 120_000);
    up.stop();
    await expect(up.exited).resolves.toBe(0);
    expect(lines).toContain('openpds up: stopping after the current drive (what this pass did is recorded; the next up does the rest)');
    expect(created()).toBeLessThan(60);
    // drives.json holds each drive made, so the next up finds them instead of making them again.
    const records = JSON.parse(fs.readFileSync(path.join(state, 'up/drives.json'), 'utf8')) as Record<string, { drive: { status?: { driveId?: string } } }>;
    expect(Object.values(records).filter((r) => r.drive.status?.driveId)).toHaveLength(created());
  }, 180_000);
});

describe('openpds up with another --base-port than the last run', () => {
  const { state, dir, lines, start, ready } = upHarness('openpds-local-base-port-');
  // Two ranges of 50 ports apart from each other, picked at random to stay clear of other tests.
  const first = 20_000 + Math.floor(Math.random() * 200) * 100;
  const second = first + 50;
  const url = () => JSON.parse(fs.readFileSync(path.join(state, 'up/default/d/domain.json'), 'utf8')).url as string;
  const port = () => Number(new URL(url()).port);

  it('moves a Domain that ran before into the range asked for, and says it moved', async () => {
    fs.writeFileSync(path.join(dir, 'domain.yaml'), DOMAIN('d'));
    fs.writeFileSync(path.join(dir, 'drive.yaml'), DRIVE('photos'));
    for (const [base, check] of [
      [first, () => undefined],
      [second, (before: number) => expect(lines).toContain(`Domain default/d: moved from port ${before} of its last run (outside --base-port ${second}..${second + 49})`)],
    ] as const) {
      const before = fs.existsSync(path.join(state, 'up/default/d/domain.json')) ? port() : 0;
      const up = start('--base-port', String(base));
      try {
        await waitFor('the Drive Ready', () => (ready('default/photos') && port() >= base ? true : undefined), 120_000);
        expect(port()).toBeGreaterThanOrEqual(base);
        expect(port()).toBeLessThan(base + 50);
        check(before);
      } finally {
        up.stop();
        await expect(up.exited).resolves.toBe(0);
      }
    }
  }, 240_000);
});

describe('openpds up with its --base-port taken by another program', () => {
  const { state, dir, lines, start, ready } = upHarness('openpds-local-port-taken-');
  const base = 20_000 + Math.floor(Math.random() * 200) * 100 + 25;

  it('starts the Domain on the next free port of the range (start errors that name OPENPDS_PORT included)', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve, reject) => holder.once('error', reject).listen(base, '0.0.0.0', resolve));
    fs.writeFileSync(path.join(dir, 'domain.yaml'), DOMAIN('d'));
    fs.writeFileSync(path.join(dir, 'drive.yaml'), DRIVE('photos'));
    const up = start('--base-port', String(base));
    try {
      await waitFor('the Drive Ready', () => ready('default/photos'), 120_000);
      const port = Number(new URL(JSON.parse(fs.readFileSync(path.join(state, 'up/default/d/domain.json'), 'utf8')).url).port);
      expect(port).toBeGreaterThan(base);
      expect(port).toBeLessThan(base + 50);
      expect(lines.filter((l) => l.startsWith('ERR'))).toEqual([]);
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
      await new Promise((r) => holder.close(r));
    }
  }, 240_000);
});

describe('openpds up after a Domain and its Drive were removed together while it was stopped', () => {
  const { dir, state, lines, start, driveStatus, ready, logged, passes } = upHarness('openpds-local-domain-gone-');
  const records = () => JSON.parse(fs.readFileSync(path.join(state, 'up/drives.json'), 'utf8')) as Record<string, unknown>;
  async function runUntil(what: string, done: () => unknown) {
    const up = start();
    try {
      await waitFor(what, () => (done() ? true : undefined), 120_000);
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
  }

  it('starts the old Domain from the state, deletes the drive through it (Delete), then stops it', async () => {
    fs.writeFileSync(path.join(dir, 'keep.yaml'), DOMAIN('keep'));
    fs.writeFileSync(path.join(dir, 'gone.yaml'), `${DOMAIN('gone')}---\n${DRIVE('scratch', 'gone')}`);
    await runUntil('the Drive Ready', () => ready('default/scratch'));
    const id = driveStatus('default/scratch').driveId as string;
    fs.rmSync(path.join(dir, 'gone.yaml'));
    const seen = lines.length;
    await runUntil('the Domain stopped after the prune', () => lines.slice(seen).includes('Domain default/gone: stopped (removed from the manifests; its data stays in the state dir)'));
    const after = lines.slice(seen);
    expect(after).toContain('Domain default/gone: left the folder, started from the state to delete or release Drive default/scratch (its manifest left the folder too)');
    expect(after).toContain(`Drive default/scratch: Normal Deleted: deleted drive ${id} and its files (reclaimPolicy Delete)`);
    expect(after.join('\n')).not.toContain('the Domain is gone');
    expect(records()['default/scratch']).toBeUndefined();
  }, 300_000);

  it('with no Domain recorded to start (an older state), keeps the record and says why, never drops it', async () => {
    fs.writeFileSync(path.join(dir, 'old.yaml'), `${DOMAIN('old')}---\n${DRIVE('legacy', 'old')}`);
    await runUntil('the Drive Ready', () => ready('default/legacy'));
    const id = driveStatus('default/legacy').driveId as string;
    fs.rmSync(path.join(dir, 'old.yaml'));
    const record = path.join(state, 'up/default/old/domain.json');
    const { domain: _dropped, ...older } = JSON.parse(fs.readFileSync(record, 'utf8'));
    fs.writeFileSync(record, JSON.stringify(older));
    const seen = lines.length;
    const held = `Drive default/legacy left the folder, but its Domain default/old is not in the folder and not running (removed while up was stopped): its drive ${id} is not deleted and its record is kept; put Domain default/old back in the folder until up has pruned the drive, then remove it`;
    const up = start();
    try {
      await logged(held, seen);
      await passes(4); // a few passes: said once, and still held
    } finally {
      up.stop();
      await expect(up.exited).resolves.toBe(0);
    }
    expect(lines.slice(seen).filter((l) => l === held)).toHaveLength(1);
    expect(lines.slice(seen).join('\n')).not.toContain('the Domain is gone');
    expect(records()['default/legacy']).toBeDefined();
  }, 300_000);
});
