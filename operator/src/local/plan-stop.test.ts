/** `plan --state` creates nothing; `apply`'s first Ctrl-C stops after the Drive in flight (red team F11). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Drive } from '../domain-types';
import type { DomainTargets } from './domain-targets';
import { runApplyCommand, runPlanCommand } from './plan-command';
import { planDrives } from './plan-drives';
import { fakeDrivesClient } from './testing/fake-drives-client';

const drive = (name: string): Drive => ({
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Drive',
  metadata: { name, namespace: 'default' },
  spec: { domainRef: { name: 'd' }, owner: { kind: 'Group', name: 'team' }, name },
});

test('plan --state naming a folder that does not exist: one line, exit 1, and the folder is not created', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-plan-typo-'));
  try {
    const dir = path.join(work, 'm');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'drive.yaml'), 'apiVersion: openpds.io/v1alpha1\nkind: Drive\nmetadata: {name: team}\nspec: {domainRef: {name: d}, owner: {kind: Group, name: team}}\n');
    const typo = path.join(work, 'typo-state');
    const err: string[] = [];
    expect(await runPlanCommand(['-f', dir, '--state', typo], { out: () => {}, err: (l) => err.push(l) })).toBe(1);
    expect(err).toEqual([`openpds plan: the state dir ${typo} does not exist: plan reads the state of an openpds up and creates none (a typo? openpds up -f ${dir} --state-dir ${typo} makes it)`]);
    expect(fs.existsSync(typo)).toBe(false);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('apply stopped (its signal aborted) during a create: that drive is finished and recorded, no other is started, nothing is pruned', async () => {
  const stop = new AbortController();
  const { client, created } = fakeDrivesClient([], {
    onCreate: async () => {
      stop.abort(); // Ctrl-C while the first create is in flight
      await new Promise((r) => setTimeout(r, 10));
    },
  });
  const targets: DomainTargets = { access: () => ({ state: 'Ready', client }) };
  const plan = await planDrives({ drives: [drive('a'), drive('b'), drive('c')], domains: [] }, targets, { dryRun: false, set: 'demo', signal: stop.signal, now: () => new Date('2030-01-01T00:00:00Z') });
  expect(created).toEqual(['a']);
  expect(plan.stopped).toBe(true);
  expect(plan.entries.map((e) => [e.key, e.result.status.driveId])).toEqual([['default/a', 'drv-1']]);

  // Aborted before it starts: nothing at all.
  const none = await planDrives({ drives: [drive('x')], domains: [] }, targets, { dryRun: false, signal: AbortSignal.abort() });
  expect(none).toEqual({ entries: [], stopped: true });
  expect(created).toEqual(['a']);
});

test('apply stopped during the prune says how many drives it deleted before the stop, not "nothing pruned"', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-apply-stop-prune-'));
  try {
    fs.writeFileSync(path.join(work, 'domain.yaml'), 'apiVersion: openpds.io/v1alpha1\nkind: Domain\nmetadata: {name: d}\nspec: {storage: {volume: {}}}\n');
    // Three drives set demo applied before, whose Drives left the folder (reclaimPolicy Delete).
    const lost = ['old-1', 'old-2', 'old-3'].map((name) => ({
      drive_id: `drv-${name}`,
      drive_name: name,
      owner: 'team',
      owner_type: 'group',
      description: `openpds.io/uid=local.default.${name}; reclaimPolicy=Delete; set=demo`,
      default: false,
    }));
    const { client, deleted } = fakeDrivesClient(lost);
    const stop = new AbortController();
    const lines: string[] = [];
    const code = await runApplyCommand(['-f', work, '--endpoint', 'd=http://d.invalid', '--set', 'demo'], {
      // Ctrl-C as soon as the first drive is said to be deleted: the prune is in flight.
      out: (line) => {
        lines.push(line);
        if (line.includes(': Normal Deleted:')) stop.abort();
      },
      err: (line) => lines.push(line),
      env: { OPENPDS_ADMIN_PASSWORD: 'unused' },
      signal: stop.signal,
      createTargets: () => ({ access: () => ({ state: 'Ready', client }) }),
    });
    expect(code).toBe(130);
    expect(deleted).toEqual(['drv-old-1']);
    expect(lines.at(-1)).toBe('Apply stopped: 0 created, 0 changed, 1 deleted or released, 0 unchanged; every Drive applied, and the prune stopped after 1 drive of set demo deleted or released (run apply again for the rest).');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
