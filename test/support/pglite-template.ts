/**
 * A migrated PGlite data directory to start test servers from. A first start creates its database in a
 * child process (initdb, then every migration: 5–7 s on two busy cores, see initDataDir in
 * api-server/src/db/pglite.db.ts), and the suite starts well over a hundred PGlite servers: each copies
 * one made once per set of migrations instead (40 MB, a fraction of a second) and opens it as a restart
 * does. The first start itself stays tested where it is the subject: api-server/src/db (migrate,
 * pglite.db), test/e2e/npm-start, the operator's `up` (test/operator/up.e2e).
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initDataDir } from '../../api-server/src/db/pglite.db';

const ROOT = path.resolve(__dirname, '../..');
const PREFIX = 'openpds-pglite-template-';

/** What the template's contents depend on: every migration, and the PGlite build that ran initdb. */
function templateKey(): string {
  const hash = createHash('sha256');
  const migrations = path.join(ROOT, 'api-server/src/db/migrations');
  for (const name of readdirSync(migrations).sort()) hash.update(name).update(readFileSync(path.join(migrations, name)));
  hash.update(readFileSync(path.join(ROOT, 'node_modules/@electric-sql/pglite/package.json')));
  return hash.digest('hex').slice(0, 16);
}

let ready: Promise<string> | undefined;

/** The template's path, made first if no test process of this checkout's migrations has made it yet. */
function template(): Promise<string> {
  ready ??= (async () => {
    const dir = path.join(tmpdir(), `${PREFIX}${templateKey()}`);
    if (existsSync(path.join(dir, 'PG_VERSION'))) return dir;
    // Made beside it and renamed into place: a test process running beside this one (jest's other
    // worker) may be making it too, and neither may see a half-made one.
    const building = mkdtempSync(`${dir}-building-`);
    try {
      await initDataDir(path.join(building, 'db'));
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

/** Templates of earlier migrations (40 MB each) go once a newer one is made, if untouched for an hour. */
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

/** Fills `<dataDir>/db` (where the server keeps its PGlite database) with a copy of the migrated template. */
export async function seedPgliteDataDir(dataDir: string): Promise<void> {
  cpSync(await template(), path.join(dataDir, 'db'), { recursive: true });
}
