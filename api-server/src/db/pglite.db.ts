import { execFile } from 'node:child_process';
import { chmodSync, closeSync, cpSync, existsSync, fstatSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import v8 from 'node:v8';
import { PGlite, types } from '@electric-sql/pglite';
import type { Db, Queryable } from './db';
import { lockDataDir } from './data-dir-lock';

// The embedded database lives in the server's own memory, and PGlite touches all of its shared buffers at
// start: PostgreSQL's default 128 MB doubled the idle RSS of a small install (measured 324 MB → 166 MB
// with 16 MB; 4 MB saves another 14 MB, 2 MB another 3 MB). Reads that miss them come from the OS page
// cache; file/list at 100k files measured no slower with 2 MB than with 16 MB. PGlite is one backend, but
// Postgres sizes its lock table, process array and other shared memory it touches at start for
// max_connections (default 100): 20 cut that memory from 10 to 6 MB (idle RSS −4 MB) and still leaves
// 64 locks × ~36 backend slots = ~2,300 lock entries for the one backend's biggest transaction.
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=2MB', '-c', 'max_connections=20'];
const PARSERS = { [types.INT8]: Number, [types.NUMERIC]: Number };

/**
 * Creates and migrates a new data directory in a short-lived child process. PGlite runs initdb in a
 * second WebAssembly instance next to the server's own, and the first migration builds the whole schema;
 * WebAssembly memory never shrinks, so in-process the server kept what both touched once (initdb: idle RSS
 * 762 MB on a first start against 361 MB on a restart; migrating in the child too: −3 MB median, and no
 * more 165–171 MB first starts). The child exits before the server opens the directory, whose own
 * migrate() then finds nothing to do. With an initdb cache (OPENPDS_PGLITE_INITDB_CACHE) the child copies
 * an initdb'd directory instead of running initdb, which is most of a first start (4–7 s here).
 */
async function initDataDir(dataDir: string, initdbCache: string | undefined): Promise<void> {
  // From the TypeScript sources (tsx, jest) the child needs tsx to load this module; dist/ is JavaScript.
  const loader = __filename.endsWith('.ts') ? ['--require', require.resolve('tsx/cjs')] : [];
  const script = 'require(process.argv[1]).createDataDirHere(process.argv[2], process.argv[3] || undefined).then(() => process.exit(0))';
  await promisify(execFile)(process.execPath, [...loader, '-e', script, __filename, dataDir, initdbCache ?? ''], {
    maxBuffer: 16 * 1024 * 1024,
  }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`could not create the PGlite database in ${dataDir}: ${err.stderr?.trim() || err.message}`, { cause: err });
  });
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

/** Db on embedded PGlite: a data directory, or in memory when dataDir is undefined (tests). */
export async function createPgliteDb(dataDir?: string, options: { initdbCache?: string } = {}): Promise<Db> {
  const unlock = dataDir ? lockDataDir(dataDir) : () => undefined;
  try {
    return await openPgliteDb(dataDir, unlock, options.initdbCache);
  } catch (err) {
    unlock();
    throw err;
  }
}

async function openPgliteDb(dataDir: string | undefined, unlock: () => void, initdbCache: string | undefined): Promise<Db> {
  if (dataDir && !existsSync(path.join(dataDir, 'PG_VERSION'))) await initDataDir(dataDir, initdbCache);
  // PostgreSQL is 9 MB of WebAssembly. V8 compiles each function on first call, by default with Liftoff
  // and again with TurboFan once hot, keeping both; TurboFan alone keeps ~20 MB less code resident (idle
  // RSS) and runs faster, for ~1 s more start-up. V8 reads the flag when it compiles, so it applies here.
  v8.setFlagsFromString('--no-liftoff');
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
