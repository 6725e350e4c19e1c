// The state of `openpds up` holds the Domains' databases, blobs and admin passwords: under a umask of 022
// it was open to every local user, and PGlite's initdb files (0666 whatever the umask) writable by them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPgliteDb } from '../../api-server/src/db/pglite.db';
import { adminPassword, writeDriveRecords } from '../../operator/src/local/state-dir';
import { lockStateDir } from '../../operator/src/local/up-state-lock';
import { seedPgliteInitdbCache } from '../support/pglite-template';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'openpds-local-perms-'));
const previousUmask = process.umask(0o022);
afterAll(() => {
  process.umask(previousUmask);
  fs.rmSync(work, { recursive: true, force: true });
});

/** Every file and folder under `dir` that group or others may write. */
function groupOrOtherWritable(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const full = path.join(entry.parentPath, entry.name);
    if (!entry.isSymbolicLink() && fs.statSync(full).mode & 0o022) out.push(path.relative(dir, full));
  }
  return out;
}

test("up's state dir and what it creates in it are the owner's only", () => {
  const state = path.join(work, 'state');
  const release = lockStateDir(state, work);
  try {
    expect(fs.statSync(state).mode & 0o777).toBe(0o700);
    writeDriveRecords(state, {});
    adminPassword(state, 'default', 'd');
    expect(fs.statSync(path.join(state, 'up')).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(state, 'up/default/d')).mode & 0o777).toBe(0o700);
  } finally {
    release();
  }
});

test.each([
  ['by initdb', undefined],
  ['from the initdb cache', path.join(work, 'initdb-cache')],
])('a PGlite data dir created %s has no file that group or others may write', async (_how, initdbCache) => {
  const dataDir = path.join(work, `db-${initdbCache ? 'cached' : 'initdb'}`);
  if (initdbCache) {
    // A cache as a first start leaves it (initdb's output, 0666 files and all), from the test template:
    // filling it here cost a second initdb, which the case above already runs through the server's code.
    await seedPgliteInitdbCache(initdbCache);
    expect(groupOrOtherWritable(initdbCache)).not.toEqual([]);
  }
  const db = await createPgliteDb(dataDir, initdbCache ? { initdbCache } : {});
  try {
    await db.query('CREATE TABLE t (x int)');
  } finally {
    await db.close();
  }
  expect(fs.existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
  expect(groupOrOtherWritable(dataDir)).toEqual([]);
}, 120_000);
