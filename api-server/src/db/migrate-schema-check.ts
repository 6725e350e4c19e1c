/**
 * Whether this process may serve the schema it found: a database a newer OpenPDS migrated holds migrations
 * this build does not know (an image rolled back; migrations are forward-only). Such a process used to start,
 * answer /readyz 200 and be Ready, serving with code that may misread the schema, and its GC and jobs
 * acting on it (red team M2). Now it is not ready (/readyz `schema: newer than this version: 021_x`), the API
 * answers 503 and it runs no jobs or GC, unless OPENPDS_ALLOW_NEWER_SCHEMA says the newer migrations are
 * backward compatible (their release notes say when).
 *
 * Decided once per process, at its start: during a rolling upgrade the old pods, started before the new ones
 * migrated, keep serving as they always did (a re-check at every probe would take them all out of the
 * Service at once). In a rollback the old-image pods start on the newer schema and never turn ready, so the
 * Deployment's rollout stalls while the newer pods keep serving.
 */
import type { Logger } from 'pino';
import type { Queryable } from './db';
import { readMigrations, type Migration } from './migrate';

export interface SchemaVerdict {
  /** Applied migrations this build does not know, by name (`021_x`); empty normally. */
  unknown: string[];
  /** OPENPDS_ALLOW_NEWER_SCHEMA: serve anyway. */
  allowed: boolean;
}

export interface SchemaCheckOptions {
  db: Queryable;
  allowNewer: boolean;
  logger: Logger;
  /** This build's version, for the log. */
  version: string;
  /** openpds_schema_unknown_migrations (metrics.ts). */
  gauge?: { set(value: number): void };
  migrations?: Migration[];
}

export interface SchemaCheck {
  /** Reads the applied migrations the first time it succeeds; every later call answers the same. */
  decide(): Promise<SchemaVerdict>;
  /** What /readyz says: `ok`, `not checked yet`, or the migrations this version does not know. */
  readiness(): string;
  /** Decided, and either nothing is unknown or it is allowed. */
  servable(): boolean;
}

export const SCHEMA_NOT_CHECKED = 'not checked yet';
const UNDEFINED_TABLE = '42P01';

export function schemaReadiness(verdict: SchemaVerdict | undefined): string {
  if (!verdict) return SCHEMA_NOT_CHECKED;
  if (!verdict.unknown.length || verdict.allowed) return 'ok';
  return `newer than this version: ${verdict.unknown.join(', ')}`;
}

export function createSchemaCheck(options: SchemaCheckOptions): SchemaCheck {
  let verdict: SchemaVerdict | undefined;
  let deciding: Promise<SchemaVerdict> | undefined;

  async function read(): Promise<SchemaVerdict> {
    const known = new Set((options.migrations ?? readMigrations()).map((m) => m.version));
    const applied = await options.db
      .query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version')
      // No table yet: a worker started before `serve` migrated a new database. Nothing is newer than this.
      .catch((err: { code?: unknown }) => (err?.code === UNDEFINED_TABLE ? [] : Promise.reject(err)));
    const found: SchemaVerdict = { unknown: applied.filter((m) => !known.has(m.version)).map((m) => m.name), allowed: options.allowNewer };
    verdict = found;
    options.gauge?.set(found.unknown.length);
    const context = { migrations: found.unknown, version: options.version };
    if (found.unknown.length && found.allowed) {
      options.logger.warn(
        context,
        `the database was migrated by a newer OpenPDS than this one (${options.version}); serving anyway, as OPENPDS_ALLOW_NEWER_SCHEMA=true says those migrations are backward compatible`,
      );
    } else if (found.unknown.length) {
      options.logger.error(
        context,
        `the database was migrated by a newer OpenPDS than this one (${options.version}): this process does not serve, run jobs or GC (/readyz answers 503) since it may misread or damage data it was not written for. ` +
          'Run the newer version (rolling an image back does not roll its migrations back), or set OPENPDS_ALLOW_NEWER_SCHEMA=true if the newer release notes say these migrations are backward compatible',
      );
    }
    return found;
  }

  return {
    async decide() {
      if (verdict) return verdict;
      deciding ??= read().finally(() => (deciding = undefined));
      return deciding;
    },
    readiness: () => schemaReadiness(verdict),
    servable: () => schemaReadiness(verdict) === 'ok',
  };
}
