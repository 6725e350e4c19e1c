/**
 * Databases for integration tests: a fresh database on the throwaway PostgreSQL that hack/test.sh starts
 * (OPENPDS_TEST_PG_ADMIN_URL), or an in-memory PGlite. Suites run the same tests on both.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Db } from '../../api-server/src/db/db';
import { createPgDb } from '../../api-server/src/db/pg.db';
import { createPgliteDb } from '../../api-server/src/db/pglite.db';
import { seedPgliteDataDir } from './pglite-template';

export type DbKind = 'pg' | 'pglite';
export const DB_KINDS: DbKind[] = ['pg', 'pglite'];

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite with \`npm test\`, which starts PostgreSQL and radosgw`);
  return value;
}

/** A new empty database; its URL for pg (so a child process can use it too). */
export async function createTestDatabaseUrl(): Promise<string> {
  const adminUrl = requireEnv('OPENPDS_TEST_PG_ADMIN_URL');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * `fromTemplate`: PGlite opens a copy of the initdb'd test template (./pglite-template.ts) in a temporary
 * directory, removed on close, instead of running initdb in memory (20–40 s in a jest process on two busy
 * cores, against 6–8 s). For suites that want a database, not initdb itself.
 */
export async function createTestDb(kind: DbKind, options: { fromTemplate?: boolean } = {}): Promise<Db> {
  if (kind === 'pg') return createPgDb(await createTestDatabaseUrl());
  if (!options.fromTemplate) return createPgliteDb();
  const dir = mkdtempSync(path.join(tmpdir(), 'openpds-test-db-'));
  try {
    await seedPgliteDataDir(dir);
    const db = await createPgliteDb(path.join(dir, 'db'));
    return {
      ...db,
      async close() {
        try {
          await db.close();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
