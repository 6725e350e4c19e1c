/**
 * file/complete: claiming the session, assembling the parts, hashing (now, or later by the blob.hash job),
 * linking the content in one statement (repository.linkUpload), and what happens when that is refused
 * (keep, refuse) or fails (discard); also the one-statement path for a plain one-part upload and the
 * proof v2 answer instead of parts. Sessions and their parts are looked up through upload-sessions.ts.
 */
import { adminScope } from '../drives/drive-access.sql';
import { hashContent, type ContentHashes } from '../../shared/content-hasher';
import type { Queryable } from '../../db/db';
import { BlobNotFoundError, InvalidPartError, MIN_PART_SIZE, type ObjectInfo, type UploadedPart } from '../../storage/blob-store';
import type { AuthContext } from '../auth/auth.types';
import { AppError, conflict } from '../../shared/errors';
import { isQuotaError } from '../files/files.errors';
import type { FileRow } from '../files/files.repository';
import { computeProofV2, proofV2Equal } from './proof';
import { isSinglePut, type UploadsContext } from './upload-context';
import type { UploadSessions } from './upload-sessions';
import { uploadErrors } from './uploads.errors';
import { COMPLETING_HEARTBEAT_SECONDS, PENDING_PREFIX, sealedKey, type UploadSessionRow } from './uploads.repository';

export function createUploadCompletion(ctx: UploadsContext, sessions: Pick<UploadSessions, 'openSession' | 'storeParts'>) {
  const { deps, drives, files, background, repo, deferred, challenges, proofLimits, domainId } = ctx;
  const { openSession, storeParts } = sessions;

  /**
   * The common file/complete in one statement after one HEAD (was a claim, the HEAD, then the link): a
   * one-part upload with no declared hash, hashed later. The object is looked at first, at the key such a
   * session stores it under; the statement then claims and links it only if the session is exactly that
   * (open, the caller's, the object's size). Undefined otherwise, or on a quota error: the full path then
   * claims, checks and answers as it always has (and keeps the upload on a quota error: see keep).
   */
  async function completePlainUpload(auth: AuthContext, input: { drive_id: string; file_id: string; upload_id: string }, accessible: Promise<unknown>): Promise<FileRow | undefined> {
    if (deps.config.uploadHashing !== 'background' || !deps.store.objectUploadUrl || !/^[0-9a-zA-Z_-]{1,64}$/.test(input.upload_id)) return undefined;
    const storageKey = `blobs/${input.upload_id}`;
    const pendingSha256 = `${PENDING_PREFIX}${input.upload_id}`;
    let size = 0;
    /** The object's size as it is now, then the statement that claims the session for that size. */
    const link = async (db: Queryable, object: ObjectInfo | null) => {
      if (!object) return undefined;
      size = object.size;
      return repo.linkUpload(db, {
        blob: { sha256: pendingSha256, sha1: '', pre_hash: '', size: object.size, storage_key: storageKey, hashed: false, client_writable: true },
        uploadId: input.upload_id,
        job: background.hashing.job(pendingSha256),
        revisionId: deps.newId(),
        driveId: input.drive_id,
        fileId: input.file_id,
        createdBy: auth.userId,
        claim: { domainId, scope: adminScope(auth) },
      });
    };
    try {
      // On local disk a PUT to the upload URL could replace the object between the look at it and the
      // claim, and the file would be completed with a size its bytes no longer have (ContentReplaced
      // once hashed): both hold the upload's lock (uploads.repository lockObjectUpload), so the PUT comes
      // wholly before (its bytes are completed) or after (refused, 409 UploadCompleted). On S3 the upload
      // URL is presigned: the store takes the PUT, nothing to hold.
      // `accessible` is awaited before the transaction: on PGlite (one connection) a query awaited inside it
      // would wait for the transaction itself.
      const lockedLink = async () => {
        await accessible;
        return deps.db.transaction(async (tx) => {
          await repo.lockObjectUpload(tx, storageKey);
          return link(tx, await deps.store.head(storageKey).catch(() => null));
        });
      };
      const linked =
        deps.store.kind === 'local'
          ? await lockedLink()
          : await Promise.all([deps.store.head(storageKey).catch(() => null), accessible]).then(([object]) => link(deps.db, object));
      // A name taken meanwhile under refuse: the full path claims the session and answers 409 (refuse).
      if (!linked || linked.refused) return undefined;
      background.wake();
      deps.metrics.uploadBytes.inc(size);
      return linked.file;
    } catch (e) {
      if (isQuotaError(e)) return undefined;
      throw e;
    }
  }

  /**
   * Removes a never-completed upload: the store's parts, the session and the invisible file row, and the
   * copy complete made of it (`copyKey`), if any.
   */
  async function discard(session: UploadSessionRow, copyKey?: string) {
    if (!isSinglePut(session)) await deps.store.abortMultipart(session.storage_key, session.store_upload_id).catch(() => undefined);
    await deps.store.delete(session.storage_key).catch(() => undefined);
    if (copyKey && copyKey !== session.storage_key) {
      await deps.store.delete(copyKey).catch(() => undefined);
      await deferred.releaseInFlight(deps.db, [copyKey]).catch(() => undefined);
    }
    await deps.db.transaction(async (tx) => {
      // The file row before its session, the order a rename (migration 016's trigger), a delete of the
      // file, complete and the GC take them in: session first, a rename of the upload meanwhile deadlocked.
      await files.repo.get(tx, session.drive_id, session.file_id, { includeTrashed: true, forUpdate: true });
      await repo.deleteSession(tx, session.upload_id);
      if (await repo.isUploadingFileOrphaned(tx, session.file_id)) await files.repo.deleteSubtree(tx, session.drive_id, [session.file_id]);
    });
  }

  /**
   * A completion refused for something the client or an admin can fix (a name taken, no room): nothing
   * was linked, and nothing the client sent is lost. The session opens again with its bytes (a multipart
   * upload's assembled object, which a retry goes on from: see assemble) and its reservation, so the
   * client can fix the cause and complete again, or leave it to the GC like any open session. A sealed
   * copy made for this attempt is dropped (a retry makes its own; no blob refers to it).
   */
  async function keep(session: UploadSessionRow, copyKey?: string): Promise<void> {
    if (copyKey && copyKey !== session.storage_key) {
      await deps.store.delete(copyKey).catch(() => undefined);
      await deferred.releaseInFlight(deps.db, [copyKey]).catch(() => undefined);
    }
    await repo.reopenSession(deps.db, session.upload_id).catch(() => undefined);
  }

  /**
   * A completion refused because a live file or folder took the new file's name since file/create
   * (check_name_mode refuse, migration 015): kept (see keep) for a rename (file/update) and a complete
   * again. The answer is the 409 AlreadyExist.File file/create gives for a taken name, with the file or
   * folder that holds it.
   */
  async function refuse(session: UploadSessionRow, copyKey?: string): Promise<AppError> {
    await keep(session, copyKey);
    const file = await files.repo.get(deps.db, session.drive_id, session.file_id, { includeTrashed: true });
    const name = file?.name ?? '';
    const clash = file && (await files.repo.findByName(deps.db, session.drive_id, file.parent_file_id, file.name));
    return conflict(
      'AlreadyExist.File',
      `a ${clash?.type ?? 'file'} took the name ${name} since file/create; the upload is kept: rename it with file/update and complete it again, or create it again`,
      { exist: true, file_id: clash?.file_id ?? '', file_name: name },
    );
  }

  /**
   * Hashes the assembled object in one streamed read. Parallel ranged reads were measured slower here:
   * radosgw and the server share the same two cores.
   */
  async function hashObject(key: string): Promise<ContentHashes> {
    return hashContent((await deps.store.get(key)) as AsyncIterable<Buffer>);
  }

  async function complete(auth: AuthContext, input: { drive_id: string; file_id: string; upload_id: string; proof_code?: string; proof_version?: 'v2' }): Promise<FileRow> {
    background.noteUpload();
    if (input.proof_version === 'v2') return completeWithProof(auth, { ...input, proof_code: input.proof_code ?? '' });
    // The claim statements check who may use the drive, not its status: a disabled drive takes no
    // content. Looked up alongside the plain path's HEAD, so that path pays no extra round trip.
    const accessible = drives.getAccessible(auth, input.drive_id);
    accessible.catch(() => undefined); // awaited below on every path; this only marks it handled
    const plain = await completePlainUpload(auth, input, accessible);
    if (plain) return plain;
    await accessible;
    const session = await claim(auth, input);

    const hashLater = !session.content_hash && deps.config.uploadHashing === 'background';
    // A one-part upload's key stays writable through its upload URL: hashed content lives at a sealed
    // copy instead (see sealedKey); a placeholder waits at the upload key for the hash job to seal it.
    const contentKey = isSinglePut(session) && !hashLater ? sealedKey(session.storage_key, deps.newId()) : session.storage_key;
    const heartbeat = setInterval(() => void repo.touchSession(deps.db, session.upload_id).catch(() => undefined), COMPLETING_HEARTBEAT_SECONDS * 1000);
    let size: number;
    let hashes: ContentHashes | null = null;
    try {
      size = await assemble(session);
      if (contentKey !== session.storage_key) {
        // Committed before the copy: the copy is no blob's until linkUpload commits, and no GC run may take it.
        await deferred.reserveInFlight(deps.db, contentKey);
        await deps.store.copy(session.storage_key, contentKey);
      }
      if (!hashLater) hashes = await hashObject(contentKey);
    } catch (e) {
      // Nothing is linked yet: the session opens again at once, so the client can fix its parts and retry
      // (left 'completing', every retry answered UploadInProgress until the claim went stale).
      await repo.reopenSession(deps.db, session.upload_id).catch(() => undefined);
      // The store refused the parts (S3 InvalidPart, InvalidPartOrder, EntityTooSmall; the local store the same).
      if (e instanceof InvalidPartError) throw uploadErrors.partSize(e.message);
      throw e;
    } finally {
      clearInterval(heartbeat);
    }
    if (hashes && session.content_hash && session.content_hash !== hashes.sha1) {
      await discard(session, contentKey);
      throw uploadErrors.hashMismatch(session.content_hash, hashes.sha1);
    }
    if (hashes && hashes.size !== size) {
      // Replaced through its upload URL between the size check and the copy.
      await discard(session, contentKey);
      throw uploadErrors.sizeMismatch(size, hashes.size);
    }

    const pendingSha256 = `${PENDING_PREFIX}${session.upload_id}`;
    let linked: Awaited<ReturnType<typeof repo.linkUpload>>;
    try {
      linked = await repo.linkUpload(deps.db, {
        blob: hashes
          ? { sha256: hashes.sha256, sha1: hashes.sha1, pre_hash: hashes.preHash, size: hashes.size, storage_key: contentKey, hashed: true, client_writable: false }
          : { sha256: pendingSha256, sha1: '', pre_hash: '', size, storage_key: session.storage_key, hashed: false, client_writable: isSinglePut(session) },
        uploadId: session.upload_id,
        job: hashes ? null : background.hashing.job(pendingSha256),
        revisionId: deps.newId(),
        driveId: session.drive_id,
        fileId: session.file_id,
        createdBy: auth.userId,
      });
    } catch (e) {
      // No room (an upload that declared no size reserved nothing, or an admin lowered the quota since
      // file/create): the bytes are kept, as for a taken name, so freeing room and completing again
      // does not mean uploading them again (they were discarded: gigabytes lost to a full drive).
      if (isQuotaError(e)) {
        await keep(session, contentKey);
        throw uploadErrors.keptOverQuota(session.drive_id, size);
      }
      await discard(session, contentKey);
      throw e;
    }
    if (linked?.refused) throw await refuse(session, contentKey);
    // The blob row protects the copy now (or it is deleted just below).
    if (contentKey !== session.storage_key) await deferred.releaseInFlight(deps.db, [contentKey]);
    if (!linked) throw uploadErrors.sessionNotFound(session.upload_id); // the file went while completing
    const { file, blob } = linked;
    if (!hashes) background.wake();
    // Same content was already stored (keep one copy), or the content went to its sealed copy.
    for (const key of new Set([session.storage_key, contentKey])) if (key !== blob.storage_key) await deps.store.delete(key).catch(() => undefined);
    deps.metrics.uploadBytes.inc(size);
    return file;
  }

  /** Sets the session 'completing' for this request, or says why it cannot (no such drive or session, completed, or another completion running). */
  async function claim(auth: AuthContext, input: { drive_id: string; file_id: string; upload_id: string }): Promise<UploadSessionRow> {
    const ref = { uploadId: input.upload_id, driveId: input.drive_id, fileId: input.file_id };
    const session = await repo.claimOwnForCompletion(deps.db, { ...ref, domainId, userId: auth.userId, scope: adminScope(auth) });
    if (session) return session;
    const known = await openSession(auth, input.drive_id, input.file_id, input.upload_id);
    const retaken = await repo.claimForCompletion(deps.db, known.upload_id);
    if (!retaken) throw uploadErrors.completing(known.upload_id);
    return retaken;
  }

  /**
   * file/complete with a proof v2 answer instead of parts (proof.ts): the stored content the challenge
   * was issued for is read once to check the HMAC, then linked as complete links any content already
   * stored (the session's reservation covers it). A wrong answer uses the challenge up; a right one
   * that cannot be linked (no room, the content collected meanwhile) keeps it where it still applies.
   * Either way the session opens again, so the client can upload its parts instead.
   */
  async function completeWithProof(auth: AuthContext, input: { drive_id: string; file_id: string; upload_id: string; proof_code: string }): Promise<FileRow> {
    await drives.getAccessible(auth, input.drive_id);
    const session = await claim(auth, input);
    const reopen = () => repo.reopenSession(deps.db, session.upload_id).catch(() => undefined);
    // The session (with its challenge, by cascade) may be deleted under the claim: its file deleted or
    // trashed and purged, its drive or user deleted. Then say that, not something about the content.
    const goneOr = async (error: AppError) => ((await repo.getSession(deps.db, session.drive_id, session.file_id, session.upload_id)) ? error : uploadErrors.sessionNotFound(session.upload_id));
    const challenge = await challenges.get(deps.db, session.upload_id);
    const blob = challenge && (await repo.getBlob(deps.db, challenge.blob_sha256));
    if (!challenge || !blob) {
      await reopen();
      if (!challenge) throw await goneOr(uploadErrors.noChallenge(session.upload_id));
      await challenges.take(deps.db, session.upload_id);
      throw await goneOr(uploadErrors.rapidUnavailable());
    }
    const heartbeat = setInterval(() => void repo.touchSession(deps.db, session.upload_id).catch(() => undefined), COMPLETING_HEARTBEAT_SECONDS * 1000);
    let expected: string | null;
    try {
      expected = await proofLimits.check(async () => computeProofV2(challenge.nonce, (await deps.store.get(blob.storage_key)) as AsyncIterable<Buffer>));
    } catch (e) {
      // Collected between the lookup and the read (the GC deletes the row, then the object).
      if (!(e instanceof BlobNotFoundError)) {
        await reopen();
        throw e;
      }
      expected = null;
    } finally {
      clearInterval(heartbeat);
    }
    if (expected === null || !proofV2Equal(expected, input.proof_code)) {
      await challenges.take(deps.db, session.upload_id);
      await reopen();
      if (expected === null) throw await goneOr(uploadErrors.rapidUnavailable());
      deps.metrics.rapidUpload.inc({ result: 'proof_rejected' });
      throw uploadErrors.proofMismatch();
    }
    let linked: Awaited<ReturnType<typeof repo.linkUpload>> | 'gone' | 'unavailable' | 'refused';
    try {
      linked = await deps.db.transaction(async (tx) => {
        // In the order a drive delete, a rename and a delete of the file take them (the drive row, the
        // name, the file, then its session and the session's challenge by cascade), so they queue
        // instead of deadlocking. A name taken meanwhile under refuse: nothing is linked, and the
        // challenge is kept for the retry after a rename (refuse reopens the session).
        if (!(await files.repo.lockDriveKey(tx, session.drive_id))) return 'gone';
        const verdict = await repo.claimCompletionName(tx, session.drive_id, session.file_id, session.upload_id);
        if (verdict !== 'ok') return verdict ?? 'gone';
        // Locked so the GC, which deletes a blob row only while nothing references it, cannot take it now.
        const locked = await repo.getBlob(tx, blob.sha256, { forUpdate: true });
        if (!locked) return 'unavailable';
        if (!(await challenges.take(tx, session.upload_id))) return 'gone';
        const { ref_count: _refs, ...row } = locked;
        return repo.linkUpload(tx, {
          blob: row,
          uploadId: session.upload_id,
          job: null,
          revisionId: deps.newId(),
          driveId: session.drive_id,
          fileId: session.file_id,
          createdBy: auth.userId,
        });
      });
    } catch (e) {
      await reopen();
      if (isQuotaError(e)) throw uploadErrors.keptOverQuota(session.drive_id, blob.size);
      throw e;
    }
    if (linked === 'refused' || (typeof linked === 'object' && linked.refused)) throw await refuse(session);
    if (linked === 'unavailable') {
      await challenges.take(deps.db, session.upload_id);
      await reopen();
      throw uploadErrors.rapidUnavailable();
    }
    // The file went (deleted, or purged from the trash), or the GC took the stalled session.
    if (linked === 'gone' || !linked) throw uploadErrors.sessionNotFound(session.upload_id);
    // Parts the client may have sent before answering are not needed.
    if (!isSinglePut(session)) await deps.store.abortMultipart(session.storage_key, session.store_upload_id).catch(() => undefined);
    if (session.storage_key !== linked.blob.storage_key) await deps.store.delete(session.storage_key).catch(() => undefined);
    deps.metrics.rapidUpload.inc({ result: 'hit' });
    return linked.file;
  }

  /**
   * Checks the parts (all declared ones present, sizes adding up: these errors reopen the session so the
   * client can fix them) and assembles them; resolves to the object's size. A completion that crashed
   * after the store assembled the object finds no multipart upload but the object: it goes on from there
   * instead of failing forever.
   */
  async function assemble(session: UploadSessionRow): Promise<number> {
    if (isSinglePut(session)) {
      const object = await deps.store.head(session.storage_key);
      const problem = !object ? uploadErrors.partsMissing([1]) : session.size !== null && object.size !== session.size ? uploadErrors.sizeMismatch(session.size, object.size) : null;
      if (problem) {
        await repo.reopenSession(deps.db, session.upload_id);
        throw problem;
      }
      return object!.size;
    }
    let parts: UploadedPart[];
    let total: number;
    try {
      // Marked assembled (a refused complete kept it): no multipart upload left to list.
      if (session.assembled) throw uploadErrors.sessionNotFound(session.upload_id);
      parts = await storeParts(session);
    } catch (e) {
      // Assembled only after the size check below passed.
      const assembled = await deps.store.head(session.storage_key);
      if (assembled) {
        // Assembled by a completion that crashed before marking it (or before migration 019).
        if (!session.assembled) await repo.markAssembled(deps.db, session.upload_id);
        return assembled.size;
      }
      await repo.reopenSession(deps.db, session.upload_id);
      throw e;
    }
    try {
      const have = new Set(parts.map((p) => p.partNumber));
      const missing = Array.from({ length: session.part_count }, (_, i) => i + 1).filter((n) => !have.has(n));
      if (missing.length) throw uploadErrors.partsMissing(missing);
      parts = parts.filter((p) => p.partNumber <= session.part_count);
      total = parts.reduce((sum, p) => sum + p.size, 0);
      if (session.size !== null && total !== session.size) throw uploadErrors.sizeMismatch(session.size, total);
      // What the store would refuse at assembly, said the same way on every store, before asking it.
      const small = parts.slice(0, -1).find((p) => p.size < MIN_PART_SIZE);
      if (small) throw uploadErrors.partSize(`part ${small.partNumber} is ${small.size} bytes; every part but the last needs at least ${MIN_PART_SIZE}`);
    } catch (e) {
      await repo.reopenSession(deps.db, session.upload_id);
      throw e;
    }
    await deps.store.completeMultipart(session.storage_key, session.store_upload_id, parts);
    // At once, not in keep: a completion that crashes from here on leaves the mark too, and
    // file/get_upload_url then refuses part URLs that could no longer take bytes (UploadAssembled).
    // One UPDATE per multipart complete, beside the store's list and assembly.
    await repo.markAssembled(deps.db, session.upload_id);
    return total;
  }

  return { complete, claim, completeWithProof, assemble, discard };
}
