/**
 * The services a benchmark runs against. PostgreSQL and radosgw come from the environment
 * (OPENPDS_TEST_*, as `hack/start-*.sh DIR` write them to DIR/env, and as bench/run-all.sh exports them);
 * when they are missing, this process starts its own with the same scripts and stops them on exit.
 * The API server is `bin/openpds.js serve` in a child process (its own event loop and RSS, like
 * production) or startServer() in this process where the benchmark needs its Db.
 *
 * Interrupted (Ctrl-C, SIGTERM: interrupt.ts), the run stops what it started here: the `serve` children
 * and their data dirs, then the services and their temp dirs. The daemons run in sessions of their own and
 * never see the terminal's Ctrl-C; they outlived every interrupted run before (red team F5).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { testServerEnv, type StoreKind } from '../../test/support/test-server';
import type { DbKind } from '../../test/support/test-db';
import { onInterrupt } from './interrupt';

const run = promisify(execFile);
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
const stops: string[] = [];
/** A `hack/start-*.sh` still running: its daemons are stopped once it has written their stop script. */
let starting: Promise<unknown> | undefined;
/** The data dirs of the `serve` children, each with what stops its child (if running) and removes it. */
const serveDirs = new Map<string, () => Promise<void>>();
let watching = false;

/** From the first thing started on: an interrupted run stops the servers, then the services. */
function stopAllOnInterrupt(): void {
  if (watching) return;
  watching = true;
  onInterrupt(async () => {
    await Promise.all([...serveDirs.values()].map((stop) => stop()));
    await starting?.catch(() => undefined);
    await stopServices();
  });
}

/**
 * Runs a `hack/start-*.sh DIR` script (a path from the repository root) that leaves DIR/stop behind;
 * stopServices, or an interrupt, runs that and removes DIR. An interrupt waits for the script first:
 * start-postgres.sh writes its stop script last. Exported for its test.
 */
export async function startService(script: string, dir: string): Promise<void> {
  stopAllOnInterrupt();
  stops.push(path.join(dir, 'stop'));
  starting = run(path.resolve(REPO_ROOT, script), [dir]);
  try {
    await starting;
  } finally {
    starting = undefined;
  }
}

function loadEnvFile(file: string) {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) process.env[m[1]!] = m[2]!;
  }
}

/** Makes sure PostgreSQL (`pg`) and radosgw (`s3`) are reachable, starting throwaway ones if needed. */
export async function ensureServices(needs: { pg?: boolean; s3?: boolean }): Promise<void> {
  if (needs.pg && !process.env.OPENPDS_TEST_PG_ADMIN_URL) {
    const dir = mkdtempSync(path.join(tmpdir(), 'openpds-bench-pg-'));
    chmodSync(dir, 0o755); // the server runs as the postgres user and must reach its data dir inside
    await startService('hack/start-postgres.sh', dir);
    loadEnvFile(path.join(dir, 'env'));
  }
  if (needs.s3 && !process.env.OPENPDS_TEST_S3_ENDPOINT) {
    const dir = mkdtempSync(path.join(tmpdir(), 'openpds-bench-rgw-'));
    await startService('hack/start-radosgw.sh', dir);
    loadEnvFile(path.join(dir, 'env'));
    process.env.OPENPDS_BENCH_RADOSGW_DIR = dir;
  }
}

/** Stops the services ensureServices started (none when they came from the environment). */
export async function stopServices(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) {
    await run(stop).catch(() => undefined);
    rmSync(path.dirname(stop), { recursive: true, force: true });
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface SpawnedServer {
  url: string;
  pid: number;
  child: ChildProcess;
  dataDir: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * `bin/openpds.js serve` on a fresh database (`pg`: a new database on the PostgreSQL above; `pglite`:
 * embedded in the data dir) and store (`s3`: a unique prefix in the radosgw bucket; `local`: the data dir).
 * With `keepDataDir`, stop() leaves the data dir (and database) for restartServe().
 */
export async function spawnServe(db: DbKind, store: StoreKind, extra: Record<string, string> = {}, opts: { keepDataDir?: boolean } = {}): Promise<SpawnedServer> {
  const port = await freePort();
  const { env, dataDir } = await testServerEnv(db, store, { OPENPDS_PORT: String(port), OPENPDS_LOG_LEVEL: 'warn', ...extra });
  return spawnBin(env, dataDir, opts.keepDataDir ?? false);
}

/** `bin/openpds.js serve` again on the data dir and database of a server stopped with keepDataDir. */
export function restartServe(previous: SpawnedServer, opts: { keepDataDir?: boolean } = {}): Promise<SpawnedServer> {
  return spawnBin(previous.env, previous.dataDir, opts.keepDataDir ?? false);
}

async function spawnBin(env: Record<string, string>, dataDir: string, keepDataDir: boolean): Promise<SpawnedServer> {
  const port = Number(env.OPENPDS_PORT);
  // The bin itself, not `node bin/openpds.js`: its shebang carries the Node flags `openpds serve` runs with.
  // OPENPDS_BENCH_SERVER_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) profiles the server a
  // benchmark measures: Node refuses --cpu-prof in NODE_OPTIONS, so the shebang's flags are repeated here.
  const nodeArgs = process.env.OPENPDS_BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean);
  const [command, args] = nodeArgs ? [process.execPath, ['--max-semi-space-size=1', '--no-maglev', ...nodeArgs, path.join(REPO_ROOT, 'bin/openpds.js'), 'serve']] : [path.join(REPO_ROOT, 'bin/openpds.js'), ['serve']];
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_ARENA_MAX: '2', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const stopChild = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
  // Interrupted, the data dir goes too, even one kept for restartServe: nothing restarts on it.
  stopAllOnInterrupt();
  serveDirs.set(dataDir, async () => {
    await stopChild();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`openpds serve exited with ${child.exitCode} before it was ready`);
    // The port is bound before the app is attached (signed URLs need it), so early requests hang: time out.
    const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      serveDirs.delete(dataDir);
      throw new Error('openpds serve was not ready within 60 s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid!,
    child,
    dataDir,
    env,
    async stop() {
      await stopChild();
      if (keepDataDir) return;
      rmSync(dataDir, { recursive: true, force: true });
      serveDirs.delete(dataDir);
    },
  };
}

/** Resident set size of a process in bytes, from /proc/PID/status (VmRSS). */
export function readRss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/**
 * RSS of a process and all its descendants, in bytes: what a service costs includes the processes it
 * keeps running (e.g. tsx's esbuild service after compiling on a cache miss).
 */
export function readTreeRss(pid: number): number {
  const children = (): number[] => {
    try {
      return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
        readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
      );
    } catch {
      return []; // exited meanwhile
    }
  };
  const rssOrZero = (child: number) => {
    try {
      return readTreeRss(child);
    } catch {
      return 0; // exited between the listing and the read
    }
  };
  return readRss(pid) + children().reduce((sum, child) => sum + rssOrZero(child), 0);
}

/** Runs fn over items with at most `limit` in flight, results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
