/**
 * kill -9 during the first start on PGlite (the red team's firststart-det.mjs): the data directory is made,
 * from the initdb cache, by a child process. Killing the whole process group cut the copy short; killing
 * the server alone left the child writing while the restarted server opened the directory. Either way
 * the directory had PG_VERSION, was taken for ready and never opened again ("PGlite failed to initialize
 * properly", catalog index corruption). A restart must now start over and open a sound database.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createPgliteDb } from '../../api-server/src/db/pglite.db';
import { seedPgliteInitdbCache } from '../support/pglite-template';

const PGLITE_DB = path.join(__dirname, '../../api-server/src/db/pglite.db.ts');
const work = mkdtempSync(path.join(tmpdir(), 'openpds-crash-first-start-'));
const cache = path.join(work, 'cache');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Every open here is as `openpds migrate` or `admin` opens a database (shortLived: V8's Liftoff compiles
 * PostgreSQL's WebAssembly): what is tested is what a first start leaves on disk, and TurboFan alone, as
 * `serve` compiles it, cost each process that opened one ~1 s more CPU (3.5 s against 2.4 s) for a few queries.
 */
const OPEN = { initdbCache: cache, shortLived: true };

// A bind mount at the data dir itself (docker -v ./a:/data -v ./b:/data/db): rename(2) answers EBUSY,
// and the build is moved in entry by entry. Mounting needs a mount namespace of its own (unshare -m, as
// root); where this machine cannot make one the test says so and checks nothing.
const canMount = (() => {
  try {
    execFileSync('unshare', ['-m', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
let bindMounted: ReturnType<typeof startBindMounted> | undefined;

// The cache as a first start leaves it, copied from the test template: a first start of our own to fill
// it took a child process and an initdb (4–7 s on two busy cores), before any test began. The bind-mount
// first start, a process (and a child) of its own in a mount namespace of its own, begins with the suite:
// it uses the second core while the kill tests wait for their kill points, instead of running after them.
beforeAll(async () => {
  await seedPgliteInitdbCache(cache);
  if (canMount) bindMounted = startBindMounted();
  bindMounted?.out.catch(() => undefined); // reported by its test
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A first start onto an empty directory with a volume bind-mounted on it, in a mount namespace of its own; its stdout. */
function startBindMounted() {
  const base = path.join(work, 'bind');
  const volume = path.join(base, 'volume');
  const dataDir = path.join(base, 'data', 'db');
  mkdirSync(volume, { recursive: true });
  mkdirSync(dataDir, { recursive: true });
  const script = `require(${JSON.stringify(PGLITE_DB)}).createPgliteDb(${JSON.stringify(dataDir)}, ${JSON.stringify(OPEN)})` +
    `.then(async (db) => { const [r] = await db.query('SELECT count(*)::int AS n FROM schema_migrations'); await db.close(); console.log('migrations', r.n); })` +
    `.catch((e) => { console.error(e); process.exit(1); })`;
  const node = `${JSON.stringify(process.execPath)} --require ${JSON.stringify(require.resolve('tsx/cjs'))} -e ${JSON.stringify(script)}`;
  const shell = `mount --make-rprivate / && mount --bind ${JSON.stringify(volume)} ${JSON.stringify(dataDir)} && ${node}`;
  const out = promisify(execFile)('unshare', ['-m', 'sh', '-c', shell], { encoding: 'utf8', timeout: 110_000 }).then((r) => r.stdout);
  return { volume, dataDir, out };
}

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return []; // ps exits 1 when there is none
  }
}

/** Whether the first start has got as far as the red team killed it: PG_VERSION written, the child still at work. */
function midCreation(parentDir: string): boolean {
  return readdirSync(parentDir).some((name) => name.startsWith('db') && existsSync(path.join(parentDir, name, 'PG_VERSION')));
}

async function openAndWrite(dataDir: string): Promise<void> {
  const db = await createPgliteDb(dataDir, OPEN);
  try {
    const [row] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
    expect(row!.n).toBeGreaterThan(0);
    await db.exec('CREATE TABLE crash_probe (x int); INSERT INTO crash_probe VALUES (1); DROP TABLE crash_probe');
  } finally {
    await db.close();
  }
}

test.each([['group'], ['server']])('a first start killed (%s) mid-creation restarts into a sound database', async (mode) => {
  const parentDir = path.join(work, mode);
  const dataDir = path.join(parentDir, 'db');
  const script = `require(${JSON.stringify(PGLITE_DB)}).createPgliteDb(process.argv[1], { initdbCache: process.argv[2] }).then((db) => db.close()).then(() => process.exit(0))`;
  const server = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script, dataDir, cache], { stdio: 'ignore', detached: true });
  const exited = new Promise((resolve) => server.once('exit', resolve));
  let orphans: number[] = [];
  try {
    for (const started = Date.now(); ; await sleep(2)) {
      // The directory first (a few syscalls), ps only once it holds: a ps every 2 ms took most of a core
      // from the first start it waits for.
      if (existsSync(parentDir) && midCreation(parentDir)) {
        orphans = childrenOf(server.pid!);
        if (orphans.length > 0) break;
      }
      if (Date.now() - started > 60_000) throw new Error('the first start never reached the point to kill it at');
    }
    process.kill(mode === 'group' ? -server.pid! : server.pid!, 'SIGKILL');
    await exited;
    await openAndWrite(dataDir); // at once, as systemd or Kubernetes restart it
    for (const pid of orphans) expect(await waitGone(pid)).toBe(true);
    await openAndWrite(dataDir); // and again, once nothing else can be writing it
    expect(readdirSync(parentDir).filter((name) => name.startsWith('db.creating-'))).toEqual([]);
  } finally {
    for (const pid of [server.pid!, ...orphans]) killQuietly(pid);
  }
}, 180_000);

/** The child left by a killed server: it must not outlive it for long (it used to finish its work). */
async function waitGone(pid: number): Promise<boolean> {
  for (const started = Date.now(); Date.now() - started < 30_000; await sleep(50)) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
  }
  return false;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

describe('a first start whose data dir cannot be renamed onto (review: a symlink, a bind-mounted volume)', () => {
  it('a symlink to an empty directory opens as a database there, by its real path', async () => {
    const target = path.join(work, 'volume');
    mkdirSync(target);
    const link = path.join(work, 'linked-db');
    symlinkSync(target, link);
    const db = await createPgliteDb(link, OPEN);
    try {
      expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations'))[0]!.n).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(existsSync(path.join(target, 'PG_VERSION'))).toBe(true);
    await (await createPgliteDb(link, OPEN)).close();
  }, 120_000);

  (canMount ? it : it.skip)(`a bind-mounted empty volume at the data dir gets the database moved into it${canMount ? '' : ' (skipped: unshare -m is not permitted here)'}`, async () => {
    const { volume, dataDir, out } = bindMounted!;
    expect(await out).toMatch(/migrations [1-9]/);
    // Outside the namespace the mount is gone: the database went into the volume itself.
    expect(existsSync(path.join(volume, 'PG_VERSION'))).toBe(true);
    expect(readdirSync(path.dirname(dataDir)).filter((n) => n.includes('.creating-'))).toEqual([]);
  }, 120_000);
});
