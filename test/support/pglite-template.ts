/**
 * An initdb'd PGlite data directory to start test servers from. A first start creates its database in a
 * child process (initdb, then every migration), and PGlite's initdb alone takes 4–7 s on these two busy
 * cores; the suite starts well over a hundred PGlite servers. Each copies one made once per PGlite build
 * instead (a fraction of a second) and migrates it itself, as a server with pending migrations does. Not
 * a migrated copy: migration 007 gives each database its own instance_id, which the storage claim
 * (api-server/src/storage/storage-claim.ts) tells instances apart by. The first start itself stays tested
 * where it is the subject: api-server/src/db (migrate, pglite.db), test/e2e/npm-start, the operator's `up`.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '../..');
const PREFIX = 'openpds-pglite-template-';

/** What the template's contents depend on: the PGlite build that ran initdb. */
function templateKey(): string {
  return createHash('sha256').update(readFileSync(path.join(ROOT, 'node_modules/@electric-sql/pglite/package.json'))).digest('hex').slice(0, 16);
}

/** initdb in a child process, as the server does (its WebAssembly memory stays out of the test process). */
async function initdb(dir: string): Promise<void> {
  const script = "require('@electric-sql/pglite').PGlite.create(process.argv[1]).then((p) => p.close())";
  await promisify(execFile)(process.execPath, ['-e', script, dir], { cwd: ROOT });
}

let ready: Promise<string> | undefined;

/** The template's path, made first if no test process with this PGlite build has made it yet. */
function template(): Promise<string> {
  ready ??= (async () => {
    const dir = path.join(tmpdir(), `${PREFIX}${templateKey()}`);
    if (existsSync(path.join(dir, 'PG_VERSION'))) return dir;
    // Made beside it and renamed into place: a test process running beside this one (jest's other
    // worker) may be making it too, and neither may see a half-made one.
    const building = mkdtempSync(`${dir}-building-`);
    try {
      await initdb(path.join(building, 'db'));
      renameSync(path.join(building, 'db'), dir);
    } catch (err) {
      if (!existsSync(path.join(dir, 'PG_VERSION'))) throw err; // else the other process won the rename
    } finally {
      rmSync(building, { recursive: true, force: true });
    }
    forgetOldTemplates(dir);
    return dir;
  })();
  return ready;
}

/**
 * Templates of other PGlite builds (30 MB each) go once a new one is made, if untouched for an hour.
 * "Touched" is each use (seedPgliteDataDir sets the mtime): copying from it does not change a directory's
 * mtime, so a template in use by a concurrent run of another PGlite build looked abandoned.
 */
function forgetOldTemplates(keep: string): void {
  for (const name of readdirSync(tmpdir())) {
    const dir = path.join(tmpdir(), name);
    if (!name.startsWith(PREFIX) || dir === keep) continue;
    try {
      if (Date.now() - statSync(dir).mtimeMs > 3_600_000) rmSync(dir, { recursive: true, force: true });
    } catch {
      // gone meanwhile
    }
  }
}

/** Fills `<dataDir>/db` (where the server keeps its PGlite database) with a copy of the template. */
export async function seedPgliteDataDir(dataDir: string): Promise<void> {
  const dir = await template();
  // In use now (forgetOldTemplates): one syscall per seeded server.
  const now = new Date();
  utimesSync(dir, now, now);
  cpSync(dir, path.join(dataDir, 'db'), { recursive: true });
}

/**
 * Fills `cacheDir` as an initdb cache (OPENPDS_PGLITE_INITDB_CACHE) is left by a first start that ran
 * initdb into it (copyCachedInitdb in api-server/src/db/pglite.db.ts: initdb's output in
 * `pglite-initdb-<PGlite version>`), from the template: for suites about what a first start does with a
 * filled cache, where making one cost a child process and an initdb. How a first start fills it stays
 * tested in test/api/pglite-initdb-cache.int.test.ts.
 */
export async function seedPgliteInitdbCache(cacheDir: string): Promise<void> {
  const dir = await template();
  const now = new Date();
  utimesSync(dir, now, now);
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string };
  mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  cpSync(dir, path.join(cacheDir, `pglite-initdb-${version}`), { recursive: true });
}

/** The template's path, made first if needed (its test). */
export const pgliteTemplatePath = (): Promise<string> => template();
