/**
 * `openpds plan -f DIR` and `openpds apply -f DIR`, terraform style, in one of two modes:
 * - against a cluster (`--kubeconfig`, `--context` or $KUBECONFIG): every manifest of DIR, any kind, goes
 *   through a server-side dry run and is compared with the live object (cluster-command.ts);
 * - against running domains (`--endpoint`, or the domains an `openpds up` state dir records): the Drive
 *   reconciler runs in dry-run mode (observe only) for plan and for real for apply. Domains are not
 *   applied in this mode: the operator or `openpds up` provisions them.
 * In both modes only `--set NAME` prunes, and only the members of that set DIR no longer holds.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import type { DriveAction, DriveEvent } from '../reconcilers/drive';
import { DRIVE_REASONS } from '../reconcilers/drive-context';
import { APPLY_SET_NAME, bytesToQuantity, describeChange, parseMarker, type FieldChange } from '../reconcilers/drive-desired';
import { runClusterCommand, type ClusterTarget } from './cluster-command';
import { bareEndpointTarget, createDomainTargets, namedDomains, onlyDeclaredDomains, parseEndpoints, type DomainTargets, type TargetOptions } from './domain-targets';
import { describeProblem, loadManifests, manifestKey, readManifestDocuments } from './manifests';
import { failureOf, planDrives, pruneScope, type PlanEntry } from './plan-drives';
import { formatUpPrune, upPrunes } from './plan-up-prunes';
import { openStateSession, type StateSession } from './state-session';
import { StateDirError } from './state-dir';
import { DEFAULT_UP_STATE_DIR, describeServedByUp, describeServedPassword, findServedDomain, type ServedDomain } from './state-running-up';
import { StateFolderMismatchError } from './up-state-folder';
import { StateDirBusyError } from './up-state-lock';

const usage = (command: string) => `usage: openpds ${command} -f DIR [--kubeconfig FILE] [--context C] [-n NS] [--set NAME [--prune-cascading]] [--force-conflicts] [--allow-empty]${command === 'plan' ? ' [--detailed-exitcode]' : ''}
       openpds ${command} -f DIR (--endpoint [NAME=]URL ... [--username U] [--password P] | --state DIR [--adopt-state]) [--set NAME] [--allow-empty]${command === 'plan' ? ' [--detailed-exitcode]' : ''}

Against a cluster (--kubeconfig, --context or $KUBECONFIG): every manifest of DIR, any kind, is ${command === 'plan' ? 'checked by a server-side dry run\nand compared with the live object' : 'server-side applied'} (CustomResourceDefinitions and Namespaces first). With --set NAME,
objects an earlier apply of that set made that DIR no longer holds are ${command === 'plan' ? 'shown as deletes' : 'deleted'}; without it nothing is deleted.
The first line names the cluster (server URL), context and namespace the run targets. A file that cannot
be read is an error (exit 1), and while there is one nothing is deleted.
  -f, --filename       folder of manifests (every *.yaml, *.yml and *.json, kustomization.yaml ignored)
  --kubeconfig         kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
  --context            kubeconfig context (default: its current context)
  -n, --namespace      namespace of manifests that name none (default: the context's, then default)
  --set                the apply set to prune (kubectl's ApplySet): its parent ConfigMap openpds-applyset-NAME
                       lives in the namespace of manifests that name none (-n, else the context's, else
                       default) and records its kinds and namespaces; members are looked for only there,
                       and only objects whose set label openpds applied are deleted; no default
  --prune-cascading    let --set delete a CustomResourceDefinition or Namespace that left DIR: the server
                       then deletes every object of that kind, or in that namespace, too. Without it such
                       a delete is refused (an error naming what it would take); either way the plan
                       counts what goes with it, per kind and namespace
  --force-conflicts    take over fields another field manager owns instead of failing
  --allow-empty        take a DIR with no manifests for everything removed (with --set, the set's members
                       are ${command === 'plan' ? 'planned for deletion' : 'deleted'}); without it such a DIR is an error (exit 1), as kubectl refuses it

Against running domains: the Drives of DIR are applied through each domain's admin API. With --set NAME,
each drive's ownership marker records the set, and the drives of that set whose Drives DIR no longer holds
are ${command === 'plan' ? 'planned for deletion' : 'deleted'} (reclaimPolicy Delete) or release${command === 'plan' ? '' : 'd'} (Retain: the drive and its files are kept);
without it nothing is ${command === 'plan' ? 'planned for deletion or release' : 'deleted or released'}, and drives other folders applied are never touched.
A manifest that cannot be read or that its CRD's schema refuses (an unknown field, an openpds.io version
that is not served, an empty file, the same Drive in two files) is an error (exit 1), and while there is one,
or while a Drive fails, no drive is ${command === 'plan' ? 'planned for deletion or release' : 'deleted or released'}.
Symlinked files are read and kind: List is expanded, as kubectl does. A Drive renamed (metadata.name)
keeps the drive of its set with the same owner and drive name (~ move, files kept); a Drive whose owner
changed releases the old owner's drive (files kept, whatever its reclaimPolicy) and gets a new one.
  --endpoint           NAME=URL: the API URL of the Domain NAME (repeat for each Domain the Drives use);
                       or one bare URL, for the one Domain every Drive references: when DIR declares
                       Domains it must be one of them (a Drive of another is a DomainNotFound error);
                       when DIR holds Drives only, the URL is the Domain they reference
  --username           admin user name (default admin)
  --password           admin password (default: $OPENPDS_ADMIN_PASSWORD)
  --state              an \`openpds up\` state dir: each Drive targets its Domain as up runs it. ${command === 'apply'
    ? `apply takes the state
                       dir's lock (<state>/up.lock) for its run, refused (exit 1, nothing changed) while an openpds
                       up or another apply holds it (a running up applies its folder itself on every change); with
                       the lock, apply runs the folder's Domains from the state for the run`
    : `plan does not wait for
                       the state dir's lock: while an openpds up (or apply) holds it, plan reads through its data
                       planes, changing nothing; otherwise plan takes the lock for its run (an up started meanwhile
                       is refused until it ends) and runs the folder's Domains from the state`}. As up does, a Drive
                       whose domainRef or owner differs from what up (or apply) last applied is refused (an ! error
                       line, the drive left as it is), and a folder other than the state's first one is refused${command === 'apply' ? `;
                       what apply did is recorded in the state as up records it` : ''}
  --adopt-state        with --state: let DIR take over a state dir made by another folder, as \`up --adopt-state\`${command === 'plan' ? ' does\n                       (plan only shows the result: the state is handed over by apply or up)' : ''}
  --set                the apply set to prune (same name rule as for a cluster); no default. Its drives are
                       looked for on the Domains DIR's Drives reference or DIR declares, and on those named by
                       --endpoint NAME=URL (NAME alone: namespace default), so an empty DIR prunes there; with no
                       Domain at all (an empty DIR with a bare URL, or with --state) it is an error (exit 1)
  --allow-empty        as for a cluster: a DIR with no manifests is an error unless given${command === 'plan' ? '\n\n  --detailed-exitcode  exit 2 when there are changes (0: none, 1: errors, a usage error included)' : ''}`;

export interface CommandIo {
  out?: (line: string) => void;
  err?: (line: string) => void;
  env?: Record<string, string | undefined>;
  /** Stops an apply like its first SIGINT does (tests; embedding). */
  signal?: AbortSignal;
  /** Settings every data plane started from --state gets besides its Domain's, as `up` passes them. */
  dataPlaneEnv?: Record<string, string>;
  /** Reaches the domains --endpoint names (tests: a fake admin client; default createDomainTargets). */
  createTargets?: (options: TargetOptions) => DomainTargets;
  /**
   * The state dir of an `openpds up` that may serve an --endpoint URL (default `.openpds`, up's default
   * --state-dir, in the current directory): read, never changed, to warn before the plan.
   */
  upStateDir?: string;
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
  const env = io.env ?? process.env;
  if (argv.includes('--help') || argv.includes('-h')) {
    out(usage(command));
    return 0;
  }
  // 2 is "bad usage" for every openpds command, but with --detailed-exitcode it means "there are changes":
  // a typo in a CI job must not read as drift found. There, as with terraform, every error is 1.
  const usageExit = argv.includes('--detailed-exitcode') ? 1 : 2;
  const parsed = parseCommandArgs(argv, env);
  if (typeof parsed === 'string') {
    err(`openpds ${command}: ${parsed}\n\n${usage(command)}`);
    return usageExit;
  }
  if ('cluster' in parsed) {
    const documents = readManifestDocuments(parsed.dir, { allowEmpty: parsed.allowEmpty });
    // Printed in the plan and counted as failures (exit 1): a file that cannot be read is not a file removed.
    return runClusterCommand({ command, documents: documents.objects, unreadable: documents.problems.map(describeProblem), target: parsed.cluster, env, out, detailedExitCode: parsed.detailedExitCode });
  }
  let session: StateSession | undefined;
  if ('stateDir' in parsed.target) {
    // Before the folder is read or anything is applied: another run on this state, or another folder's state.
    try {
      session = openStateSession({ command, stateDir: parsed.target.stateDir, dir: parsed.dir, adopt: parsed.adoptState, dataPlaneEnv: io.dataPlaneEnv });
    } catch (error) {
      if (!(error instanceof StateDirBusyError || error instanceof StateFolderMismatchError || error instanceof StateDirError)) throw error;
      err(`openpds ${command}: ${error.message}`);
      return 1;
    }
  }
  try {
    const upStateDir = io.upStateDir ?? DEFAULT_UP_STATE_DIR;
    return await stoppable(command, io.signal, out, (signal) => runAgainstDomains(command, parsed, session, { out, err, createTargets: io.createTargets ?? createDomainTargets, upStateDir }, signal));
  } catch (error) {
    // A state file that cannot be read or written: one line naming it and what to do, never a stack.
    if (!(error instanceof StateDirError)) throw error;
    err(`openpds ${command}: ${error.message}`);
    return 1;
  } finally {
    await session?.close();
  }
}

/**
 * An apply's first SIGINT or SIGTERM (or `signal`) stops it after the Drive in flight, as `up` stops,
 * with what it did recorded; a second one ends the process at once (the handlers are gone by then). It
 * was killed at once in the middle of a drive, its lock left behind. A plan changes nothing: it is
 * stopped as any command is.
 */
async function stoppable(command: 'plan' | 'apply', external: AbortSignal | undefined, out: (line: string) => void, run: (signal?: AbortSignal) => Promise<number>): Promise<number> {
  if (command !== 'apply') return run();
  const stopping = new AbortController();
  const onSignal = () => {
    if (stopping.signal.aborted) return;
    out('openpds apply: stopping after the current drive (what is done is recorded; apply again does the rest; Ctrl-C again stops at once)');
    stopping.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  external?.addEventListener('abort', onSignal, { once: true });
  if (external?.aborted) onSignal();
  try {
    return await run(stopping.signal);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    external?.removeEventListener('abort', onSignal);
  }
}

interface RunIo {
  out: (line: string) => void;
  err: (line: string) => void;
  createTargets: (options: TargetOptions) => DomainTargets;
  upStateDir: string;
}

async function runAgainstDomains(command: 'plan' | 'apply', parsed: DomainArgs, session: StateSession | undefined, { out, err, createTargets, upStateDir }: RunIo, signal?: AbortSignal): Promise<number> {
  for (const notice of session?.notices ?? []) out(notice);
  // An --endpoint of a Domain a running `up` serves: whatever this apply changes in up's Drives, up's next
  // pass puts back (DriftDetected ... correcting). Said first, from up's state files alone.
  const served = new Map<string, ServedDomain>();
  if ('endpoints' in parsed.target) {
    for (const url of new Set([...Object.values(parsed.target.endpoints), ...(parsed.bareEndpoint ? [parsed.bareEndpoint] : [])])) {
      const domain = findServedDomain(upStateDir, url);
      if (domain) served.set(url, domain);
    }
  }
  for (const domain of new Set(served.values())) out(describeServedByUp(domain, command, parsed.dir));
  // With a state, the Drives as up last applied them: a changed domainRef or owner is an invalid manifest.
  const manifests = loadManifests(parsed.dir, undefined, session?.previous, { allowEmpty: parsed.allowEmpty });
  let targets = session ? await session.targets(manifests.domains) : createTargets(parsed.target);
  /** The URL each Domain's Drives go to with --endpoint: where a refused password is looked up. */
  let endpoints: Record<string, string> = 'endpoints' in parsed.target ? parsed.target.endpoints : {};
  if ('bareEndpoint' in parsed && parsed.bareEndpoint) {
    const ns = (o: { metadata: { namespace?: string } }) => o.metadata.namespace ?? 'default';
    const declared = manifests.domains.map((d) => ({ namespace: ns(d), domain: d.metadata.name }));
    const bare = bareEndpointTarget(
      parsed.bareEndpoint,
      manifests.drives.map((d) => ({ namespace: ns(d), domain: d.spec.domainRef.name })),
      declared,
    );
    if (typeof bare === 'string') {
      err(`openpds ${command}: ${bare}`);
      return parsed.detailedExitCode ? 1 : 2; // as for any usage error (run)
    }
    endpoints = bare;
    targets = onlyDeclaredDomains(createTargets({ ...parsed.target, endpoints } as TargetOptions), parsed.bareEndpoint, declared);
  }
  // As cluster mode prints a refused manifest: in the plan, and it fails the run.
  for (const problem of manifests.invalid) out(`! error   ${describeProblem(problem)}`);
  for (const domain of manifests.domains) {
    const ran = session?.runsDomains ? `; run from the state dir for this ${command} only` : '';
    out(`  not applied Domain ${manifestKey(domain)}: a Domain is provisioned by the operator or \`openpds up\`${ran}`);
  }
  for (const problem of manifests.notRun) out(`  not applied ${problem.kind} ${problem.name} (${problem.where}): ${problem.message}`);
  const dryRun = command === 'plan';
  const set = parsed.set;
  // Domains named by --endpoint NAME=URL are in the prune scope: a folder whose last manifest left names none.
  const pruneDomains = 'endpoints' in parsed.target ? namedDomains(parsed.target.endpoints) : [];
  // With no Domain in scope, the prune would find nothing and say "0 deleted": the run fails instead.
  const unscoped = set !== undefined && pruneScope(manifests.drives, manifests.domains, pruneDomains).length === 0;
  if (unscoped) out(`! error   ${noPruneScope(set, parsed)}`);
  const event = (key: string, e: DriveEvent) => `Drive ${key}: ${e.type} ${e.reason}: ${e.message}`;
  // A failure's Warning (reason and message) is the Drive's `! error` line below, word for word: it was
  // printed twice. Held, and said only if the Drive ends otherwise.
  const held = new Map<string, DriveEvent[]>();
  const { entries, pruneSkipped, stopped, unlisted } = await planDrives(manifests, targets, {
    dryRun,
    ...(signal ? { signal } : {}),
    ...(set !== undefined ? { set } : {}),
    pruneDomains,
    invalid: manifests.invalid.length,
    onEvent: (key, e) => {
      if (e.type === 'Warning' && e.reason in DRIVE_REASONS) held.set(key, [...(held.get(key) ?? []), e]);
      else out(event(key, e));
    },
  });
  if (!dryRun) session?.record(manifests.drives, entries);
  const counts = { create: 0, change: 0, delete: 0, unchanged: 0, failed: manifests.invalid.length + (unscoped ? 1 : 0) };
  const domainOf = new Map(manifests.drives.map((d) => [manifestKey(d), { namespace: d.metadata.namespace ?? 'default', name: d.spec.domainRef.name }]));
  const rejectedAt = new Set<string>();
  for (const entry of entries) {
    const failure = failureOf(entry);
    for (const e of held.get(entry.key) ?? []) if (`${e.reason}: ${e.message}` !== failure) out(event(entry.key, e));
    held.delete(entry.key);
    if (entry.unmarked) out(formatUnmarked(entry.key, entry.unmarked, dryRun));
    if (failure) {
      counts.failed++;
      out(`! error   Drive ${entry.key}: ${failure}`);
      // Which password would log in, once per URL.
      const domain = domainOf.get(entry.key);
      const url = domain && (endpoints[`${domain.namespace}/${domain.name}`] ?? endpoints[domain.name]);
      if (url && failure.startsWith('AdminCredentialsRejected:') && !rejectedAt.has(url)) {
        rejectedAt.add(url);
        out(credentialsNote(url, served.get(url), 'endpoints' in parsed.target ? parsed.target.username : '', failure.includes('Forbidden.NotAdmin:')));
      }
      continue;
    }
    if (entry.move) {
      // One drive kept under a new name: a change, whatever the reconcile then had to update.
      counts.change++;
      if (dryRun) out(formatMove(entry.key, entry.move));
      continue;
    }
    if (entry.replace) {
      counts.delete++;
      if (dryRun) {
        counts.create++;
        out(formatReplace(entry.key, entry.replace, entry.result.actions.find((a) => a.action === 'create')));
        continue;
      }
    }
    for (const action of entry.result.actions) {
      counts[bucket(action)]++;
      if (action.action !== 'none' && dryRun) out(formatAction(entry.key, action));
    }
  }
  for (const [key, events] of held) for (const e of events) out(event(key, e));
  let upPruned = 0;
  if (session) {
    // What `up` itself will prune from its records, with or without --set: plan must not hide it.
    const handled = new Set(entries.flatMap((e) => [e.key, ...(e.move ? [e.move.from] : [])]));
    for (const prune of upPrunes(session.recorded, manifests.drives, manifests.invalid.length)) {
      if (handled.has(prune.key)) continue;
      upPruned++;
      if (dryRun) counts.delete++;
      out(formatUpPrune(prune, session.runsDomains ? 'next' : 'running'));
    }
  }
  if (pruneSkipped) out(orphansSuspended(pruneSkipped, dryRun));
  // A Domain named by --endpoint NAME=URL that no Drive references and whose drives cannot be listed.
  for (const { domain, message } of unlisted ?? []) {
    counts.failed++;
    out(`! error   Domain ${domain}: its drives of set ${set} cannot be listed, so none is ${dryRun ? 'planned for deletion or release' : 'deleted or released'}: ${message}`);
  }
  // As cluster mode says it. Nothing about other folders' drives: they are not this folder's business.
  if (set === undefined) {
    const byUp = upPruned > 0 ? `; the ${upPruned === 1 ? 'delete or release' : 'deletes and releases'} above ${upPruned === 1 ? 'is' : 'are'} openpds up's, of the Drives its state records that left DIR` : '';
    out(`  note: nothing is ${dryRun ? 'planned for deletion or release' : 'deleted or released'}${upPruned > 0 ? ` by this ${command}` : ''} without --set NAME (the apply set whose drives that left DIR are deleted or released)${byUp}`);
  }
  const summary = dryRun
    ? `Plan: ${counts.create} to create, ${counts.change} to change, ${counts.delete} to delete, ${counts.unchanged} unchanged`
    : `Apply complete: ${counts.create} created, ${counts.change} changed, ${counts.delete} deleted or released, ${counts.unchanged} unchanged`;
  if (stopped) {
    const folder = new Set(manifests.drives.map(manifestKey));
    const left = folder.size - entries.filter((e) => folder.has(e.key)).length;
    // Entries of no Drive of the folder are the prune's: a stop during it has deleted or released some already.
    const pruned = entries.filter((e) => !folder.has(e.key) && e.result.actions.some((a) => bucket(a) === 'delete')).length;
    const where = pruned > 0
      ? `every Drive applied, and the prune stopped after ${pruned} drive${pruned === 1 ? '' : 's'} of set ${set} deleted or released`
      : `${left} Drive${left === 1 ? '' : 's'} not reached and nothing pruned`;
    out(`Apply stopped: ${counts.create} created, ${counts.change} changed, ${counts.delete} deleted or released, ${counts.unchanged} unchanged${counts.failed ? `, ${counts.failed} failed` : ''}; ${where} (run apply again for the rest).`);
    return 130;
  }
  out(`${summary}${counts.failed ? `, ${counts.failed} failed` : ''}.`);
  if (counts.failed > 0) return 1;
  return dryRun && parsed.detailedExitCode && counts.create + counts.change + counts.delete > 0 ? 2 : 0;
}

/** Why `--set` cannot prune: no Drive or Domain manifest in DIR, and no Domain named on the command line. */
function noPruneScope(set: string, parsed: DomainArgs): string {
  const prefix = `--set ${set}: the folder names no Domain (it holds no Drive or Domain manifest)`;
  if (parsed.bareEndpoint) return `${prefix}, and a bare --endpoint ${parsed.bareEndpoint} cannot say which Domain's drives of set ${set} to prune, so none is; give --endpoint NAME=URL (or NAMESPACE/NAME=URL) for the Domain the set's drives are on`;
  // --state runs (or reads through) only the folder's Domains: one the folder dropped is not reached.
  return `${prefix}, so no Domain of the state dir is reached and no drive of set ${set} can be pruned; keep the Domain's manifest in the folder to prune its drives of the set`;
}

/** What to do about a refused admin password: the password file of the Domain a running `up` serves there. */
function credentialsNote(url: string, served: ServedDomain | undefined, username: string, notAdmin = false): string {
  // The password was right: the user is the wrong one (the admin API shows a user only their own drives).
  if (notAdmin) return `  note: ${url} took user ${username}'s password, but ${username} is no admin of that Domain: give the Domain's superadmin with --username (default admin) and its password with --password (or $OPENPDS_ADMIN_PASSWORD)`;
  if (served) return describeServedPassword(served);
  return `  note: ${url} refused user ${username} with that password: give the Domain's superadmin with --username (default admin) and its password with --password (or $OPENPDS_ADMIN_PASSWORD)`;
}

/** Why no drive is deleted or released this run, in the words of cluster mode's skipped prune. */
export function orphansSuspended({ invalid, failed }: { invalid: number; failed: number }, dryRun: boolean): string {
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const reasons = [
    ...(invalid > 0 ? [`${plural(invalid, 'manifest', 'manifests')} of the folder could not be read or ${invalid === 1 ? 'is' : 'are'} invalid`] : []),
    ...(failed > 0 ? [`${plural(failed, 'Drive', 'Drives')} of the folder failed`] : []),
  ];
  const why = [
    ...(invalid > 0 ? ['a Drive that cannot be read is not a Drive removed'] : []),
    ...(failed > 0 ? ['a Drive that failed may be one that moved'] : []),
  ];
  const them = invalid + failed === 1 ? 'it' : 'them';
  return `! deletes skipped: ${reasons.join(' and ')}, so no drive is ${dryRun ? 'planned for deletion or release' : 'deleted or released'} (fix ${them} first: ${why.join('; ')})`;
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
  const description = a.changes?.find((c) => c.field === 'description');
  if (description) changes.push(...describeDescriptionChange(description));
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

/**
 * A create beside drives of the same owner without an ownership marker: one may be this Drive's drive,
 * renamed and its description replaced by hand (the marker is the description's last line). Matched
 * by marker and name only, the plan said "+ create" and apply made a second, empty drive, silently.
 */
export function formatUnmarked(key: string, drives: { driveId: string; name: string }[], dryRun: boolean): string {
  const list = drives.map((d) => `${d.driveId} "${d.name}"`).join(', ');
  const them = drives.length === 1 ? 'it' : 'one';
  const what = dryRun
    ? "the create below makes a second, empty drive: give it back the Drive's drive name first, and apply adopts it with its files"
    : 'this apply made a second, empty drive beside it: move the files over, or delete the new drive and give the old one back its drive name (the next apply adopts it)';
  return `! warning Drive ${key}: drive${drives.length === 1 ? '' : 's'} ${list} of the same owner ${drives.length === 1 ? 'has' : 'have'} no ownership marker (renamed or edited by hand?); if ${them} is this Drive's drive, ${what}`;
}

/** `~ move    Drive default/ops -> default/ops-renamed (drive <id>, files kept)`, and what else changes. */
export function formatMove(key: string, move: NonNullable<PlanEntry['move']>): string {
  const changes = move.changes.map(describeChange);
  return `~ move    Drive ${move.from} -> ${key} (drive ${move.driveId}, files kept)${changes.length ? `: ${changes.join(', ')}` : ''}`;
}

/** `-/+ replace Drive default/photos: owner user alice -> user bob`, and what becomes of each drive. */
export function formatReplace(key: string, replace: NonNullable<PlanEntry['replace']>, create: DriveAction | undefined): string {
  const d = create?.desired;
  const made = d ? `a new drive "${d.drive_name}" is created for ${replace.to}, quota ${d.total_size === null ? 'unlimited' : bytesToQuantity(d.total_size)}` : `a new drive is created for ${replace.to}`;
  return `-/+ replace Drive ${key}: owner ${replace.from} -> ${replace.to}; drive ${replace.driveId} of ${replace.from} is released whatever its reclaimPolicy (${replace.reclaimPolicy}): the drive and its files are kept for ${replace.from}, and ${made}`;
}

/** A change of apply set is named as such (the point of `--set` on a drive applied without one); the rest stays terse. */
function describeDescriptionChange(change: FieldChange): string[] {
  const [from, to] = [String(change.from ?? ''), String(change.to ?? '')];
  const [before, after] = [parseMarker(from)?.set, parseMarker(to)?.set];
  if (before === after) return ['description (text or ownership marker)'];
  // The set is the marker's last part and the marker the description's last line: the rest is what precedes it.
  const withoutSet = (text: string, set: string | undefined) => (set === undefined ? text : text.slice(0, -`; set=${set}`.length));
  const moved = `apply set ${before ?? '(none)'} -> ${after ?? '(none)'}`;
  return withoutSet(from, before) === withoutSet(to, after) ? [moved] : [moved, 'description (text or ownership marker)'];
}

type DomainArgs = { dir: string; detailedExitCode: boolean; allowEmpty: boolean; target: TargetOptions; bareEndpoint?: string; set?: string; adoptState: boolean };
type ParsedArgs = ({ dir: string; detailedExitCode: boolean; allowEmpty: boolean } & { cluster: ClusterTarget }) | DomainArgs;

function parseCommandArgs(argv: string[], env: Record<string, string | undefined>): ParsedArgs | string {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        filename: { type: 'string', short: 'f' },
        endpoint: { type: 'string', multiple: true },
        username: { type: 'string', default: 'admin' },
        password: { type: 'string' },
        state: { type: 'string' },
        'adopt-state': { type: 'boolean', default: false },
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        set: { type: 'string' },
        'force-conflicts': { type: 'boolean', default: false },
        'prune-cascading': { type: 'boolean', default: false },
        'detailed-exitcode': { type: 'boolean', default: false },
        'allow-empty': { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    return (error as Error).message;
  }
  if (!values.filename || !fs.existsSync(values.filename) || !fs.statSync(values.filename).isDirectory()) return '-f must name a folder of manifests';
  const dir = values.filename;
  const detailedExitCode = values['detailed-exitcode'] ?? false;
  const allowEmpty = values['allow-empty'] ?? false;
  const endpoints = values.endpoint ?? [];
  const clusterFlags = Boolean(values.kubeconfig || values.context);
  if (endpoints.length > 0 && values.state) return 'give either --endpoint or --state';
  const adoptState = values['adopt-state'] ?? false;
  if (adoptState && !values.state) return '--adopt-state only means something with --state DIR';
  if ((endpoints.length > 0 || values.state) && (clusterFlags || values.namespace || values['force-conflicts'] || values['prune-cascading'])) {
    return '--kubeconfig, --context, -n, --force-conflicts and --prune-cascading are for a cluster; --endpoint and --state for running domains: give one kind';
  }
  // No default from the folder's name: team-a/prod and team-b/prod would be one set and prune each other.
  if (values.set !== undefined && !APPLY_SET_NAME.test(values.set)) return `--set ${values.set}: the apply set name must be lower-case letters, digits, - and . inside, at most 63 characters`;
  const set = values.set !== undefined ? { set: values.set } : {};
  if (endpoints.length === 0 && !values.state) {
    if (!clusterFlags && !env.KUBECONFIG) return 'give --kubeconfig (or set $KUBECONFIG) to plan against a cluster, or --endpoint / --state for running domains';
    if (values['prune-cascading'] && !values.set) return '--prune-cascading only means something with --set NAME (nothing is deleted without a set)';
    const cluster: ClusterTarget = { forceConflicts: values['force-conflicts'] ?? false, pruneCascading: values['prune-cascading'] ?? false };
    if (values.set) cluster.setName = values.set;
    if (values.kubeconfig) cluster.kubeconfig = values.kubeconfig;
    if (values.context) cluster.context = values.context;
    if (values.namespace) cluster.namespace = values.namespace;
    return { dir, detailedExitCode, allowEmpty, cluster };
  }
  if (values.state) return { dir, detailedExitCode, allowEmpty, target: { stateDir: values.state }, adoptState, ...set };
  const parsed = parseEndpoints(endpoints);
  if (typeof parsed === 'string') return parsed;
  const password = values.password ?? env.OPENPDS_ADMIN_PASSWORD;
  if (!password) return '--endpoint needs --password (or OPENPDS_ADMIN_PASSWORD)';
  return { dir, detailedExitCode, allowEmpty, target: { endpoints: parsed.named, username: values.username!, password }, adoptState, ...(parsed.bare ? { bareEndpoint: parsed.bare } : {}), ...set };
}
