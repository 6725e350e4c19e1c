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
 * Download links handed out before the job ran name the placeholder's object (never an upload key:
 * blob-sealing.ts seals before one is made). Merged onto stored content, that object is no blob's any more,
 * but it is kept until the longest of those links has expired: recorded in deferred_object_deletes in the
 * transaction that moves the revisions, deleted by the blob GC afterwards.
 *
 * A one-part upload replaced through its URL with another size after file/complete (or whose object is
 * gone) is marked discarded (uploads.repository.ts discardedKey) as the job finishes: downloads answer 409
 * ContentReplaced, and nothing is left pending at a writable key. Each sealed copy is reserved from the GC
 * before it is written (deferred-deletes.repository.ts IN_FLIGHT_OBJECT_SECONDS), whatever its grace.
 *
 * Safe to run twice or after a crash at any point: a placeholder that is gone (already hashed, or
 * collected by the GC because its file was deleted first) makes the job a no-op, each attempt seals to
 * a key of its own (a late attempt never writes over a copy in use), and a copy or merged duplicate that a
 * crash left behind is an orphan the GC sweeps.
 */
import type { Queryable } from '../../db/db';
import { createJobsRepository, LOST_LEASE, type JobClaim } from '../jobs/jobs.repository';
import { hashContent } from '../../shared/content-hasher';
import type { Deps } from '../../shared/deps';
import { BlobNotFoundError } from '../../storage/blob-store';
import { longestLinkSeconds } from '../downloads/download-link-lifetime';
import { createDeferredDeletesRepository } from '../gc/deferred-deletes.repository';
import { createUploadsRepository, isDiscardedKey, sealedKey, type BlobRow } from './uploads.repository';

export const HASH_BLOB_JOB = 'blob.hash';

/**
 * How long the job's transaction waits for any one lock, and how often it starts over when it gave up
 * (or lost a deadlock nonetheless). The job takes its locks in the order every other writer does (see
 * lockReferences), but drive/delete and user/delete take revisions before files: should a cycle form, the
 * job gives up before PostgreSQL's deadlock check (deadlock_timeout, 1 s by default) picks a victim, which
 * could be the user's call. Waiting is the job's to do, never the user's.
 */
const JOB_LOCK_TIMEOUT_MS = 300;
const JOB_LOCK_TRIES = 6;
const LOCK_WAIT_GAVE_UP = new Set(['55P03', '40P01']); // lock_not_available (lock_timeout, NOWAIT), deadlock_detected

async function retryingLockWaits<T>(fn: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await fn();
    } catch (err) {
      if (tries >= JOB_LOCK_TRIES || !LOCK_WAIT_GAVE_UP.has(String((err as { code?: unknown }).code))) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** tries * (0.5 + Math.random())));
    }
  }
}

/**
 * Locks the files whose revisions point at the blob, in file_id order, then those revisions: the order
 * every delete takes them in (the file rows, then their revisions, then, in the reference-count trigger,
 * the blobs and drives; migration 012), and file/copy (the source file's row, then the key share on its
 * blob). Taken the other way round (the blob, then the revisions and files moveRevisions updates), the job
 * deadlocked with file/delete, recyclebin/clear, file/revision/delete and file/copy of the file it hashed,
 * and the user's call answered 503 (test/api/blob-hash-lock-order.int.test.ts). Resolves to the files locked.
 */
async function lockReferences(tx: Queryable, sha256: string, options: { except?: readonly string[]; noWait?: boolean } = {}): Promise<string[]> {
  const wait = options.noWait ? ' NOWAIT' : '';
  const files = await tx.query<{ file_id: string }>(
    `SELECT f.file_id FROM files f
      WHERE f.file_id IN (SELECT r.file_id FROM file_revisions r WHERE r.blob_sha256 = $1) AND NOT f.file_id = ANY($2::text[])
      ORDER BY f.file_id FOR NO KEY UPDATE${wait}`,
    [sha256, options.except ?? []],
  );
  const ids = files.map((f) => f.file_id);
  if (ids.length) await tx.query(`SELECT 1 FROM file_revisions WHERE blob_sha256 = $1 AND file_id = ANY($2::text[]) ORDER BY revision_id FOR NO KEY UPDATE${wait}`, [sha256, ids]);
  return [...(options.except ?? []), ...ids];
}

export function createBlobHashing(deps: Pick<Deps, 'db' | 'store' | 'logger' | 'newId' | 'config'>) {
  const repo = createUploadsRepository();
  const jobs = createJobsRepository();
  const deferred = createDeferredDeletesRepository();
  const dropUnused = async (keys: Iterable<string>) => {
    for (const key of new Set(keys)) {
      await deps.store.delete(key).catch((err: unknown) => deps.logger.warn({ err, key }, 'deleting an object no blob uses failed; the GC will'));
    }
  };

  /**
   * The content of a one-part upload is gone or was replaced after file/complete: the blob is marked
   * discarded (uploads.repository.ts discardedKey) in the transaction that finishes the job, so downloads
   * answer 409 ContentReplaced and nothing stays pending with a writable key; then the objects go. 'moved'
   * when it was sealed for a link meanwhile (that copy was checked): `copies` are this attempt's to drop.
   */
  async function discard(pending: BlobRow, finish: (db: Queryable) => Promise<unknown>, copies: string[], size: number | null): Promise<'done' | 'moved'> {
    const outcome = await deps.db.transaction(async (tx) => {
      const locked = await repo.getBlob(tx, pending.sha256, { forUpdate: true });
      await deferred.releaseInFlight(tx, copies); // dropped below
      if (locked && locked.storage_key !== pending.storage_key) return 'moved' as const;
      await finish(tx);
      return locked && (await repo.markDiscarded(tx, pending.sha256, pending.storage_key)) ? ('discarded' as const) : ('gone' as const);
    });
    if (outcome === 'discarded')
      deps.logger.warn({ blob: pending.sha256, key: pending.storage_key, size, completed: pending.size }, 'a one-part upload was replaced or lost after complete; its content is discarded');
    await dropUnused(outcome === 'moved' ? copies : [...copies, pending.storage_key]);
    return outcome === 'moved' ? 'moved' : 'done';
  }

  /**
   * Runs `fn` on this attempt's sealed copy, which nothing links yet: should it throw (the store failed
   * mid-copy or mid-read), the copy goes and its in-flight reservation ends, as blob-sealing.ts does.
   * Left behind, each failed attempt kept a full copy of the upload for the reservation's 24 h.
   */
  async function unlinkedCopyOnThrow<T>(key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      await deps.store.delete(key).then(
        () => deferred.releaseInFlight(deps.db, [key]),
        (err: unknown) => deps.logger.warn({ err, key }, 'deleting a failed hash attempt\'s copy failed; the GC takes it once its reservation ends'),
      ).catch((err: unknown) => deps.logger.warn({ err, key }, 'ending a failed hash attempt\'s reservation failed; it runs out'));
      throw e;
    }
  }

  /**
   * One attempt on the placeholder as read. 'moved' when it was sealed for a download link meanwhile
   * (blob-sealing.ts): what this attempt copied or hashed may not be what the blob now holds, so it starts over.
   */
  async function attempt(pending: BlobRow, finish: (db: Queryable) => Promise<unknown>): Promise<'done' | 'moved'> {
    const pendingKey = pending.sha256;
    const contentKey = pending.client_writable ? sealedKey(pending.storage_key, deps.newId()) : pending.storage_key;
    if (pending.client_writable) {
      // Recorded (committed) before the copy: no GC run may take the copy before the transaction below links it.
      await deferred.reserveInFlight(deps.db, contentKey);
      const copied = await unlinkedCopyOnThrow(contentKey, () =>
        deps.store.copy(pending.storage_key, contentKey).then(() => true, (e: unknown) => {
          if (e instanceof BlobNotFoundError) return false;
          throw e;
        }),
      );
      // The upload key went: sealed for a link (then the blob row says where), the placeholder is gone, or
      // (the blob still points at it: everything that deletes an upload key moves the blob first) lost.
      if (!copied) return discard(pending, finish, [contentKey], null);
    }
    const read = async () => hashContent((await deps.store.get(contentKey)) as AsyncIterable<Buffer>);
    const hashes = contentKey === pending.storage_key ? await read() : await unlinkedCopyOnThrow(contentKey, read);
    // Replaced through its upload URL after file/complete, with another size: what was completed (and
    // counted against the quota) is gone, and keeping the rest would store bytes no quota counts.
    if (hashes.size !== pending.size && pending.client_writable) return discard(pending, finish, [contentKey], hashes.size);
    if (hashes.size !== pending.size) throw new Error(`object ${contentKey} holds ${hashes.size} bytes, the blob says ${pending.size}`);

    const merged = await retryingLockWaits(() => deps.db.transaction(async (tx) => {
      await tx.query(`SET LOCAL lock_timeout = '${JOB_LOCK_TIMEOUT_MS}ms'`);
      // The files and revisions first, the blobs after: see lockReferences.
      const files = await lockReferences(tx, pendingKey);
      const locked = await repo.getBlob(tx, pendingKey, { forUpdate: true });
      // Referenced since the files were listed (a file/copy committed meanwhile): taken without waiting,
      // as whoever holds one of those now may be waiting for the blob's row this transaction holds.
      if (locked) await lockReferences(tx, pendingKey, { except: files, noWait: true });
      // Linked below, or dropped after this commits: either way no longer in flight.
      if (contentKey !== pending.storage_key) await deferred.releaseInFlight(tx, [contentKey]);
      if (locked && locked.storage_key !== pending.storage_key) return 'moved' as const;
      await finish(tx);
      if (!locked) return null;
      let existing = await repo.getBlob(tx, hashes.sha256, { forUpdate: true });
      const address = { sha256: hashes.sha256, sha1: hashes.sha1, pre_hash: hashes.preHash, size: hashes.size, storage_key: contentKey };
      // Two workers hashing two uploads of the same bytes: the second insert waits for the first to
      // commit and inserts nothing; then this one merges onto it like onto any stored copy.
      if (!existing && !(await repo.insertHashedBlob(tx, address))) existing = await repo.getBlob(tx, hashes.sha256, { forUpdate: true });
      await repo.moveRevisions(tx, pendingKey, hashes.sha256, hashes.sha1);
      await repo.deleteBlob(tx, pendingKey);
      const onto = Boolean(existing && existing.storage_key !== contentKey);
      // Links may name the placeholder's object unless it is an upload key (sealed before any link).
      if (onto && !pending.client_writable) await deferred.defer(tx, [pending.storage_key], longestLinkSeconds(deps.config));
      return onto;
    }));
    // What no blob points at now. Merged onto stored content: the upload key and this attempt's copy (or,
    // not at an upload key, nothing now: it was deferred above). Linked here: the upload key, when the
    // content went to a sealed copy. Placeholder gone (another attempt linked it, or the GC took it) or
    // moved: only this attempt's own copy; the rest is theirs.
    const sealed = contentKey !== pending.storage_key;
    if (merged === null || merged === 'moved') await dropUnused(sealed ? [contentKey] : []);
    else if (merged) await dropUnused(pending.client_writable ? [pending.storage_key, contentKey] : []);
    else await dropUnused(sealed ? [pending.storage_key] : []);
    if (merged === true) deps.logger.debug({ blob: hashes.sha256 }, 'upload deduplicated onto stored content');
    return merged === 'moved' ? 'moved' : 'done';
  }

  return {
    /** The job that hashes a placeholder blob; file/complete enqueues it in the statement that links it. */
    job(pendingSha256: string) {
      return { kind: HASH_BLOB_JOB, payload: { blob: pendingSha256 } };
    },

    async run(payload: Record<string, unknown>, job: JobClaim): Promise<'finished' | typeof LOST_LEASE> {
      // The job row goes in the transaction that records the hash: done exactly when the work is. Fenced by
      // the claim: when this run's lease lapsed and another runner holds the job, the row is theirs (the
      // work committed here is still right: theirs then finds the placeholder hashed and does nothing).
      let lost = false;
      const finish = async (db: Queryable) => {
        lost = !(await jobs.finish(db, job));
      };
      const done = () => (lost ? LOST_LEASE : ('finished' as const));
      const pendingKey = String(payload.blob ?? '');
      // A placeholder moves at most once (sealed for a link: it is then no longer client_writable).
      for (let tries = 0; tries < 3; tries++) {
        const pending = await repo.getBlob(deps.db, pendingKey);
        // Gone, done, or no longer referenced (its file was deleted first: the GC collects it unread).
        // Or discarded: its content is gone for good.
        if (!pending || pending.hashed || pending.ref_count === 0 || isDiscardedKey(pending.storage_key)) {
          await finish(deps.db);
          return done();
        }
        if ((await attempt(pending, finish)) === 'done') return done();
      }
      throw new Error(`blob ${pendingKey} kept moving while it was hashed`);
    },
  };
}
export type BlobHashing = ReturnType<typeof createBlobHashing>;
