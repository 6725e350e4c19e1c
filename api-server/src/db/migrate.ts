/**
 * Forward-only numbered migrations (`migrations/NNN_name.sql`), applied in order at start and by
 * `openpds migrate`. All pending files run in one transaction under an advisory lock, so two replicas
 * starting together neither race nor leave a half-migrated schema. Never edit a file once it has landed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from './db';

const MIGRATIONS_DIR = path.join(__dirname, 'migrations');
export const MIGRATION_LOCK_KEY = 4_242_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f.replace(/\.sql$/, ''), sql: readFileSync(path.join(dir, f), 'utf8') }));
}

/** Applies pending migrations; resolves to the names applied now. */
export async function migrate(db: Db, migrations = readMigrations()): Promise<string[]> {
  return db.transaction(async (tx) => {
    // A replica starting while another migrates waits on the lock for as long as that takes: not cut by
    // the pool's statement_timeout (pg.db.ts), or it would fail to start behind a long migration.
    if (db.dialect === 'pg') await tx.query('SET LOCAL statement_timeout = 0');
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => r.version));
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.name);
    }
    return applied;
  });
}

/**
 * The migrations the database has that this build does not know: it was migrated by a newer OpenPDS. An
 * image rolled back after the new one migrated runs on a schema it was not written for (migrations are
 * forward-only; a rollback of the image does not roll them back), and nothing said so. Empty normally.
 */
export async function unknownAppliedMigrations(db: Db, migrations = readMigrations()): Promise<{ version: number; name: string }[]> {
  const known = new Set(migrations.map((m) => m.version));
  const applied = await db.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
  return applied.filter((m) => !known.has(m.version));
}
