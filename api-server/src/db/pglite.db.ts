import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import v8 from 'node:v8';
import { PGlite, types } from '@electric-sql/pglite';
import type { Db, Queryable } from './db';

// The embedded database lives in the server's own memory, and PGlite touches all of its shared buffers at
// start: PostgreSQL's default 128 MB doubled the idle RSS of a small install (measured 324 MB → 166 MB
// with 16 MB; 4 MB saves another 14 MB, 2 MB another 3 MB). Reads that miss them come from the OS page
// cache; file/list at 100k files measured no slower with 2 MB than with 16 MB.
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=2MB'];
const PARSERS = { [types.INT8]: Number, [types.NUMERIC]: Number };

/**
 * Creates and migrates a new data directory in a short-lived child process. PGlite runs initdb in a
 * second WebAssembly instance next to the server's own, and the first migration builds the whole schema;
 * WebAssembly memory never shrinks, so in-process the server kept what both touched once (initdb: idle RSS
 * 762 MB on a first start against 361 MB on a restart; migrating in the child too: −3 MB median, and no
 * more 165–171 MB first starts). The child exits before the server opens the directory, whose own
 * migrate() then finds nothing to do.
 */
async function initDataDir(dataDir: string): Promise<void> {
  // From the TypeScript sources (tsx, jest) the child needs tsx to load this module; dist/ is JavaScript.
  const loader = __filename.endsWith('.ts') ? ['--require', require.resolve('tsx/cjs')] : [];
  const script = 'require(process.argv[1]).createDataDirHere(process.argv[2]).then(() => process.exit(0))';
  await promisify(execFile)(process.execPath, [...loader, '-e', script, __filename, dataDir], {
    maxBuffer: 16 * 1024 * 1024,
  }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`could not create the PGlite database in ${dataDir}: ${err.stderr?.trim() || err.message}`, { cause: err });
  });
}

/** The child's half of initDataDir (exported for it alone): initdb, then all migrations. */
export async function createDataDirHere(dataDir: string): Promise<void> {
  const db = wrapPglite(await PGlite.create(dataDir, { parsers: PARSERS, startParams: START_PARAMS }));
  try {
    // Lazy: the server process loads migrate.ts through main.ts, this module need not.
    await (require('./migrate') as typeof import('./migrate')).migrate(db);
  } finally {
    await db.close();
  }
}

/** Db on embedded PGlite: a data directory, or in memory when dataDir is undefined (tests). */
export async function createPgliteDb(dataDir?: string): Promise<Db> {
  if (dataDir && !existsSync(path.join(dataDir, 'PG_VERSION'))) await initDataDir(dataDir);
  // PostgreSQL is 9 MB of WebAssembly. V8 compiles each function on first call, by default with Liftoff
  // and again with TurboFan once hot, keeping both; TurboFan alone keeps ~20 MB less code resident (idle
  // RSS) and runs faster, for ~1 s more start-up. V8 reads the flag when it compiles, so it applies here.
  v8.setFlagsFromString('--no-liftoff');
  return wrapPglite(await PGlite.create(dataDir, { parsers: PARSERS, startParams: START_PARAMS }));
}

function wrapPglite(pglite: PGlite): Db {
  const run = async <T>(client: Pick<PGlite, 'query'>, sql: string, params?: readonly unknown[]) =>
    (await client.query<T>(sql, params as unknown[])).rows;
  return {
    dialect: 'pglite',
    query: (sql, params) => run(pglite, sql, params),
    exec: async (sql) => {
      await pglite.exec(sql);
    },
    // PGlite is one connection: its transaction() holds it exclusively, other queries wait their turn.
    transaction: (fn) =>
      pglite.transaction((tx) =>
        fn({ query: (sql, params) => run(tx, sql, params), exec: async (sql) => void (await tx.exec(sql)) } satisfies Queryable),
      ),
    close: () => pglite.close(),
  };
}
