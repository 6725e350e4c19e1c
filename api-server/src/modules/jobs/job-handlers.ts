/**
 * Every job kind and the code that runs it, in one place: `serve` (app.ts) and `openpds worker` run the
 * same registry, so a kind added here is run wherever jobs run.
 */
import type { Deps } from '../../shared/deps';
import { createBlobHashing, HASH_BLOB_JOB } from '../uploads/blob-hashing';
import type { JobHandler } from './job-runner';

export function createJobHandlers(deps: Pick<Deps, 'db' | 'store' | 'logger' | 'newId' | 'config'>) {
  const hashing = createBlobHashing(deps);
  const handlers: Record<string, JobHandler> = {
    [HASH_BLOB_JOB]: (payload, job) => hashing.run(payload, job),
  };
  return { hashing, handlers };
}
