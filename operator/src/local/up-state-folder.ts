/**
 * A state dir belongs to one manifests folder. `up` prunes what its drives.json records and the folder no
 * longer holds, so the same state run over another folder (the default `.openpds` is per working
 * directory, not per folder: `up -f upA`, then `up -f upB` from the same place) took every Drive of upA
 * for removed from upB and deleted its drive and files (reclaimPolicy Delete). The folder's real path is
 * recorded on first use (`<state>/up/folder.json`), and a run over another folder is refused before it
 * starts anything, unless the user says the new folder takes the state over (`--adopt-state`: a folder
 * moved or renamed, or one meant to replace the other; then what it lacks is pruned, after the grace).
 *
 * A state made before folder.json existed records the folder of its next run: there is nothing to compare.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readFolderRecord, writeFolderRecord } from './state-dir';

/** A run over another folder than the state's: said as one line. */
export class StateFolderMismatchError extends Error {
  override name = 'StateFolderMismatchError';
}

/**
 * Checks that `stateDir` belongs to `dir` (recording it on first use); with `adopt`, makes it `dir`'s.
 * Answers a line to log when the state changed folder; throws StateFolderMismatchError otherwise.
 * `plan` checks the same and records nothing: with `adopt` it plans as apply would, and says so.
 */
export function bindStateFolder(stateDir: string, dir: string, options: { adopt?: boolean; command?: 'up' | 'apply' | 'plan' } = {}): string | undefined {
  const command = options.command ?? 'up';
  const folder = fs.realpathSync(dir);
  const recorded = readFolderRecord(stateDir)?.folder;
  if (recorded === folder) return undefined;
  if (recorded === undefined) {
    if (command !== 'plan') writeFolderRecord(stateDir, { folder });
    return undefined;
  }
  const state = path.resolve(stateDir);
  if (!options.adopt) throw new StateFolderMismatchError(mismatch(command, state, recorded, folder));
  if (command === 'plan') return `planned as if the state dir ${state} belonged to ${folder} (--adopt-state; it is ${recorded}'s): plan records nothing, apply --adopt-state hands it over`;
  writeFolderRecord(stateDir, { folder });
  const pruned = command === 'up' ? 'are pruned (per reclaimPolicy) once --prune-after has passed' : 'are pruned (per reclaimPolicy) by the next openpds up, once its --prune-after has passed';
  return `the state dir ${state} now belongs to ${folder} (--adopt-state; it was ${recorded}'s): Drives it recorded that this folder lacks ${pruned}`;
}

function mismatch(command: 'up' | 'apply' | 'plan', state: string, recorded: string, folder: string): string {
  const adopt = `if this folder is ${recorded} moved or renamed or is meant to take its Drives over, pass --adopt-state.`;
  if (command === 'up') {
    return (
      `the state dir ${state} belongs to the manifests in ${recorded}, not ${folder}: run over ${folder}, ` +
      `every Drive the other folder's run created that is not in this one would be taken for removed, and its drive deleted or released (per reclaimPolicy). ` +
      `Give this folder a state of its own with --state-dir DIR, or, ${adopt}`
    );
  }
  // apply prunes nothing of the state's records, but the folders would fight over one drive per Drive name.
  return (
    `the state dir ${state} belongs to the manifests in ${recorded}, not ${folder}: ${command === 'plan' ? 'planned' : 'applied'} with it, ${folder}'s Drives would go to ${recorded}'s Domains, ` +
    `where a Drive named as one of ${recorded}'s is the same drive, and ${recorded}'s openpds up would turn it back. ` +
    `Give this folder a state of its own (openpds up -f ${folder} --state-dir DIR), or, ${adopt}`
  );
}
