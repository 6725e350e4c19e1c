/**
 * The real data plane that stands in for a Domain's pods in the operator suites, on loopback with local
 * disk. Their subject is the operator, not the database, so it runs on the throwaway PostgreSQL when the
 * run has one (`npm test` starts it; hack/start-postgres.sh for a single file): measured in a jest worker
 * on the two busy cores, 1.1–1.5 s to start and 30 ms to stop, against 15–16 s and 2 s on PGlite (its
 * WebAssembly compiled once per test file, then a first migration with nothing warm). Without one it
 * falls back to PGlite from the test template, so a suite still runs on its own.
 */
import { startTestServer } from '../../support/test-server';
import type { DbKind } from '../../support/test-db';

export const STAND_IN_DB: DbKind = process.env.OPENPDS_TEST_PG_ADMIN_URL ? 'pg' : 'pglite';

export type StandInDataPlane = Awaited<ReturnType<typeof startTestServer>>;

/** A data plane with a new database and store of its own; `extra` are OPENPDS_* settings; `db` to force one. */
export function startStandInDataPlane(extra: Record<string, string> = {}, db: DbKind = STAND_IN_DB): Promise<StandInDataPlane> {
  return startTestServer(db, 'local', extra);
}
