/**
 * The `blob.hash` job: content the client did not declare a hash for is linked at file/complete under a
 * placeholder address, so the upload answers as soon as the parts are assembled and size-checked (reading
 * a 1 GiB object back to hash it took ~2 s of a ~4 s upload on S3). This job reads the object once, then
 * in one transaction moves every revision that points at the placeholder to the real SHA-256 address,
 * merging with a copy already stored (whose object then goes), and fills in the SHA-1 content_hash.
 *
 * Safe to run twice or after a crash at any point: a placeholder that is gone (already hashed, or
 * collected by the GC because its file was deleted first) makes the job a no-op, and the object of a
 * merged duplicate that a crash left behind is an orphan the GC sweeps.
 */
import type { Queryable } from '../../db/db';
import type { JobRow } from '../jobs/jobs.repository';
import { hashContent } from '../../shared/content-hasher';
import type { Deps } from '../../shared/deps';
import { createUploadsRepository } from './uploads.repository';

export const HASH_BLOB_JOB = 'blob.hash';

export function createBlobHashing(deps: Pick<Deps, 'db' | 'store' | 'logger'>) {
  const repo = createUploadsRepository();

  return {
    /** The job that hashes a placeholder blob; file/complete enqueues it in the statement that links it. */
    job(pendingSha256: string) {
      return { kind: HASH_BLOB_JOB, payload: { blob: pendingSha256 } };
    },

    async run(payload: Record<string, unknown>, job: Pick<JobRow, 'job_id'>): Promise<'finished'> {
      // The job row goes in the transaction that records the hash: done exactly when the work is.
      const finish = (db: Queryable) => db.query(`DELETE FROM jobs WHERE job_id = $1`, [job.job_id]);
      const pendingKey = String(payload.blob ?? '');
      const pending = await repo.getBlob(deps.db, pendingKey);
      // Gone, done, or no longer referenced (its file was deleted first: the GC collects it unread).
      if (!pending || pending.hashed || pending.ref_count === 0) {
        await finish(deps.db);
        return 'finished';
      }
      const hashes = await hashContent((await deps.store.get(pending.storage_key)) as AsyncIterable<Buffer>);
      if (hashes.size !== pending.size) throw new Error(`object ${pending.storage_key} holds ${hashes.size} bytes, the blob says ${pending.size}`);

      const obsoleteKey = await deps.db.transaction(async (tx) => {
        await finish(tx);
        if (!(await repo.getBlob(tx, pendingKey, { forUpdate: true }))) return null;
        let existing = await repo.getBlob(tx, hashes.sha256, { forUpdate: true });
        const address = { sha256: hashes.sha256, sha1: hashes.sha1, pre_hash: hashes.preHash, size: hashes.size, storage_key: pending.storage_key };
        // Two workers hashing two uploads of the same bytes: the second insert waits for the first to
        // commit and inserts nothing; then this one merges onto it like onto any stored copy.
        if (!existing && !(await repo.insertHashedBlob(tx, address))) existing = await repo.getBlob(tx, hashes.sha256, { forUpdate: true });
        await repo.moveRevisions(tx, pendingKey, hashes.sha256, hashes.sha1);
        await repo.deleteBlob(tx, pendingKey);
        return existing && existing.storage_key !== pending.storage_key ? pending.storage_key : null;
      });
      if (obsoleteKey) {
        await deps.store.delete(obsoleteKey).catch((err: unknown) => deps.logger.warn({ err, key: obsoleteKey }, 'deleting a deduplicated object failed; the GC will'));
        deps.logger.debug({ blob: hashes.sha256 }, 'upload deduplicated onto stored content');
      }
      return 'finished';
    },
  };
}
export type BlobHashing = ReturnType<typeof createBlobHashing>;
