/**
 * Forward-only numbered migrations (`migrations/NNN_name.sql`), applied in order at start and by
 * `openpds migrate`, under an advisory lock, so two replicas starting together neither race nor leave a
 * half-migrated schema. Pending files run in one transaction, except a file marked
 * `-- openpds:no-transaction` (migrate-no-transaction.ts: index builds that must not block writes to a
 * live table): it runs by itself, one statement at a time, and is recorded once its last one has finished.
 * Never edit a file once it has landed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Db, Queryable } from './db';
import { concurrentIndexName, isNoTransaction, noTransactionStatements, withoutConcurrently } from './migrate-no-transaction';

const MIGRATIONS_DIR = path.join(__dirname, 'migrations');
export const MIGRATION_LOCK_KEY = 4_242_001;
/** How often a replica that finds another migrating tries the lock again. */
export const MIGRATION_LOCK_POLL_MS = 1_000;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export interface MigrateOptions {
  /** MIGRATION_LOCK_POLL_MS; shorter in tests. */
  lockPollMs?: number;
}

const CREATE_SCHEMA_MIGRATIONS = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
const RECORD = 'INSERT INTO schema_migrations (version, name) VALUES ($1, $2)';

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f.replace(/\.sql$/, ''), sql: readFileSync(path.join(dir, f), 'utf8') }));
  // A no-transaction file with a statement unsafe to run twice is refused here, before anything runs.
  for (const m of migrations) if (isNoTransaction(m.sql)) noTransactionStatements(m.name, m.sql);
  return migrations;
}

/** Applies pending migrations; resolves to the names applied now. */
export async function migrate(db: Db, migrations = readMigrations(), options: MigrateOptions = {}): Promise<string[]> {
  if (db.dialect === 'pglite') {
    // One connection, held by the transaction: nothing else can write meanwhile (and the server does not
    // serve before this resolves), so a no-transaction file runs here too, without CONCURRENTLY, all or nothing.
    return db.transaction(async (tx) => {
      await tx.exec(CREATE_SCHEMA_MIGRATIONS);
      return applyInTransaction(tx, await pendingOf(tx, migrations));
    });
  }
  return withMigrationLock(db, options.lockPollMs ?? MIGRATION_LOCK_POLL_MS, async () => {
    // Committed at once, not in the lock's transaction: the migrations run on other connections, which
    // must see the table on a new database.
    await db.exec(CREATE_SCHEMA_MIGRATIONS);
    const applied: string[] = [];
    for (const run of runsOf(await pendingOf(db, migrations))) {
      if (run.transaction) {
        applied.push(...(await db.transaction((tx) => applyInTransaction(tx, run.migrations))));
        continue;
      }
      for (const m of run.migrations) {
        await applyOutsideTransaction(db, m);
        applied.push(m.name);
      }
    }
    return applied;
  });
}

async function pendingOf(db: Queryable, migrations: Migration[]): Promise<Migration[]> {
  const done = new Set((await db.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => r.version));
  return migrations.filter((m) => !done.has(m.version));
}

/** Consecutive transactional files share one transaction; each no-transaction file is a run of its own. */
function runsOf(pending: Migration[]): { transaction: boolean; migrations: Migration[] }[] {
  const runs: { transaction: boolean; migrations: Migration[] }[] = [];
  for (const m of pending) {
    const transaction = !isNoTransaction(m.sql);
    const last = runs[runs.length - 1];
    if (transaction && last?.transaction) last.migrations.push(m);
    else runs.push({ transaction, migrations: [m] });
  }
  return runs;
}

async function applyInTransaction(tx: Queryable, migrations: Migration[]): Promise<string[]> {
  for (const m of migrations) {
    const sql = isNoTransaction(m.sql) ? noTransactionStatements(m.name, m.sql).map(withoutConcurrently).join(';\n') : m.sql;
    await tx.exec(sql);
    await tx.query(RECORD, [m.version, m.name]);
  }
  return migrations.map((m) => m.name);
}

/**
 * One statement per call (db.exec: untimed, autocommit, on a pooled connection). An index of the name
 * that an earlier, cut-short build left INVALID (a crash, a failed statement) would make IF NOT EXISTS
 * skip the build and leave it so for good: it is dropped first, concurrently too. Recorded as applied only
 * after the last statement: a crash before that runs the file again, which its statements allow.
 */
async function applyOutsideTransaction(db: Db, m: Migration): Promise<void> {
  for (const statement of noTransactionStatements(m.name, m.sql)) {
    const index = concurrentIndexName(statement);
    if (index) {
      const [found] = await db.query<{ valid: boolean }>('SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1)', [index]);
      if (found && !found.valid) await db.exec(`DROP INDEX CONCURRENTLY IF EXISTS ${index}`);
    }
    await db.exec(statement);
  }
  await db.query(RECORD, [m.version, m.name]);
}

const NOT_LOCKED = Symbol('not locked');

/**
 * Runs fn while this process holds the migration lock: a transaction-level advisory lock, in a transaction
 * of its own that fn's work does not use, left open until fn settles (a crash ends the connection and so
 * the lock). A replica that finds it taken tries again every pollMs instead of waiting in
 * pg_advisory_xact_lock: a backend waiting in a statement holds a snapshot, and CREATE INDEX CONCURRENTLY
 * waits for every transaction with an older snapshot to end, so the lock holder's index build and the
 * waiter would wait for each other forever (measured: the build hung until statement_timeout cut it).
 * The holder's own transaction, idle between statements at READ COMMITTED, holds no snapshot (see below).
 */
async function withMigrationLock<T>(db: Db, pollMs: number, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    const result = await db.transaction(async (tx) => {
      // Held for as long as the migrations take: neither timeout of the server (a DBA's
      // idle_in_transaction_session_timeout) nor of the pool (statement_timeout) may drop it midway.
      await tx.query('SET LOCAL statement_timeout = 0');
      await tx.query('SET LOCAL idle_in_transaction_session_timeout = 0');
      // Without parameters, so pg sends it as a simple query: a parameterised one (extended protocol) leaves
      // its unnamed portal, and with it a snapshot (backend_xmin), open until the transaction's next
      // statement, which never comes while the migrations run: the holder's own index builds waited for it.
      const [row] = await tx.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock(${MIGRATION_LOCK_KEY}) AS locked`);
      return row?.locked ? { value: await fn() } : NOT_LOCKED;
    });
    if (result !== NOT_LOCKED) return result.value;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
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
