/**
 * A Domain's database for `openpds up`, made before `up` first starts it. A first start creates the
 * database in a child process (tsx, PGlite's WebAssembly compiled again, every migration, then an fsync of
 * its ~1,000 files): 7.5 s on an idle 2-core machine, 15–20 s with the suite running, and the up suites
 * start a dozen new Domains. A seeded data dir gets a copy of the PGlite initdb template instead
 * (test/support/pglite-template.ts, not migrated: each database keeps its own instance_id) and `up`'s data
 * plane migrates it itself on start, as a server with pending migrations does. The child's first start
 * stays tested where it is the subject: up.e2e.test.ts's quickstart (upHarness `seed: false`).
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { seedPgliteDataDir } from '../../support/pglite-template';

/** Seeds `<state>/up/<namespace>/<name>/data/db` unless the Domain has a database already. */
export async function seedDomainDatabase(state: string, name: string, namespace = 'default'): Promise<void> {
  const data = path.join(state, 'up', namespace, name, 'data');
  if (fs.existsSync(path.join(data, 'db'))) return;
  // 0700 as up makes them (state-dir.ts STATE_DIR_MODE).
  fs.mkdirSync(data, { recursive: true, mode: 0o700 });
  await seedPgliteDataDir(data);
}

/** Seeds the database of each Domain the folder's manifests name (what cannot be read is up's to report). */
export async function seedFolderDomains(dir: string, state: string): Promise<void> {
  for (const { name, namespace } of domainsIn(dir)) await seedDomainDatabase(state, name, namespace);
}

function domainsIn(dir: string): { name: string; namespace: string }[] {
  const found: { name: string; namespace: string }[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/\.ya?ml$/.test(entry.name)) continue;
    let docs: YAML.Document[];
    try {
      docs = YAML.parseAllDocuments(fs.readFileSync(path.join(entry.parentPath, entry.name), 'utf8')) as YAML.Document[];
    } catch {
      continue;
    }
    for (const doc of docs) {
      const object = doc.errors?.length ? undefined : (doc.toJS() as { kind?: string; metadata?: { name?: unknown; namespace?: unknown } } | null);
      const name = object?.kind === 'Domain' ? object.metadata?.name : undefined;
      // Only names up can run: one it refuses (the CEL suite's 49 characters) needs no database.
      if (typeof name === 'string' && /^[a-z0-9]([-a-z0-9]{0,46}[a-z0-9])?$/.test(name)) found.push({ name, namespace: typeof object?.metadata?.namespace === 'string' ? object.metadata.namespace : 'default' });
    }
  }
  return found;
}
