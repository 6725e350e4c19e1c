import { spawn } from 'node:child_process';
import { chmodSync, closeSync, cpSync, existsSync, fstatSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import v8 from 'node:v8';
import { PGlite, types } from '@electric-sql/pglite';
import type { Db, Queryable } from './db';
import { lockDataDir } from './data-dir-lock';
import { parseTimestamptz } from './timestamptz';

// The embedded database lives in the server's own memory, and PGlite touches all of its shared buffers at
// start: PostgreSQL's default 128 MB doubled the idle RSS of a small install (measured 324 MB → 166 MB
// with 16 MB; 4 MB saves another 14 MB, 2 MB another 3 MB). Reads that miss them come from the OS page
// cache; file/list at 100k files measured no slower with 2 MB than with 16 MB. PGlite is one backend, but
// Postgres sizes its lock table, process array and other shared memory it touches at start for
// max_connections (default 100): 20 cut that memory from 10 to 6 MB (idle RSS −4 MB) and still leaves
// 64 locks × ~36 backend slots = ~2,300 lock entries for the one backend's biggest transaction.
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=2MB', '-c', 'max_connections=20'];
// timestamptz as pg reads it (timestamptz.ts): PGlite's own parser took years 0001-0099 for 1950-2049.
const PARSERS = { [types.INT8]: Number, [types.NUMERIC]: Number, [types.TIMESTAMPTZ]: parseTimestamptz };

/**
 * Creates and migrates a new data directory in a short-lived child process. PGlite runs initdb in a
 * second WebAssembly instance next to the server's own, and the first migration builds the whole schema;
 * WebAssembly memory never shrinks, so in-process the server kept what both touched once (initdb: idle RSS
 * 762 MB on a first start against 361 MB on a restart; migrating in the child too: −3 MB median, and no
 * more 165–171 MB first starts). The child exits before the server opens the directory, whose own
 * migrate() then finds nothing to do. With an initdb cache (OPENPDS_PGLITE_INITDB_CACHE) the child copies
 * an initdb'd directory instead of running initdb, which is most of a first start (4–7 s here).
 *
 * The directory is built beside `dataDir` (`<dataDir>.creating-<random>`) and renamed into place by this
 * process once the child has finished it and synced it to disk: a kill -9 during a first start used to
 * leave a half copy or a half-migrated catalog under `dataDir` with PG_VERSION in it, taken for a database
 * and never opened again. A build a killed start left behind is removed by the next (removeStaleCreations).
 */
async function createDataDir(dataDir: string, initdbCache: string | undefined): Promise<void> {
  if (!canRenameOnto(dataDir)) return initDataDir(dataDir, initdbCache);
  const creating = mkdtempSync(`${dataDir}.creating-`);
  try {
    await initDataDir(creating, initdbCache);
    try {
      renameSync(creating, dataDir); // replaces an empty dataDir (rename(2) allows that)
    } catch (err) {
      if (!RENAME_REFUSED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      await moveInto(creating, dataDir);
      rmSync(creating, { recursive: true, force: true });
      return;
    }
  } catch (err) {
    rmSync(creating, { recursive: true, force: true });
    throw err;
  }
  await fsyncPath(path.dirname(dataDir)); // the rename itself
}

/**
 * What rename(2) answers when `dataDir` is an empty directory it cannot replace: a mount point (EBUSY; a
 * bind mount of the same file system passes canRenameOnto's device check), a symlink to a directory
 * (ENOTDIR), another mount (EXDEV).
 */
const RENAME_REFUSED = new Set(['EBUSY', 'ENOTDIR', 'EXDEV', 'EPERM', 'EISDIR']);

/**
 * Moves a finished build's entries into the empty `dataDir`, PG_VERSION last: a crash midway leaves no
 * PG_VERSION, so the next start takes the directory for unfinished (not a database) and fills it in place.
 * An entry on another file system is copied, then removed. Synced before PG_VERSION is moved.
 */
async function moveInto(from: string, dataDir: string): Promise<void> {
  const move = (name: string) => {
    const source = path.join(from, name);
    const target = path.join(dataDir, name);
    try {
      renameSync(source, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      cpSync(source, target, { recursive: true, preserveTimestamps: true });
      rmSync(source, { recursive: true, force: true });
    }
  };
  for (const name of readdirSync(from)) if (name !== 'PG_VERSION') move(name);
  await fsyncTree(dataDir);
  move('PG_VERSION');
  await fsyncPath(dataDir);
}

/**
 * Whether the new directory can be renamed onto `dataDir`: it is absent, or an empty directory of the same
 * file system as its parent. An empty mount point (a volume mounted at the data dir itself) cannot be
 * renamed onto, and a non-empty directory without PG_VERSION is nobody's database we know: both are filled
 * in place as before (a crash during that first start needs the directory emptied by hand).
 */
function canRenameOnto(dataDir: string): boolean {
  if (!existsSync(dataDir)) return true;
  return readdirSync(dataDir).length === 0 && statSync(dataDir).dev === statSync(path.dirname(path.resolve(dataDir))).dev;
}

/**
 * Removes the `<dataDir>.creating-*` builds that killed first starts left (~40 MB each). The caller holds
 * the data-dir lock, so no live server is building one; the child of a killed one may still be writing
 * its build for a moment (it exits when its parent's IPC channel closes), but nobody renames that build
 * any more, and whatever it writes after the removal is removed by the next start.
 */
export function removeStaleCreations(dataDir: string): void {
  const parent = path.dirname(path.resolve(dataDir));
  const prefix = `${path.basename(path.resolve(dataDir))}.creating-`;
  if (!existsSync(parent)) return;
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(prefix)) continue;
    try {
      rmSync(path.join(parent, name), { recursive: true, force: true });
    } catch {
      // the killed start's child wrote into it meanwhile: the next start tries again
    }
  }
}

/**
 * Runs createDataDirHere in a child process. The child has an IPC channel to this process and exits as
 * soon as it closes: a server killed (OOM killer, kill -9) no longer leaves it writing on behind a restart.
 */
async function initDataDir(dataDir: string, initdbCache: string | undefined): Promise<void> {
  // From the TypeScript sources (tsx, jest) the child needs tsx to load this module; dist/ is JavaScript.
  const loader = __filename.endsWith('.ts') ? ['--require', require.resolve('tsx/cjs')] : [];
  const script =
    "process.on('disconnect', () => process.exit(70)); " +
    'require(process.argv[1]).createDataDirHere(process.argv[2], process.argv[3] || undefined).then(() => process.exit(0))';
  const child = spawn(process.execPath, [...loader, '-e', script, __filename, dataDir, initdbCache ?? ''], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < 64 * 1024) stderr += chunk;
  });
  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  if (result.code === 0) return;
  const why = stderr.trim() || result.error?.message || `the child exited with ${result.signal ?? `code ${result.code}`}`;
  throw new Error(`could not create the PGlite database in ${dataDir}: ${why}`, { cause: result.error });
}

/** How many fsyncs fsyncTree keeps in flight. */
const FSYNC_CONCURRENCY = 16;

/**
 * fsync() of everything under `dir` (Emscripten's file system layer turns Postgres's own fsyncs into
 * no-ops): files first, then each directory's entries. A new database is ~1,000 files, FSYNC_CONCURRENCY at
 * a time: one after another, each waited for its own journal commit; in flight together, ext4 commits them
 * in a few (measured 1.2 s → 0.36 s, and 0.8 s → 0.1 s). All are done before it resolves, and nothing renames
 * the directory into place before then.
 */
async function fsyncTree(dir: string): Promise<void> {
  const files: string[] = [];
  const dirs: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) files.push(full);
    }
    dirs.push(at);
  };
  walk(dir);
  const syncAll = async (paths: string[]) => {
    let next = 0;
    const worker = async () => {
      while (next < paths.length) await fsyncPath(paths[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(FSYNC_CONCURRENCY, paths.length) }, worker));
  };
  await syncAll(files);
  await syncAll(dirs); // each directory's entries, once its files are synced
}

/** fsync() of a file or directory; a directory some file systems cannot sync (EINVAL, EISDIR) is let be. */
async function fsyncPath(target: string): Promise<void> {
  const handle = await open(target, 'r');
  try {
    await handle.sync();
  } catch (err) {
    if (!['EINVAL', 'EISDIR', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await handle.close();
  }
}

/** The child's half of initDataDir (exported for it alone): initdb (or a copy of a cached one), then all migrations. */
export async function createDataDirHere(dataDir: string, initdbCache?: string): Promise<void> {
  if (initdbCache) await copyCachedInitdb(initdbCache, dataDir);
  const db = wrapPglite(await PGlite.create(dataDir, { parsers: PARSERS, startParams: START_PARAMS }));
  try {
    // Lazy: the server process loads migrate.ts through main.ts, this module need not.
    await (require('./migrate') as typeof import('./migrate')).migrate(db);
  } finally {
    await db.close();
  }
  withoutGroupOrOtherWrite(dataDir);
  await fsyncTree(dataDir);
}

/**
 * PGlite's file system layer (Emscripten's NODEFS) makes initdb's files 0666 whatever the umask, and a copy
 * of the initdb cache keeps those modes: any local user could rewrite the database (pg_hba.conf, catalogs).
 * Files written later get the umask as usual, so taking group and other write off once, on creation, is
 * enough. Symlinks are left alone (their mode means nothing, and chmod would follow them).
 */
export function withoutGroupOrOtherWrite(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) withoutGroupOrOtherWrite(full);
    const mode = lstatSync(full).mode & 0o7777;
    if (mode & 0o022) chmodSync(full, mode & ~0o022);
  }
  const mode = lstatSync(dir).mode & 0o7777;
  if (mode & 0o022) chmodSync(dir, mode & ~0o022);
}

/**
 * Fills `dataDir` with a copy of the initdb'd directory kept under `cacheDir` for this PGlite build,
 * running initdb there first if no start has yet. Only initdb's output is kept, never a migrated database:
 * migration 007 gives each database its own instance_id, which the storage claim tells instances apart
 * by. A cache that cannot be used (no home, a read-only file system) only means initdb runs here: PGlite
 * creates the directory itself then.
 */
async function copyCachedInitdb(cacheDir: string, dataDir: string): Promise<void> {
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) return; // not ours to fill: left to initdb, as before
  const version = (JSON.parse(readFileSync(path.join(path.dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json'), 'utf8')) as { version: string }).version;
  const template = path.join(cacheDir, `pglite-initdb-${version}`);
  try {
    if (!existsSync(path.join(template, 'PG_VERSION'))) {
      mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
      removeStaleInitdbBuilds(cacheDir);
      // Made beside it and renamed into place: a server starting beside this one (another Domain of the
      // same `openpds up`) may be making it too, and neither may copy half of one.
      const building = mkdtempSync(`${template}.building-`);
      try {
        await (await PGlite.create(path.join(building, 'db'))).close();
        renameSync(path.join(building, 'db'), template);
      } catch (err) {
        if (!existsSync(path.join(template, 'PG_VERSION'))) throw err; // else the other one won the rename
      } finally {
        rmSync(building, { recursive: true, force: true });
      }
    }
    cpSync(template, dataDir, { recursive: true });
  } catch {
    rmSync(dataDir, { recursive: true, force: true }); // a half copy: initdb starts from nothing
  }
}

/** A build of the initdb cache takes seconds: one untouched for an hour was left by a crashed start. */
const STALE_BUILD_MS = 3_600_000;

/**
 * Removes the `*.building-*` directories (~30 MB each) that first starts which crashed mid-initdb left in
 * the cache: nothing else ever did. Exported for its test; `now` too.
 */
export function removeStaleInitdbBuilds(cacheDir: string, now = Date.now()): void {
  for (const name of readdirSync(cacheDir)) {
    if (!/^pglite-initdb-.+\.building-/.test(name)) continue;
    const dir = path.join(cacheDir, name);
    try {
      if (now - statSync(dir).mtimeMs > STALE_BUILD_MS) rmSync(dir, { recursive: true, force: true });
    } catch {
      // gone meanwhile (another start removed it)
    }
  }
}

export interface PgliteOptions {
  initdbCache?: string;
  /**
   * A command that opens the database, runs a few statements and exits (`openpds migrate`, `admin`, `jobs`,
   * `plan`/`apply`'s data planes): V8 compiles PostgreSQL's WebAssembly with Liftoff as it does by default,
   * not with TurboFan alone (see openPgliteDb). Measured with a copy of the test template: open, migrate
   * check and 100 queries 2.1–2.7 s with Liftoff against 5.2–5.9 s without, for ~60 MB more RSS that a
   * process living seconds does not keep. A server (`serve`, `up`) leaves it unset.
   */
  shortLived?: boolean;
}

/** Db on embedded PGlite: a data directory, or in memory when dataDir is undefined (tests). */
export async function createPgliteDb(given?: string, options: PgliteOptions = {}): Promise<Db> {
  // A symlinked data dir (a volume linked into place) is used by its real path: PGlite's file system layer
  // (Emscripten NODEFS) fails on a symlink with errno 44, and a first start cannot rename its build onto
  // a symlink. One lock for every path that leads to the directory.
  const dataDir = given && existsSync(given) ? realpathSync(given) : given;
  const unlock = dataDir ? lockDataDir(dataDir) : () => undefined;
  try {
    return await openPgliteDb(dataDir, unlock, options);
  } catch (err) {
    unlock();
    throw err;
  }
}

async function openPgliteDb(dataDir: string | undefined, unlock: () => void, options: PgliteOptions): Promise<Db> {
  if (dataDir) removeStaleCreations(dataDir);
  if (dataDir && !existsSync(path.join(dataDir, 'PG_VERSION'))) await createDataDir(dataDir, options.initdbCache);
  // PostgreSQL is 9 MB of WebAssembly. V8 compiles each function on first call, by default with Liftoff
  // and again with TurboFan once hot, keeping both; TurboFan alone keeps ~50-60 MB less resident (RSS after
  // open, migration check and 100 queries: 200-216 MB against 251-274 MB) and runs faster once warm, for
  // ~2.5 s more start-up (open 3.0-3.8 s against 0.6-0.8 s; 2026-12-07, a copy of the test template).
  // V8 reads the flag when it compiles, so it applies here.
  // A short-lived command keeps Liftoff: it exits before TurboFan alone would have paid off. Set both ways:
  // the flag is the process's, and a process that opened a long-lived PGlite before (a jest worker) had it off.
  v8.setFlagsFromString(options.shortLived ? '--liftoff' : '--no-liftoff');
  const bundle = readFsBundle();
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(dataDir, { parsers: PARSERS, startParams: START_PARAMS, fsBundle: bundle.blob });
  } catch (err) {
    closeSync(bundle.fd);
    throw err;
  }
  releaseFsBundle(pglite, bundle);
  const db = wrapPglite(pglite);
  return {
    ...db,
    close: async () => {
      try {
        await db.close();
      } finally {
        if (bundle.fd >= 0) closeSync(bundle.fd);
        bundle.fd = -1; // a second close() must not close a descriptor number reused since
        unlock();
      }
    },
  };
}

/**
 * PGlite's file system bundle: 699 files (time zones, encoding conversions, text search, ICU data,
 * initdb's scripts) in one 6 MB buffer. PGlite's module keeps that buffer for the life of the process and
 * every file in its in-memory file system is a view of it, although Postgres reads few of them, mostly
 * while it starts. We read the bundle ourselves to hold the buffer (PGlite takes any object with an
 * arrayBuffer() method), then, once Postgres is up, releaseFsBundle() frees it (idle RSS −6 MB).
 */
interface FsBundle {
  fd: number;
  buffer: ArrayBuffer;
  blob: Blob;
}

/** The bundle PGlite would load itself (next to its module), and the descriptor files are re-read from (closed with the Db). */
function readFsBundle(): FsBundle {
  // The descriptor stays open: a package reinstalled while the server runs must not change the bytes.
  const fd = openSync(path.join(path.dirname(require.resolve('@electric-sql/pglite')), 'pglite.data'), 'r');
  const buffer = new ArrayBuffer(fstatSync(fd).size);
  readRange(fd, new Uint8Array(buffer), 0);
  return { fd, buffer, blob: { arrayBuffer: async () => buffer } as unknown as Blob };
}

function readRange(fd: number, into: Uint8Array, position: number): void {
  for (let done = 0; done < into.length; ) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new Error('pglite.data is shorter than when the server started');
    done += n;
  }
}

/** The parts of Emscripten's in-memory file system (MEMFS) releaseFsBundle() relies on. */
interface MemfsNode {
  mode: number;
  contents?: Uint8Array | Record<string, MemfsNode> | null;
}
interface Memfs {
  root: MemfsNode;
  isDir(mode: number): boolean;
  isFile(mode: number): boolean;
}

/**
 * Turns every file still backed by the bundle into one whose bytes are read from pglite.data on first
 * access (Postgres then sees the same bytes as before), and detaches the bundle's buffer so that the
 * reference PGlite keeps no longer holds its memory. Should PGlite's internals change shape, the bundle
 * simply stays in memory.
 */
function releaseFsBundle(pglite: PGlite, bundle: FsBundle): void {
  const fs = (pglite as unknown as { mod?: { FS?: Memfs } }).mod?.FS;
  if (!fs?.root) return;
  const files: MemfsNode[] = [];
  const walk = (node: MemfsNode) => {
    if (fs.isDir(node.mode)) Object.values((node.contents ?? {}) as Record<string, MemfsNode>).forEach(walk);
    else if (fs.isFile(node.mode) && node.contents instanceof Uint8Array && node.contents.buffer === bundle.buffer) files.push(node);
  };
  walk(fs.root);
  if (files.length === 0) return;
  // One getter and setter for all files (nodes keep a shared hidden class), each file's place in a map.
  const places = new Map<MemfsNode, { offset: number; length: number }>();
  function settle(this: MemfsNode, contents: MemfsNode['contents']) {
    places.delete(this);
    Object.defineProperty(this, 'contents', { value: contents, writable: true, enumerable: true, configurable: true });
  }
  const lazyContents: PropertyDescriptor = {
    enumerable: true,
    configurable: true,
    get(this: MemfsNode) {
      const { offset, length } = places.get(this)!;
      const bytes = new Uint8Array(length);
      readRange(bundle.fd, bytes, offset);
      settle.call(this, bytes);
      return bytes;
    },
    set: settle, // a write replaces the file's storage: nothing to read
  };
  for (const node of files) {
    const { byteOffset, byteLength } = node.contents as Uint8Array;
    places.set(node, { offset: byteOffset, length: byteLength });
    Object.defineProperty(node, 'contents', lazyContents);
  }
  structuredClone(bundle.buffer, { transfer: [bundle.buffer] }); // detached; the clone is garbage
}

function wrapPglite(pglite: PGlite): Db {
  const run = async <T>(client: Pick<PGlite, 'query'>, sql: string, params?: readonly unknown[]) =>
    (await client.query<T>(sql, params as unknown[])).rows;
  return {
    dialect: 'pglite',
    query: (sql, params) => run(pglite, sql, params),
    exec: async (sql) => {
      await pglite.exec(sql);
    },
    // PGlite is one connection: its transaction() holds it exclusively, other queries wait their turn.
    transaction: (fn) =>
      pglite.transaction((tx) =>
        fn({ query: (sql, params) => run(tx, sql, params), exec: async (sql) => void (await tx.exec(sql)) } satisfies Queryable),
      ),
    close: () => pglite.close(),
  };
}
