/**
 * The one database boundary. `pg` (PostgreSQL 15+) and PGlite (embedded PostgreSQL) both implement it and
 * run the same SQL. Both return int8 as a JS number (sizes stay far below 2^53) and timestamptz as Date.
 */
export type Row = Record<string, unknown>;

export interface Queryable {
  /** One statement with $1… parameters; resolves to its rows. */
  query<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly dialect: 'pg' | 'pglite';
  /** Runs fn in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** PostgreSQL error codes the services react to. */
export const PG_UNIQUE_VIOLATION = '23505';
export const PG_FOREIGN_KEY_VIOLATION = '23503';

export const isForeignKeyViolation = (e: unknown): boolean => (e as { code?: string })?.code === PG_FOREIGN_KEY_VIOLATION;

export const isUniqueViolation = (e: unknown, constraint?: string): boolean => {
  const err = e as { code?: string; constraint?: string; message?: string };
  if (err?.code !== PG_UNIQUE_VIOLATION) return false;
  // PGlite does not always fill `constraint`; its message names it.
  return !constraint || err.constraint === constraint || (err.message ?? '').includes(constraint);
};
