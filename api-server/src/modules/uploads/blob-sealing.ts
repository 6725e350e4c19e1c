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
 * The copy (a one-part upload may be 5 GiB) runs outside any transaction: a connection held through it
 * left a few concurrent sealings holding the whole pool, and every API request waiting. Who seals is
 * decided in short transactions around it instead:
 * - claim: under a transaction-scoped advisory lock on the blob (PostgreSQL; PGlite is one process,
 *   where single-flight is enough), a sealing that finds no other sealing's fresh claim and then (in that
 *   order: see decide) the blob still at its upload key reserves its copy's key from the GC
 *   (deferred.reserveInFlight) and commits. That reservation is its claim: renewed every
 *   SEALING_HEARTBEAT_SECONDS while it copies, it makes the sealings of other API replicas wait for the
 *   blob to move instead of copying too. A claim not renewed for SEALING_STALE_SECONDS is taken to be a
 *   crashed or stalled replica's, and another one copies.
 * - link: a conditional UPDATE (uploads.repository.ts sealBlob) points the blob at the copy only if it is
 *   still at the upload key, writable. A sealing that loses (a stalled replica's, or the hash job moved
 *   the blob) drops its own copy; the caller reads the winner's key. The reservation ends in the same
 *   transaction, so the copy is never without a row that keeps it from the GC.
 * So one copy per blob in the common case: callers in this process share one sealing (single-flight by
 * blob), other replicas wait on its claim; two copies only when a claim goes stale, and one of them goes.
 *
 * A copy that does not finish within sealingCopyTimeoutMs (S3 stalled or crawling) fails the sealing with
 * 503 ServiceUnavailable: its heartbeat stops, its claim ends and the single-flight entry goes, so no ask
 * waits on a copy that may never end; whatever the abandoned copy writes is deleted once it settles (and
 * the GC's orphan sweep collects it otherwise). The store's copy cannot be stopped (BlobStore.copy takes no
 * signal, and a CopyObject's server-side copy need not stop when its connection does), and it may well go on
 * (AWS's whitespace and radosgw's progress reports keep it past the idle timeout). So until it settles, this
 * process answers every ask for that blob with the same 503 instead of starting another copy: on a crawling
 * store, retried downloads would otherwise pile up 5 GiB copies of one blob. A replica, which cannot see it,
 * may copy once itself, as with a stale claim.
 *
 * Content that is no longer there (the job discarded it, or a copy finds the upload key empty while the
 * blob still points at it) is marked discarded (uploads.repository.ts discardedKey): the caller answers
 * 409 ContentReplaced, now and on every later ask.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queryable } from '../../db/db';
import type { Deps } from '../../shared/deps';
import { AppError } from '../../shared/errors';
import { BlobNotFoundError, type ObjectInfo } from '../../storage/blob-store';
import { createDeferredDeletesRepository } from '../gc/deferred-deletes.repository';
import { uploadErrors } from './uploads.errors';
import { createUploadsRepository, sealedKey } from './uploads.repository';

type SealableBlob = { sha256: string; storage_key: string; size: number };

/** How often a sealing renews its claim while it copies. */
export const SEALING_HEARTBEAT_SECONDS = 10;
/** A claim not renewed for this long is a crashed or stalled replica's: another sealing may copy. */
export const SEALING_STALE_SECONDS = 60;
/** Sealings' copies are `<upload key>.sealed-link-<id>`: their reservations are told apart from the hash job's. */
const claimPrefix = (uploadKey: string): string => sealedKey(uploadKey, 'link-');
/** How long a sealing that waits on another's claim sleeps between looks; a 5 GiB copy takes a minute or more. */
const waitMs = (round: number): number => Math.min(1000, 50 * 2 ** round);
/**
 * How long a sealing's copy may take: two minutes, plus the size at 10 MiB/s (a 5 GiB copy: ~10 min), well
 * beyond what a healthy S3 or disk needs for a server-side copy. The S3 client's idle timeout ends a copy on
 * a dead connection sooner; this ends one that never finishes whatever it is waiting on.
 */
export const sealingCopyTimeoutMs = (size: number): number => 120_000 + Math.ceil((size / (10 * 1024 ** 2)) * 1000);

/** The 503 of a sealing whose copy did not finish in time, or of an ask while that copy still runs. */
const notInTime = () =>
  new AppError('ServiceUnavailable', 503, 'the blob store did not finish preparing this file in time; retry later', { headers: { 'Retry-After': '5' } });

export function createBlobSealing(
  deps: Pick<Deps, 'db' | 'store' | 'newId' | 'logger'>,
  options: { copyTimeoutMs?: (size: number) => number } = {},
) {
  const copyTimeoutMs = options.copyTimeoutMs ?? sealingCopyTimeoutMs;
  const repo = createUploadsRepository();
  const deferred = createDeferredDeletesRepository();
  const inFlight = new Map<string, Promise<void>>();
  /** Blobs (sha256) whose abandoned copy is still running in the store. */
  const abandoned = new Set<string>();
  const drop = (k: string) => deps.store.delete(k).catch((err: unknown) => deps.logger.warn({ err, key: k }, 'deleting an object no blob uses failed; the GC will'));

  /**
   * Whether this call copies, decided and committed before any copy starts: 'moved' when the blob left its
   * upload key (sealed, hashed, discarded or gone), 'abandoned' while this process's abandoned copy of it
   * runs, 'busy' while another sealing's claim is fresh, else the key this call copies to, reserved.
   */
  function claim(blob: SealableBlob): Promise<'moved' | 'abandoned' | 'busy' | { key: string }> {
    const decide = async (db: Queryable) => {
      // Claims first, then the blob. The lock orders claims, not links: a winner's link, which moves the blob
      // and ends its claim in one commit, can land between these two reads. Read blob-first, this sealing saw
      // the blob unmoved, then no claim, and copied a second time (a flaky test under load, session 22).
      const busy = await deferred.hasFreshReservation(db, claimPrefix(blob.storage_key), SEALING_STALE_SECONDS);
      const now = await repo.getBlob(db, blob.sha256);
      if (!now || now.storage_key !== blob.storage_key || !now.client_writable) return 'moved' as const;
      if (abandoned.has(blob.sha256)) return 'abandoned' as const;
      if (busy) return 'busy' as const;
      const key = claimPrefix(blob.storage_key) + deps.newId();
      await deferred.reserveInFlight(db, key);
      return { key };
    };
    if (deps.db.dialect !== 'pg') return decide(deps.db);
    return deps.db.transaction(async (tx) => {
      await repo.lockBlobSealing(tx, blob.sha256);
      return decide(tx);
    });
  }

  /** Renews the claim on `key` until stopped; stop() returns once no renewal is under way (none lands after). */
  function heartbeat(key: string) {
    let beat = Promise.resolve();
    const timer = setInterval(() => {
      beat = beat
        .then(() => deferred.reserveInFlight(deps.db, key))
        .catch((err: unknown) => deps.logger.warn({ err, key }, 'renewing a sealing\'s claim failed; another replica may copy too'));
    }, SEALING_HEARTBEAT_SECONDS * 1000);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await beat;
    };
  }

  /** The store's copy, or `tooLate` once `ms` pass; `copying` settles whenever the store's copy does. */
  function copyWithin(blob: SealableBlob, key: string, ms: number) {
    const copying = deps.store.copy(blob.storage_key, key).catch((e: unknown) => {
      if (e instanceof BlobNotFoundError) return null;
      throw e;
    });
    let timer: NodeJS.Timeout | undefined;
    const tooLate = notInTime();
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        deps.logger.warn({ key, blob: blob.sha256, ms }, 'a sealing\'s copy did not finish in time; abandoned');
        reject(tooLate);
      }, ms);
    });
    const copied = Promise.race([copying, late]).finally(() => clearTimeout(timer));
    return { copying, copied, tooLate };
  }

  /** Copies the upload key to `key` (reserved by claim) and points the blob there, unless it moved meanwhile. */
  async function copyAndLink(blob: SealableBlob, key: string): Promise<void> {
    const stop = heartbeat(key);
    const { copying, copied, tooLate } = copyWithin(blob, key, copyTimeoutMs(blob.size));
    let copy: ObjectInfo | null;
    try {
      copy = await copied;
    } catch (e) {
      // Abandoned still running: asks here answer 503 until it settles (see the top of the file). Marked
      // before anything is awaited, so no ask slips between the 503 and the mark.
      if (e === tooLate) abandoned.add(blob.sha256);
      await stop();
      // The claim ends now, so no ask waits for this copy; whatever was written goes once the copy settles
      // (at once when it failed, later when abandoned still running). Until then the key is no blob's, and
      // the GC's orphan sweep may take it too.
      await deferred.releaseInFlight(deps.db, [key]).catch((err: unknown) => deps.logger.warn({ err, key }, 'ending a failed sealing\'s claim failed; it goes stale'));
      const settled = () => {
        if (e === tooLate) abandoned.delete(blob.sha256);
        return drop(key);
      };
      void copying.then(settled, settled);
      throw e;
    }
    await stop();
    if (!copy || copy.size !== blob.size) {
      // Gone while the blob still points at it (the job and this code move the blob before they delete
      // an upload key), or replaced with another size after file/complete: what was completed is lost.
      if (copy) await drop(key);
      const discarded = await deps.db.transaction(async (tx) => {
        await deferred.releaseInFlight(tx, [key]);
        return repo.markDiscarded(tx, blob.sha256, blob.storage_key);
      });
      if (!discarded) return; // moved meanwhile (sealed by a stale claim's owner, or the job): the caller reads where
      deps.logger.warn({ blob: blob.sha256, key: blob.storage_key, size: copy?.size ?? null, completed: blob.size }, 'a one-part upload was replaced or lost after complete; its content is discarded');
      await drop(blob.storage_key);
      throw uploadErrors.contentReplaced();
    }
    const linked = await deps.db.transaction(async (tx) => {
      const won = await repo.sealBlob(tx, blob.sha256, blob.storage_key, key);
      await deferred.releaseInFlight(tx, [key]);
      return won;
    });
    // Lost: the blob uses another copy, which the caller reads. Won: no blob and no link names the upload
    // key now; the upload URL may still write it until it expires, which the GC's orphan sweep then collects.
    await drop(linked ? blob.storage_key : key);
  }

  async function sealOnce(blob: SealableBlob): Promise<void> {
    for (let round = 0; ; round++) {
      const claimed = await claim(blob);
      if (claimed === 'moved') return;
      if (claimed === 'abandoned') throw notInTime();
      if (claimed !== 'busy') return copyAndLink(blob, claimed.key);
      // Another replica copies: wait for the blob to move, or for its claim to go stale.
      await sleep(waitMs(round));
    }
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
