/**
 * `openpds up -f DIR`: the manifests of DIR without a cluster. Each Domain becomes an in-process data
 * plane, the Drive reconciler applies the Drives to it, the status table is printed when it changes. It
 * keeps running: DIR is re-read on change and every --resync seconds (sooner when a reconcile asks to be
 * requeued sooner), until SIGINT/SIGTERM (or `signal`) stops every data plane cleanly.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { formatStatusTable } from './status-table';
import { parseDuration } from './up-prune';
import { createUpRunner } from './up-runner';
import { bindStateFolder, StateFolderMismatchError } from './up-state-folder';
import { StateDirError, StateDirLostError } from './state-dir';
import { lockStateDir, StateDirBusyError, stateLockProblem } from './up-state-lock';

export const UP_USAGE = `usage: openpds up -f DIR [--state-dir DIR] [--adopt-state] [--base-port N] [--resync SECONDS] [--prune-after DURATION] [--allow-empty] [--log-level LEVEL]

  -f, --filename   folder of manifests (every *.yaml, *.yml and *.json, kustomization.yaml ignored)
  --state-dir      where data planes keep their data and passwords (default .openpds); it belongs to the
                   folder of its first run, and one up at a time holds it
  --adopt-state    let DIR take over a state dir made by another folder (DIR is that folder moved or
                   renamed, or replaces it): Drives the state recorded that DIR lacks are pruned
  --base-port      first port for the data planes (default 8080; 0: any free port)
  --resync         seconds between passes over DIR (default 10, at least 0.1)
  --prune-after    how long a Drive's manifest must stay out of DIR before its drive is deleted or released
                   (per reclaimPolicy); back within it, the Drive keeps its drive (default 30s; 500ms, 2m; 0: at once)
  --allow-empty    take a folder with no manifests for every Drive removed (they are then deleted or released
                   and the Domains stopped); without it such a folder is an error and nothing is removed
  --log-level      data planes' log level (default warn)

The data planes take OPENPDS_PASSWORD_HASH_MEMORY_KIB, OPENPDS_PASSWORD_HASH_ITERATIONS and
OPENPDS_PASSWORD_HASH_LOW_COST_ACKNOWLEDGED from the environment, as openpds serve does (what a login
costs; the defaults unless set).`;

export interface UpCommandIo {
  /** Stops the command like SIGINT does (tests; embedding). */
  signal?: AbortSignal;
  out?: (line: string) => void;
  err?: (line: string) => void;
  /** Settings every data plane gets besides its Domain's: the CLI passes OPENPDS_PASSWORD_HASH_* from its environment. */
  dataPlaneEnv?: Record<string, string>;
}

const DEBOUNCE_MS = 200;
const MIN_REQUEUE_MS = 1_000;
const MIN_RESYNC_MS = 100;

/**
 * When the next pass runs after one that went through: right after a change seen during it (debounced),
 * else at the next --resync, or sooner when a reconcile asked to look again sooner, though not sooner
 * than a second (a requeue of 0 must not spin). The second never delays a pass past a shorter --resync:
 * `--resync 0.5` passed every second.
 */
export function nextPassDelayMs(options: { changedDuringPass: boolean; resyncMs: number; requeueAfterMs: number }): number {
  const { changedDuringPass, resyncMs, requeueAfterMs } = options;
  if (changedDuringPass) return DEBOUNCE_MS;
  return Math.max(Math.min(MIN_REQUEUE_MS, resyncMs), Math.min(resyncMs, requeueAfterMs));
}

export async function runUpCommand(argv: string[], io: UpCommandIo = {}): Promise<number> {
  const out = io.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = io.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  // parseArgs knows no --help: it answered "Unknown option '--help'", exit 2.
  if (argv.includes('--help') || argv.includes('-h')) {
    out(UP_USAGE);
    return 0;
  }
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        filename: { type: 'string', short: 'f' },
        'state-dir': { type: 'string', default: '.openpds' },
        'adopt-state': { type: 'boolean', default: false },
        'base-port': { type: 'string', default: '8080' },
        resync: { type: 'string', default: '10' },
        'prune-after': { type: 'string', default: '30s' },
        'allow-empty': { type: 'boolean', default: false },
        'log-level': { type: 'string', default: 'warn' },
      },
    }).values;
  } catch (error) {
    err(`openpds up: ${(error as Error).message}\n\n${UP_USAGE}`);
    return 2;
  }
  const dir = args.filename;
  const basePort = Number(args['base-port']);
  const resyncMs = Number(args.resync) * 1000;
  if (!dir || !fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    err(`openpds up: -f must name a folder of manifests${dir ? ` ("${dir}" is not one)` : ''}\n\n${UP_USAGE}`);
    return 2;
  }
  if (!Number.isInteger(basePort) || basePort < 0 || basePort > 65535) {
    err(`openpds up: --base-port must be a port (0 to 65535)\n\n${UP_USAGE}`);
    return 2;
  }
  // Each pass reads the folder and asks every data plane for its drives: --resync 0.001 spun doing that.
  if (!(resyncMs >= MIN_RESYNC_MS)) {
    err(`openpds up: --resync must be a number of seconds, at least ${MIN_RESYNC_MS / 1000}\n\n${UP_USAGE}`);
    return 2;
  }
  const pruneAfterMs = parseDuration(args['prune-after']!);
  if (pruneAfterMs === undefined) {
    err(`openpds up: --prune-after must be a duration such as 30s, 500ms, 2m or 0 (got "${args['prune-after']}")\n\n${UP_USAGE}`);
    return 2;
  }

  const stateDir = args['state-dir']!;
  // Before any data plane starts: a second `up` on this state, or a run over another folder than the
  // state's, must not touch its databases or its bookkeeping (and must not prune another folder's Drives).
  let release: () => void;
  // The lock's heartbeat says when the state dir went away between passes (runUntilStopped sets it).
  const lost = { report: (_problem: string) => {} };
  try {
    release = lockStateDir(stateDir, dir, { onLost: (problem) => lost.report(problem) });
  } catch (error) {
    if (!(error instanceof StateDirBusyError || error instanceof StateDirError)) throw error;
    err(`openpds up: ${error.message}`);
    return 1;
  }
  try {
    const notice = bindStateFolder(stateDir, dir, { adopt: args['adopt-state']! });
    if (notice) out(`openpds up: ${notice}`);
  } catch (error) {
    release();
    if (!(error instanceof StateFolderMismatchError || error instanceof StateDirError)) throw error;
    err(`openpds up: ${error.message}`);
    return 1;
  }
  try {
    return await runUntilStopped({ dir, stateDir, basePort, logLevel: args['log-level']!, pruneAfterMs, resyncMs, allowEmpty: args['allow-empty']! }, io, out, err, lost);
  } finally {
    release();
  }
}

async function runUntilStopped(
  options: { dir: string; stateDir: string; basePort: number; logLevel: string; pruneAfterMs: number; resyncMs: number; allowEmpty: boolean },
  io: UpCommandIo,
  out: (line: string) => void,
  err: (line: string) => void,
  lost: { report: (problem: string) => void },
): Promise<number> {
  const { dir, stateDir, basePort, logLevel, pruneAfterMs, resyncMs, allowEmpty } = options;
  const runner = createUpRunner({ dir, stateDir, basePort, logLevel, log: out, pruneAfterMs, allowEmpty, dataPlaneEnv: io.dataPlaneEnv });
  let stopped = false;
  let inPass = false;
  // Aborted on Ctrl-C: a pass in flight stops after its current Drive and records what it did.
  const stopping = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let again = false;
  let lastTable = '';
  let lastFailure = '';
  let exitCode = 0;
  let stop = () => {};
  // The state dir (its lock) or a data dir went away: every Domain stops, nothing is re-created.
  lost.report = (problem: string) => {
    if (stopped || exitCode !== 0) return;
    exitCode = 1;
    err(`openpds up: ${problem}: stopping every Domain, re-creating nothing (their data went with the folder: put it back where it was, then run openpds up again)`);
    stop();
  };

  // One pass at a time; a change during a pass runs one more right after it.
  function schedule(delayMs: number): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(pass);
    }, delayMs);
  }
  async function pass(): Promise<void> {
    if (stopped) return;
    again = false;
    inPass = true;
    try {
      const lockLost = stateLockProblem(stateDir);
      if (lockLost) return lost.report(lockLost);
      const { status, requeueAfterMs } = await runner.sync(stopping.signal);
      const table = formatStatusTable(status);
      if (table !== lastTable) out(table);
      lastTable = table;
      lastFailure = '';
      schedule(nextPassDelayMs({ changedDuringPass: again, resyncMs, requeueAfterMs }));
    } catch (error) {
      if (error instanceof StateDirLostError) return lost.report(error.message);
      // A bug or an unreadable folder: report it and try again at the next resync, as the operator would;
      // the whole error once, then a line per pass while it stays the same.
      // A state file up cannot use is said in one line (its name and what to do), never a stack.
      const message = (error as Error).message ?? String(error);
      const whole = error instanceof StateDirError ? message : ((error as Error).stack ?? String(error));
      err(message === lastFailure ? `openpds up: pass failed again: ${message}` : `openpds up: pass failed: ${whole}`);
      lastFailure = message;
      schedule(resyncMs);
    } finally {
      inPass = false;
    }
  }

  const watcher = watchFolder(dir, () => {
    again = true;
    schedule(DEBOUNCE_MS);
  });
  schedule(0);

  let onSignal = () => {};
  await new Promise<void>((resolve) => {
    onSignal = () => resolve();
    stop = onSignal;
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    io.signal?.addEventListener('abort', onSignal, { once: true });
    if (io.signal?.aborted) resolve();
  });
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  stopped = true;
  if (inPass) out('openpds up: stopping after the current drive (what this pass did is recorded; the next up does the rest)');
  stopping.abort();
  clearTimeout(timer);
  watcher?.close();
  await running; // the pass in flight ends after its current drive, with its writes, before the data planes go
  await runner.stop();
  out('openpds up: stopped');
  return exitCode;
}

/** fs.watch where the platform has it; the periodic resync covers the rest. */
function watchFolder(dir: string, onChange: () => void): fs.FSWatcher | undefined {
  try {
    return fs.watch(dir, { recursive: true }, onChange);
  } catch {
    return undefined;
  }
}
