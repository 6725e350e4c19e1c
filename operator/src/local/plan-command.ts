/**
 * `openpds plan -f DIR` and `openpds apply -f DIR`, terraform style, against a running domain: plan runs
 * the Drive reconciler in dry-run mode (observe only) and prints what would be created, changed or
 * deleted; apply runs it for real. The target is one endpoint with admin credentials, or the domains an
 * `openpds up` state dir records. (Server-side dry run against a cluster is a separate path, not here.)
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { findCondition } from '../kube/conditions';
import type { DriveAction } from '../reconcilers/drive';
import { bytesToQuantity, describeChange } from '../reconcilers/drive-desired';
import { createDomainTargets, type TargetOptions } from './domain-targets';
import { loadManifests } from './manifests';
import { planDrives, type PlanEntry } from './plan-drives';

const usage = (command: string) => `usage: openpds ${command} -f DIR (--endpoint URL [--username U] [--password P] | --state DIR)${command === 'plan' ? ' [--detailed-exitcode]' : ''}

  -f, --filename       folder of manifests (the Drives in it are planned)
  --endpoint           a running domain's API URL; every Drive of DIR targets it
  --username           admin user name (default admin)
  --password           admin password (default: $OPENPDS_ADMIN_PASSWORD)
  --state              an \`openpds up\` state dir: each Drive targets its Domain as up runs it${command === 'plan' ? '\n  --detailed-exitcode  exit 2 when there are changes (0: none, 1: errors)' : ''}`;

export interface CommandIo {
  out?: (line: string) => void;
  err?: (line: string) => void;
  env?: Record<string, string | undefined>;
}

export function runPlanCommand(argv: string[], io: CommandIo = {}): Promise<number> {
  return run('plan', argv, io);
}

export function runApplyCommand(argv: string[], io: CommandIo = {}): Promise<number> {
  return run('apply', argv, io);
}

async function run(command: 'plan' | 'apply', argv: string[], io: CommandIo): Promise<number> {
  const out = io.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = io.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const parsed = parseCommandArgs(argv, io.env ?? process.env);
  if (typeof parsed === 'string') {
    err(`openpds ${command}: ${parsed}\n\n${usage(command)}`);
    return 2;
  }
  const manifests = loadManifests(parsed.dir);
  for (const problem of manifests.problems) err(`skipped ${problem}`);
  const dryRun = command === 'plan';
  const entries = await planDrives(manifests, createDomainTargets(parsed.target), {
    dryRun,
    onEvent: (key, e) => out(`Drive ${key}: ${e.type} ${e.reason}: ${e.message}`),
  });
  const counts = { create: 0, change: 0, delete: 0, unchanged: 0, failed: 0 };
  for (const entry of entries) {
    const failure = failureOf(entry);
    if (failure) {
      counts.failed++;
      out(`! error   Drive ${entry.key}: ${failure}`);
      continue;
    }
    for (const action of entry.result.actions) {
      counts[bucket(action)]++;
      if (action.action !== 'none' && dryRun) out(formatAction(entry.key, action));
    }
  }
  const summary = dryRun
    ? `Plan: ${counts.create} to create, ${counts.change} to change, ${counts.delete} to delete, ${counts.unchanged} unchanged`
    : `Apply complete: ${counts.create} created, ${counts.change} changed, ${counts.delete} deleted or released, ${counts.unchanged} unchanged`;
  out(`${summary}${counts.failed ? `, ${counts.failed} failed` : ''}.`);
  if (counts.failed > 0) return 1;
  return dryRun && parsed.detailedExitCode && counts.create + counts.change + counts.delete > 0 ? 2 : 0;
}

/** Manifests carry no status (loadManifests drops it), so a Ready=False answer is this run's failure. */
function failureOf(entry: PlanEntry): string | undefined {
  const ready = findCondition(entry.result.status.conditions, 'Ready');
  return ready?.status === 'False' ? `${ready.reason}: ${ready.message ?? ''}` : undefined;
}

function bucket(action: DriveAction): 'create' | 'change' | 'delete' | 'unchanged' {
  if (action.action === 'create') return 'create';
  if (action.action === 'update' || action.action === 'adopt') return 'change';
  if (action.action === 'delete' || action.action === 'release') return 'delete';
  return 'unchanged';
}

export function formatAction(key: string, a: DriveAction): string {
  const id = a.driveId ? ` (${a.driveId})` : '';
  // The description carries the ownership marker: printing both texts in full would bury the plan.
  const changes = (a.changes ?? []).filter((c) => c.field !== 'description').map(describeChange);
  if (a.changes?.some((c) => c.field === 'description')) changes.push('description (text or ownership marker)');
  switch (a.action) {
    case 'create': {
      const d = a.desired!;
      const why = a.reason === 'Recreate' ? ' (deleted in the data plane)' : '';
      return `+ create  Drive ${key}${why}: "${d.drive_name}", owner ${d.owner_type} ${d.ownerName}, quota ${d.total_size === null ? 'unlimited' : bytesToQuantity(d.total_size)}`;
    }
    case 'adopt':
      return `~ adopt   Drive ${key}${id}: an existing drive with this owner and name${changes.length ? `; ${changes.join(', ')}` : ''}`;
    case 'update':
      return `~ update  Drive ${key}${id}: ${changes.join(', ')}`;
    case 'delete':
      return `- delete  Drive ${key}${id}: reclaimPolicy Delete, the drive and its files are deleted`;
    case 'release':
      return `- release Drive ${key}${id}: reclaimPolicy Retain, the drive and its files are kept`;
    default:
      return `  unchanged Drive ${key}${id}`;
  }
}

interface ParsedArgs {
  dir: string;
  target: TargetOptions;
  detailedExitCode: boolean;
}

function parseCommandArgs(argv: string[], env: Record<string, string | undefined>): ParsedArgs | string {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        filename: { type: 'string', short: 'f' },
        endpoint: { type: 'string' },
        username: { type: 'string', default: 'admin' },
        password: { type: 'string' },
        state: { type: 'string' },
        'detailed-exitcode': { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    return (error as Error).message;
  }
  if (!values.filename || !fs.existsSync(values.filename) || !fs.statSync(values.filename).isDirectory()) return '-f must name a folder of manifests';
  if (Boolean(values.endpoint) === Boolean(values.state)) return 'give either --endpoint or --state';
  const detailedExitCode = values['detailed-exitcode'] ?? false;
  if (values.state) return { dir: values.filename, target: { stateDir: values.state }, detailedExitCode };
  const password = values.password ?? env.OPENPDS_ADMIN_PASSWORD;
  if (!password) return '--endpoint needs --password (or OPENPDS_ADMIN_PASSWORD)';
  return { dir: values.filename, target: { endpoint: values.endpoint!, username: values.username!, password }, detailedExitCode };
}
