/**
 * The `blob.hash` job: content the client did not declare a hash for is linked at file/complete under a
 * placeholder address, so the upload answers as soon as the parts are assembled and size-checked (reading
 * a 1 GiB object back to hash it took ~2 s of a ~4 s upload on S3). This job reads the object once, then
 * in one transaction moves every revision that points at the placeholder to the real SHA-256 address,
 * merging with a copy already stored (whose object then goes), and fills in the SHA-1 content_hash.
 *
 * A one-part upload's object sits at a key its upload URL can still replace until the URL expires
 * (client_writable): the job first copies it to a sealed key of its own (sealedKey), hashes that copy and links
 * the copy, so the bytes behind a hash that other users may come to share can no longer change. The
 * upload key's object then goes.
 *
 * Safe to run twice or after a crash at any point: a placeholder that is gone (already hashed, or
 * collected by the GC because its file was deleted first) makes the job a no-op, each attempt seals to
 * a key of its own (a late attempt never writes over a copy in use), and a copy or merged duplicate that a
 * crash left behind is an orphan the GC sweeps.
 */
import type { Queryable } from '../../db/db';
import type { JobRow } from '../jobs/jobs.repository';
import { hashContent } from '../../shared/content-hasher';
import type { Deps } from '../../shared/deps';
import { createUploadsRepository, sealedKey } from './uploads.repository';

export const HASH_BLOB_JOB = 'blob.hash';

export function createBlobHashing(deps: Pick<Deps, 'db' | 'store' | 'logger' | 'newId'>) {
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
      const contentKey = pending.client_writable ? sealedKey(pending.storage_key, deps.newId()) : pending.storage_key;
      if (pending.client_writable) await deps.store.copy(pending.storage_key, contentKey);
      const hashes = await hashContent((await deps.store.get(contentKey)) as AsyncIterable<Buffer>);
      if (hashes.size !== pending.size && pending.client_writable) {
        // Replaced through its upload URL after file/complete, with another size: what was completed (and
        // counted against the quota) is gone, and keeping the rest would store bytes no quota counts.
        deps.logger.warn({ blob: pendingKey, key: pending.storage_key, size: hashes.size, completed: pending.size }, 'a one-part upload was replaced after complete; its content is discarded');
        for (const key of [contentKey, pending.storage_key]) await deps.store.delete(key).catch(() => undefined);
        await finish(deps.db);
        return 'finished';
      }
      if (hashes.size !== pending.size) throw new Error(`object ${contentKey} holds ${hashes.size} bytes, the blob says ${pending.size}`);

      const merged = await deps.db.transaction(async (tx) => {
        await finish(tx);
        if (!(await repo.getBlob(tx, pendingKey, { forUpdate: true }))) return null;
        let existing = await repo.getBlob(tx, hashes.sha256, { forUpdate: true });
        const address = { sha256: hashes.sha256, sha1: hashes.sha1, pre_hash: hashes.preHash, size: hashes.size, storage_key: contentKey };
        // Two workers hashing two uploads of the same bytes: the second insert waits for the first to
        // commit and inserts nothing; then this one merges onto it like onto any stored copy.
        if (!existing && !(await repo.insertHashedBlob(tx, address))) existing = await repo.getBlob(tx, hashes.sha256, { forUpdate: true });
        await repo.moveRevisions(tx, pendingKey, hashes.sha256, hashes.sha1);
        await repo.deleteBlob(tx, pendingKey);
        return Boolean(existing && existing.storage_key !== contentKey);
      });
      // What no blob points at now. Merged onto stored content: the upload key and this attempt's copy.
      // Linked here: the upload key, when the content went to a sealed copy. Placeholder gone (another
      // attempt linked it, or the GC took it): only this attempt's own copy; the rest is theirs.
      const sealed = contentKey !== pending.storage_key;
      let unused: string[];
      if (merged === null) unused = sealed ? [contentKey] : [];
      else if (merged) unused = [pending.storage_key, contentKey];
      else unused = sealed ? [pending.storage_key] : [];
      for (const key of new Set(unused)) {
        await deps.store.delete(key).catch((err: unknown) => deps.logger.warn({ err, key }, 'deleting an object no blob uses failed; the GC will'));
      }
      if (merged) deps.logger.debug({ blob: hashes.sha256 }, 'upload deduplicated onto stored content');
      return 'finished';
    },
  };
}
export type BlobHashing = ReturnType<typeof createBlobHashing>;
