/**
 * Sealing on demand. Until the `blob.hash` job runs, a one-part upload's content sits at its upload key,
 * which the upload URL can still write (client_writable; S3 cannot refuse a presigned PUT before it
 * expires) and which the job deletes once it has sealed or merged the content. A download link must
 * name neither: it has to answer with the same bytes until it expires, up to 32 h. So before one is
 * made for such a blob, its bytes are copied to a sealed key (blob-hashing.ts does the same) and the
 * blob is pointed there; the job then hashes that copy in place and, should it merge the content onto a
 * stored copy, keeps it for the links (deferred-deletes.repository.ts). Costs one copy, only for links
 * asked for in the moments between file/complete and the job.
 *
 * One copy per blob, however many links are asked for at once (a one-part upload may be 5 GiB): callers
 * in this process share one sealing (single-flight by blob), and on PostgreSQL the copy runs under a
 * transaction-scoped advisory lock on the blob, so API replicas take turns and a later one finds the blob
 * sealed and copies nothing. The lock is advisory, not the blob's row lock, which the reference-count
 * trigger needs meanwhile. PGlite is one process: single-flight is enough there, and holding its one
 * connection through a copy would stall every other query.
 *
 * Content that is no longer there (the job discarded it, or a copy finds the upload key empty while the
 * blob still points at it) is marked discarded (uploads.repository.ts discardedKey): the caller answers
 * 409 ContentReplaced, now and on every later ask.
 */
import type { Queryable } from '../../db/db';
import type { Deps } from '../../shared/deps';
import { BlobNotFoundError } from '../../storage/blob-store';
import { createDeferredDeletesRepository } from '../gc/deferred-deletes.repository';
import { uploadErrors } from './uploads.errors';
import { createUploadsRepository, sealedKey } from './uploads.repository';

type SealableBlob = { sha256: string; storage_key: string; size: number };

export function createBlobSealing(deps: Pick<Deps, 'db' | 'store' | 'newId' | 'logger'>) {
  const repo = createUploadsRepository();
  const deferred = createDeferredDeletesRepository();
  const inFlight = new Map<string, Promise<void>>();
  const drop = (k: string) => deps.store.delete(k).catch((err: unknown) => deps.logger.warn({ err, key: k }, 'deleting an object no blob uses failed; the GC will'));

  /** Runs fn alone among the sealings of this blob in every process sharing the database. */
  function exclusive<T>(sha256: string, fn: (db: Queryable) => Promise<T>): Promise<T> {
    if (deps.db.dialect !== 'pg') return fn(deps.db);
    return deps.db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`blob-seal:${sha256}`]);
      return fn(tx);
    });
  }

  async function sealOnce(blob: SealableBlob): Promise<void> {
    const key = sealedKey(blob.storage_key, deps.newId());
    // Committed before the copy starts, and before the transaction below holds a connection (a second one
    // taken inside it could wait forever on a pool that sealings fill): the GC must see it while it is written.
    await deferred.reserveInFlight(deps.db, key);
    const sealed = await exclusive(blob.sha256, async (db) => {
      const now = await repo.getBlob(db, blob.sha256);
      // Sealed by another replica while this one waited, hashed, discarded, or gone: nothing to copy.
      if (!now || now.storage_key !== blob.storage_key || !now.client_writable) {
        await deferred.releaseInFlight(db, [key]);
        return null;
      }
      const copy = await deps.store.copy(blob.storage_key, key).catch((e: unknown) => {
        if (e instanceof BlobNotFoundError) return null;
        throw e;
      });
      if (!copy || copy.size !== blob.size) {
        // Gone while the blob still points at it (the job and this code move the blob before they delete
        // an upload key), or replaced with another size after file/complete: what was completed is lost.
        if (copy) await drop(key);
        await deferred.releaseInFlight(db, [key]);
        if (await repo.markDiscarded(db, blob.sha256, blob.storage_key)) {
          deps.logger.warn({ blob: blob.sha256, key: blob.storage_key, size: copy?.size ?? null, completed: blob.size }, 'a one-part upload was replaced or lost after complete; its content is discarded');
          return 'discarded' as const;
        }
        return null; // moved meanwhile (PGlite: the job); the caller reads where
      }
      const linked = await repo.sealBlob(db, blob.sha256, blob.storage_key, key);
      await deferred.releaseInFlight(db, [key]);
      if (!linked) {
        await drop(key);
        return null;
      }
      return key;
    });
    // No blob and no link names the upload key now; the upload URL may still write it until it expires,
    // which the GC's orphan sweep then collects.
    if (sealed) await drop(blob.storage_key);
    if (sealed === 'discarded') throw uploadErrors.contentReplaced();
  }

  return {
    /**
     * Seals the blob if it is still at its upload key. Resolves once no blob of this content is there; the
     * caller reads the blob's key again (sealed here or by another caller, moved by the job, or discarded).
     * Throws ContentReplaced when this call found the content gone or replaced.
     */
    seal(blob: SealableBlob): Promise<void> {
      let sealing = inFlight.get(blob.sha256);
      if (!sealing) {
        sealing = sealOnce(blob).finally(() => inFlight.delete(blob.sha256));
        inFlight.set(blob.sha256, sealing);
      }
      return sealing;
    },
  };
}
export type BlobSealing = ReturnType<typeof createBlobSealing>;
