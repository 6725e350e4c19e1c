/**
 * Migrations that run outside a transaction: a file whose first line is `-- openpds:no-transaction`.
 * PostgreSQL builds an index on a live table without blocking its writes only with CREATE INDEX
 * CONCURRENTLY, which refuses to run in a transaction block (and in a multi-statement query, which is one
 * implicitly): such a file is split and run one statement at a time. A crash (or a failed statement) can
 * stop it between statements, or leave an INVALID index of a build it cut short, and the file runs again
 * from its first statement at the next start: so it may hold only statements that are safe to run again,
 * checked when the migrations are read.
 */

export const NO_TRANSACTION_MARKER = '-- openpds:no-transaction';

/** Re-runnable by themselves; an invalid leftover of the CREATE is dropped first by the runner (migrate.ts). */
const CREATE_INDEX = /^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS\s+("(?:[^"]|"")+"|[A-Za-z_][\w$]*)\s+ON\s/i;
const DROP_INDEX = /^DROP\s+INDEX\s+CONCURRENTLY\s+IF\s+EXISTS\s/i;

export function isNoTransaction(sql: string): boolean {
  return sql.split('\n', 1)[0]!.trim() === NO_TRANSACTION_MARKER;
}

/** The index a statement creates concurrently (as written, quotes kept: to_regclass reads it so), if it does. */
export function concurrentIndexName(statement: string): string | undefined {
  return CREATE_INDEX.exec(statement)?.[1];
}

/** The statements of a no-transaction file, comments left out; throws if one is not safe to run again. */
export function noTransactionStatements(file: string, sql: string): string[] {
  const statements = splitStatements(sql);
  for (const s of statements) {
    if (!CREATE_INDEX.test(s) && !DROP_INDEX.test(s)) {
      throw new Error(
        `${file}: a ${NO_TRANSACTION_MARKER} migration may hold only CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS and ` +
          `DROP INDEX CONCURRENTLY IF EXISTS statements, which are safe to run again after a crash stopped the file midway; found: ${s.slice(0, 80)}`,
      );
    }
  }
  return statements;
}

/**
 * The same statement without CONCURRENTLY, for PGlite: one connection, and the server does not serve before
 * migrate() resolves, so nothing could write to the table meanwhile. The plain form there runs inside the
 * migration's transaction (all or nothing, as every other migration) and reads the table once instead of
 * the two scans and waits of a concurrent build. Only the leading keyword of a checked statement is touched.
 */
export function withoutConcurrently(statement: string): string {
  return statement.replace(/^((?:CREATE\s+(?:UNIQUE\s+)?|DROP\s+)INDEX)\s+CONCURRENTLY\b/i, '$1');
}

/**
 * Splits SQL on the semicolons that end statements: not those in quotes ('…', "…", $tag$…$tag$) or
 * comments. Comments are left out (replaced by a space); empty statements are dropped.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const rest = sql.slice(i);
    if (rest.startsWith('--')) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end;
      current += ' ';
    } else if (rest.startsWith('/*')) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
      current += ' ';
    } else if (c === "'" || c === '"') {
      // A doubled quote inside is the quote itself: the scan ends at the first single one.
      let j = i + 1;
      while (j < sql.length && !(sql[j] === c && sql[j + 1] !== c)) j += sql[j] === c ? 2 : 1;
      current += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === '$' && /^\$([A-Za-z_]\w*)?\$/.test(rest)) {
      const tag = /^\$([A-Za-z_]\w*)?\$/.exec(rest)![0];
      const end = sql.indexOf(tag, i + tag.length);
      const stop = end < 0 ? sql.length : end + tag.length;
      current += sql.slice(i, stop);
      i = stop;
    } else if (c === ';') {
      statements.push(current);
      current = '';
      i += 1;
    } else {
      current += c;
      i += 1;
    }
  }
  statements.push(current);
  return statements.map((s) => s.trim()).filter((s) => s.length > 0);
}
