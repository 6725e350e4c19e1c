/**
 * What the next `openpds up` over a state dir will delete or release, for `plan --state`: the Drives its
 * drives.json records that the folder no longer holds, by up's own rule (stepPrunes), not plan's. Without
 * this, `plan --state` (no `--set`) said "nothing to delete" while the next `up` deleted the drive and its
 * files once `--prune-after` ran out. Pure: the caller prints and counts.
 */
import type { Drive } from '../domain-types';
import { pruneAction, stepPrunes } from './up-prune';
import { manifestKey } from './manifests';

export interface UpPrune {
  key: string;
  drive: Drive;
  action: 'delete' | 'release';
}

/**
 * The records up would prune (missing from `drives`, not moved to a renamed Drive). None while the folder
 * has an invalid manifest: up suspends every prune then, and so says the plan's `! error` lines.
 */
export function upPrunes(recorded: Readonly<Record<string, Drive>>, drives: readonly Drive[], invalid: number): UpPrune[] {
  const present = new Map(drives.map((d) => [manifestKey(d), d]));
  // grace 0 and nothing pending: every missing record falls due, which is what the next up does once the grace ran out.
  const step = stepPrunes({ recorded, present, pending: new Map(), now: 0, graceMs: 0, suspended: invalid > 0 });
  return step.due.map((key) => {
    const drive = recorded[key]!;
    return { key, drive, action: pruneAction(drive).startsWith('deleted') ? 'delete' : 'release' };
  });
}

/** `- delete  Drive default/x (id): reclaimPolicy Delete, … (by the next openpds up, after --prune-after)`. */
export function formatUpPrune(prune: UpPrune, by: 'next' | 'running'): string {
  const id = prune.drive.status?.driveId ? ` (${prune.drive.status.driveId})` : '';
  const policy = prune.drive.spec.reclaimPolicy ?? 'Retain';
  const why = prune.action === 'delete' ? 'reclaimPolicy Delete, the drive and its files are deleted' : policy === 'Delete' ? 'reclaimPolicy Delete, but the drive was adopted: it and its files are kept' : 'reclaimPolicy Retain, the drive and its files are kept';
  return `${prune.action === 'delete' ? '- delete ' : '- release'} Drive ${prune.key}${id}: left the folder; ${why} (by the ${by} openpds up, after --prune-after)`;
}
