/**
 * Sealing on demand. Until the `blob.hash` job runs, a one-part upload's content sits at its upload key,
 * which the upload URL can still write (client_writable; S3 cannot refuse a presigned PUT before it
 * expires) and which the job deletes once it has sealed or merged the content. A download link must
 * name neither: it has to answer with the same bytes until it expires, up to 32 h. So before one is
 * made for such a blob, its bytes are copied to a sealed key (blob-hashing.ts does the same) and the
 * blob is pointed there; the job then hashes that copy in place and, should it merge the content onto a
 * stored copy, keeps it for the links (deferred-deletes.repository.ts). Costs one copy, only for links
 * asked for in the moments between file/complete and the job.
 */
import type { Deps } from '../../shared/deps';
import { BlobNotFoundError } from '../../storage/blob-store';
import { uploadErrors } from './uploads.errors';
import { createUploadsRepository, sealedKey } from './uploads.repository';

export function createBlobSealing(deps: Pick<Deps, 'db' | 'store' | 'newId' | 'logger'>) {
  const repo = createUploadsRepository();

  return {
    /**
     * Seals the blob if it is still at its upload key. Resolves once no blob of this content is there; the
     * caller reads the blob's key again (sealed here, or moved by the job meanwhile).
     */
    async seal(blob: { sha256: string; storage_key: string; size: number }): Promise<void> {
      const key = sealedKey(blob.storage_key, deps.newId());
      const copy = await deps.store.copy(blob.storage_key, key).catch((e: unknown) => {
        if (e instanceof BlobNotFoundError) return null; // the job sealed or merged it and removed the upload key
        throw e;
      });
      if (!copy) return;
      const drop = (k: string) => deps.store.delete(k).catch((err: unknown) => deps.logger.warn({ err, key: k }, 'deleting an object no blob uses failed; the GC will'));
      if (copy.size !== blob.size) {
        // Replaced with another size after file/complete: the job discards such content (blob-hashing.ts).
        await drop(key);
        throw uploadErrors.contentReplaced();
      }
      if (!(await repo.sealBlob(deps.db, blob.sha256, blob.storage_key, key))) {
        await drop(key);
        return;
      }
      // No blob and no link names the upload key now; the upload URL may still write it until it expires,
      // which the GC's orphan sweep then collects.
      await drop(blob.storage_key);
    },
  };
}
export type BlobSealing = ReturnType<typeof createBlobSealing>;
