/**
 * createPgliteDb frees PGlite's file-system bundle once Postgres is up (its files are then read from
 * pglite.data on first access). Queries that read files Postgres does not touch at start (text search
 * dictionaries, time zones, encodings, ICU) must answer exactly as an unmodified PGlite does.
 */
import { PGlite } from '@electric-sql/pglite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { seedPgliteDataDir } from '../../../test/support/pglite-template';
import type { Db } from './db';
import { createPgliteDb } from './pglite.db';

const QUERIES = [
  "SELECT to_tsvector('english', 'The running dogs were barking')::text AS v",
  "SELECT to_tsvector('french', 'les chevaux couraient')::text AS v",
  "SELECT (timestamptz '2024-07-01 12:00:00+00' AT TIME ZONE 'Europe/Paris')::text AS v",
  "SELECT (timestamptz '2024-07-01 12:00 PST' AT TIME ZONE 'UTC')::text AS v",
  "SELECT encode(convert_to('abc', 'LATIN1'), 'hex') AS v",
  `SELECT ('a' < 'B' COLLATE "und-x-icu")::text AS v`,
  'SELECT count(*)::text AS v FROM pg_timezone_names',
];

describe('PGlite with its file-system bundle released', () => {
  let dir: string;
  let db: Db;
  let reference: PGlite;

  // Both open copies of the test template (initdb's output): the subject is what createPgliteDb does once
  // Postgres is up, not the first start (initdb and migrations in a child process, 15-20 s on two busy
  // cores, tested in test/api/pglite-initdb-cache and crash-pglite-first-start), nor an in-memory initdb.
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'openpds-pglite-'));
    await seedPgliteDataDir(dir);
    await seedPgliteDataDir(path.join(dir, 'reference'));
    db = await createPgliteDb(path.join(dir, 'db'));
    reference = await PGlite.create(path.join(dir, 'reference', 'db'));
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    await reference?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test.each(QUERIES)('answers as an unmodified PGlite: %s', async (sql) => {
    const expected = (await reference.query<{ v: string }>(sql)).rows;
    expect(expected[0]?.v).toBeTruthy();
    expect(await db.query<{ v: string }>(sql)).toEqual(expected);
  });
});
