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

/**
 * Creates a new data directory in a short-lived child process. PGlite runs initdb in a second WebAssembly
 * instance next to the server's own; WebAssembly memory never shrinks, so in-process the server kept
 * ~500 MB it touched once (measured idle RSS 762 MB on a first start against 361 MB on a restart).
 * The child exits before the server opens the directory, so nothing of initdb stays resident.
 */
async function initDataDir(dataDir: string): Promise<void> {
  const script = `const { PGlite } = require(process.argv[1]);
PGlite.create(process.argv[2], { startParams: JSON.parse(process.argv[3]) }).then((db) => db.close());`;
  await promisify(execFile)(process.execPath, ['-e', script, require.resolve('@electric-sql/pglite'), dataDir, JSON.stringify(START_PARAMS)], {
    maxBuffer: 16 * 1024 * 1024,
  }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`could not create the PGlite database in ${dataDir}: ${err.stderr?.trim() || err.message}`, { cause: err });
  });
}

/** Db on embedded PGlite: a data directory, or in memory when dataDir is undefined (tests). */
export async function createPgliteDb(dataDir?: string): Promise<Db> {
  if (dataDir && !existsSync(path.join(dataDir, 'PG_VERSION'))) await initDataDir(dataDir);
  // PostgreSQL is 9 MB of WebAssembly. V8 compiles each function on first call, by default with Liftoff
  // and again with TurboFan once hot, keeping both; TurboFan alone keeps ~20 MB less code resident (idle
  // RSS) and runs faster, for ~1 s more start-up. V8 reads the flag when it compiles, so it applies here.
  v8.setFlagsFromString('--no-liftoff');
  const pglite = await PGlite.create(dataDir, {
    parsers: { [types.INT8]: Number, [types.NUMERIC]: Number },
    startParams: START_PARAMS,
  });
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
