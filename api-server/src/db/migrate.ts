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
  return withMigrationSession(db, options.lockPollMs ?? MIGRATION_LOCK_POLL_MS, async (session) => {
    await session.exec(CREATE_SCHEMA_MIGRATIONS);
    const applied: string[] = [];
    for (const run of runsOf(await pendingOf(session, migrations))) {
      if (run.transaction) {
        applied.push(...(await inTransaction(session, () => applyInTransaction(session, run.migrations))));
        continue;
      }
      for (const m of run.migrations) {
        await applyOutsideTransaction(session, m);
        applied.push(m.name);
      }
    }
    return applied;
  });
}

/** BEGIN … COMMIT on the session's connection; ROLLBACK (and rethrow) if fn throws. */
async function inTransaction<T>(session: Queryable, fn: () => Promise<T>): Promise<T> {
  await session.query('BEGIN');
  try {
    const result = await fn();
    await session.query('COMMIT');
    return result;
  } catch (err) {
    await session.query('ROLLBACK');
    throw err;
  }
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
 * One statement at a time, each in autocommit. An index of the name that an earlier, cut-short build left
 * INVALID (a crash, a failed statement) would make IF NOT EXISTS skip the build and leave it so for good:
 * it is dropped first, concurrently too. Recorded as applied only after the last statement: a crash before
 * that runs the file again, which its statements allow.
 */
async function applyOutsideTransaction(session: Queryable, m: Migration): Promise<void> {
  for (const statement of noTransactionStatements(m.name, m.sql)) {
    const index = concurrentIndexName(statement);
    if (index) {
      const [found] = await session.query<{ valid: boolean }>('SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1)', [index]);
      if (found && !found.valid) await session.query(`DROP INDEX CONCURRENTLY IF EXISTS ${index}`);
    }
    await session.query(statement);
  }
  await session.query(RECORD, [m.version, m.name]);
}

const NOT_LOCKED = Symbol('not locked');

/**
 * Runs fn on one connection, outside any transaction, while it holds the migration lock (a session-level
 * advisory lock; a crash ends the connection and so the lock). Db has no way to hold a connection but
 * transaction(), and a pool may have one connection only (tests): so fn runs inside one, which commits
 * at once (COMMIT on its connection) and is opened again before it returns, for transaction() to end as
 * usual. statement_timeout is lifted for the session meanwhile (builds of big indexes) and set back.
 *
 * A replica that finds the lock taken tries again every pollMs instead of waiting in pg_advisory_lock: a
 * backend waiting in a statement holds a snapshot, and CREATE INDEX CONCURRENTLY waits for every
 * transaction with an older snapshot to end, so the holder's index build and the waiter would wait for
 * each other for good (measured: the build hung until statement_timeout cut it). Each try is a transaction
 * of its own that ends at once. An older OpenPDS starting meanwhile still waits in pg_advisory_xact_lock:
 * the build then waits until that process gives up or is killed (its startup probe).
 */
async function withMigrationSession<T>(db: Db, pollMs: number, fn: (session: Queryable) => Promise<T>): Promise<T> {
  for (;;) {
    const result = await db.transaction(async (tx) => {
      const [{ saved } = { saved: '0' }] = await tx.query<{ saved: string }>(`SELECT current_setting('statement_timeout') AS saved`);
      // Also tells pg.db not to bound this connection's statements client-side (LIFTS_STATEMENT_TIMEOUT).
      await tx.query('SET LOCAL statement_timeout = 0');
      const [row] = await tx.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${MIGRATION_LOCK_KEY}) AS locked`);
      if (!row?.locked) return NOT_LOCKED;
      await tx.query('COMMIT');
      try {
        await tx.query('SET statement_timeout = 0');
        return { value: await fn(tx) };
      } finally {
        await tx.query(`SELECT set_config('statement_timeout', $1, false)`, [saved]);
        await tx.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`);
        await tx.query('BEGIN');
      }
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
