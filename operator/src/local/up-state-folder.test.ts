import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bindStateFolder } from './up-state-folder';

function setup() {
  const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-up-folder-')));
  for (const f of ['upA', 'upB']) fs.mkdirSync(path.join(work, f));
  return { work, state: path.join(work, '.openpds'), upA: path.join(work, 'upA'), upB: path.join(work, 'upB') };
}

test('the first folder is recorded; the same folder (by any path) runs again; another folder is refused, naming both', () => {
  const { work, state, upA, upB } = setup();
  expect(bindStateFolder(state, upA)).toBeUndefined();
  expect(JSON.parse(fs.readFileSync(path.join(state, 'up/folder.json'), 'utf8'))).toEqual({ folder: upA });
  fs.symlinkSync(upA, path.join(work, 'link'));
  expect(bindStateFolder(state, path.join(work, 'link/'))).toBeUndefined();
  expect(() => bindStateFolder(state, upB)).toThrow(
    `the state dir ${state} belongs to the manifests in ${upA}, not ${upB}: run over ${upB}, every Drive the other folder's run created that is not in this one would be taken for removed, and its drive deleted or released (per reclaimPolicy). ` +
      `Give this folder a state of its own with --state-dir DIR, or, if this folder is ${upA} moved or renamed or is meant to take its Drives over, pass --adopt-state.`,
  );
  expect(JSON.parse(fs.readFileSync(path.join(state, 'up/folder.json'), 'utf8'))).toEqual({ folder: upA });
});

test('--adopt-state hands the state to the new folder, and says so', () => {
  const { state, upA, upB } = setup();
  bindStateFolder(state, upA);
  expect(bindStateFolder(state, upB, { adopt: true })).toBe(
    `the state dir ${state} now belongs to ${upB} (--adopt-state; it was ${upA}'s): Drives it recorded that this folder lacks are pruned (per reclaimPolicy) once --prune-after has passed`,
  );
  expect(bindStateFolder(state, upB)).toBeUndefined();
  expect(() => bindStateFolder(state, upA)).toThrow('belongs to the manifests in');
});

test('plan checks the binding and records nothing; apply records and hands over as up does, in its own words', () => {
  const { state, upA, upB } = setup();
  expect(bindStateFolder(state, upA, { command: 'plan' })).toBeUndefined();
  expect(fs.existsSync(path.join(state, 'up/folder.json'))).toBe(false);
  expect(bindStateFolder(state, upA, { command: 'apply' })).toBeUndefined();
  expect(() => bindStateFolder(state, upB, { command: 'plan' })).toThrow(
    `the state dir ${state} belongs to the manifests in ${upA}, not ${upB}: planned with it, ${upB}'s Drives would go to ${upA}'s Domains, where a Drive named as one of ${upA}'s is the same drive, and ${upA}'s openpds up would turn it back. ` +
      `Give this folder a state of its own (openpds up -f ${upB} --state-dir DIR), or, if this folder is ${upA} moved or renamed or is meant to take its Drives over, pass --adopt-state.`,
  );
  expect(bindStateFolder(state, upB, { command: 'plan', adopt: true })).toBe(`planned as if the state dir ${state} belonged to ${upB} (--adopt-state; it is ${upA}'s): plan records nothing, apply --adopt-state hands it over`);
  expect(JSON.parse(fs.readFileSync(path.join(state, 'up/folder.json'), 'utf8'))).toEqual({ folder: upA });
  expect(bindStateFolder(state, upB, { command: 'apply', adopt: true })).toBe(
    `the state dir ${state} now belongs to ${upB} (--adopt-state; it was ${upA}'s): Drives it recorded that this folder lacks are pruned (per reclaimPolicy) by the next openpds up, once its --prune-after has passed`,
  );
  expect(JSON.parse(fs.readFileSync(path.join(state, 'up/folder.json'), 'utf8'))).toEqual({ folder: upB });
});
