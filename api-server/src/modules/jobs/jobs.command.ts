/**
 * `openpds jobs …`: O&M on the job queue, straight against the domain's database (the same configuration
 * as `serve`, `worker` and `migrate`). A job that used up its attempts stays `failed` with its last error
 * and never runs again by itself (`openpds_jobs_failed_total` counts them); once the cause is fixed,
 * `retry-failed` queues them again with a fresh set of attempts. With the embedded PGlite database the
 * data directory is locked while `openpds serve` runs: stop it first.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../config/config';
import type { Db } from '../../db/db';
import { createJobsRepository } from './jobs.repository';

export const JOBS_USAGE = `usage: openpds jobs <subcommand> [--kind KIND]

  failed        list failed jobs (id, kind, attempts, last error), oldest first
  retry-failed  queue failed jobs to run again now with a fresh set of attempts

  --kind KIND   only jobs of this kind (e.g. blob.hash)`;

interface Output {
  log(line: string): void;
  error(line: string): void;
}

/** Resolves to the exit code. `openDb` is main.ts's, passed in so this module loads no database driver itself. */
export async function runJobsCommand(
  argv: readonly string[],
  deps: { env: Record<string, string | undefined>; openDb: (config: ReturnType<typeof loadConfig>) => Promise<Db>; out?: Output },
): Promise<number> {
  const out = deps.out ?? console;
  const [sub, ...rest] = argv;
  let kind: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--kind' && rest[i + 1]) kind = rest[++i];
    else if (arg.startsWith('--kind=') && arg.length > 7) kind = arg.slice(7);
    else {
      out.error(`openpds jobs: unexpected argument "${arg}"\n\n${JOBS_USAGE}`);
      return 2;
    }
  }
  if (sub === 'help' || sub === '--help' || sub === '-h') {
    out.log(JOBS_USAGE);
    return 0;
  }
  if (sub !== 'failed' && sub !== 'retry-failed') {
    out.error(`${sub ? `openpds jobs: unknown subcommand "${sub}"\n\n` : ''}${JOBS_USAGE}`);
    return 2;
  }
  const config = loadConfig(deps.env);
  // Opening an embedded database that is not there creates one (initdb, migrations): a mistyped or
  // missing OPENPDS_DATA_DIR then answered "no failed jobs" from a fresh, empty database.
  const pgVersion = path.join(config.dataDir, 'db', 'PG_VERSION');
  if (!config.databaseUrl && !existsSync(pgVersion)) {
    out.error(`openpds jobs: no database in the data directory ${path.resolve(config.dataDir)} (${pgVersion} is missing): set OPENPDS_DATA_DIR to the one \`openpds serve\` uses, or OPENPDS_DATABASE_URL`);
    return 1;
  }
  const repo = createJobsRepository();
  const db = await deps.openDb(config);
  try {
    if (sub === 'retry-failed') {
      const n = await repo.retryFailed(db, kind);
      out.log(`queued ${n} failed job${n === 1 ? '' : 's'}${kind ? ` of kind ${kind}` : ''} to run again`);
      return 0;
    }
    const failed = await repo.listFailed(db, kind, 1000);
    for (const job of failed) out.log(`${job.job_id}\t${job.kind}\t${job.attempts}\t${JSON.stringify(job.payload)}\t${job.last_error.replace(/\s+/g, ' ')}`);
    if (!failed.length) out.log(`no failed jobs${kind ? ` of kind ${kind}` : ''}`);
    return 0;
  } finally {
    await db.close();
  }
}
