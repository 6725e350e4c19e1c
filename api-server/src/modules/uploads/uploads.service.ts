/**
 * Multipart and rapid upload. Bytes go from the client straight to the store (presigned S3 part URLs, or
 * signed URLs on this server for local disk); the database only tracks sessions. Completion assembles the
 * parts and in one statement (repository.linkUpload) links the blob, adds the revision (the trigger counts
 * the reference and enforces the quota) and makes the file available. Until that commits nothing is
 * visible; on any failure nothing is.
 *
 * Hashing (SHA-1 for PDS clients, SHA-256 as the content address) needs the bytes read back once. When the
 * client declared a content_hash, complete does it before answering, so a mismatch creates nothing. When
 * it did not (and OPENPDS_UPLOAD_HASHING=background, the default), the content is linked under a
 * placeholder address and the `blob.hash` job hashes and deduplicates it moments later (blob-hashing.ts):
 * the upload answers once its parts are assembled and size-checked.
 */
import { adminScope } from '../drives/drive-access.sql';
import { isForeignKeyViolation, type Queryable } from '../../db/db';
import { hashContent, type ContentHashes } from '../../shared/content-hasher';
import type { Deps } from '../../shared/deps';
import { BlobNotFoundError, InvalidPartError, MAX_PART_NUMBER, MAX_PART_SIZE, MIN_PART_SIZE, UploadNotFoundError, type UploadedPart } from '../../storage/blob-store';
import type { AuthContext } from '../auth/auth.types';
import type { DrivesService } from '../drives/drives.service';
import { AppError, conflict } from '../../shared/errors';
import { isQuotaError } from '../files/files.errors';
import { ROOT, type FileRow } from '../files/files.repository';
import type { CheckNameMode, FilesService } from '../files/files.service';
import { describeName, validateName } from '../files/names';
import { createDeferredDeletesRepository } from '../gc/deferred-deletes.repository';
import type { BlobHashing } from './blob-hashing';
import { createProofChallengesRepository } from './proof-challenges.repository';
import { createProofLimits } from './proof-limits';
import { computeProofV2, newProofNonce, PROOF_V2_ALGORITHM, proofRange, proofV2Equal } from './proof';
import { uploadErrors } from './uploads.errors';
import { COMPLETING_HEARTBEAT_SECONDS, createUploadsRepository, MAX_OPEN_UPLOADS_PER_DRIVE, PENDING_PREFIX, sealedKey, type BlobRow, type UploadSessionRow } from './uploads.repository';

/** Proof v2 answers checked at once per process (each reads a stored copy whole); the rest wait their turn. */
const PROOF_V2_CONCURRENT_CHECKS = 2;

export interface CreateFileInput {
  drive_id: string;
  parent_file_id: string;
  name: string;
  check_name_mode: CheckNameMode;
  size?: number;
  content_type?: string;
  part_info_list?: { part_number: number; part_size?: number }[];
  pre_hash?: string;
  content_hash?: string;
  content_hash_name?: string;
  proof_code?: string;
  proof_version?: string;
  description?: string;
  hidden?: boolean;
  labels?: string[];
  user_meta?: string;
  local_created_at?: string;
  local_modified_at?: string;
}

export interface CreateFileResult {
  file: FileRow;
  exist: boolean;
  rapid_upload: boolean;
  upload_id: string;
  part_info_list: { part_number: number; upload_url: string; part_size?: number }[];
  /** Proof v2: answer it at file/complete instead of uploading the parts (see proof.ts). */
  proof_challenge?: { proof_version: 'v2'; algorithm: string; nonce: string };
}

export interface BackgroundHashing {
  hashing: BlobHashing;
  /** Called after a commit that enqueued hashing, so a runner in this process starts on it at once. */
  wake(): void;
  /** Called on each upload call: `serve`'s own runner lets young jobs wait while uploads keep coming. */
  noteUpload(): void;
}

export function createUploadsService(
  deps: Pick<Deps, 'db' | 'store' | 'newId' | 'config' | 'metrics' | 'logger' | 'clock'>,
  drives: DrivesService,
  files: FilesService,
  background: BackgroundHashing,
) {
  const repo = createUploadsRepository();
  const deferred = createDeferredDeletesRepository();
  const challenges = createProofChallengesRepository();
  const proofLimits = createProofLimits({ challengesPerWindow: deps.config.rapidUploadChallengesPerHour, windowMs: 3_600_000, concurrentChecks: PROOF_V2_CONCURRENT_CHECKS, now: () => deps.clock.now() });
  const domainId = deps.config.domainId;

  /**
   * The sorted part numbers asked for. They run from 1 to `partCount` (the session's; at create, the number
   * of parts listed): complete assembles exactly parts 1..part_count, and a URL for any other number let
   * a client store parts (up to 5 GiB each) that nothing counts or needs.
   */
  function checkParts(parts: CreateFileInput['part_info_list'], size: number | undefined, partCount?: number): number[] {
    const list = parts?.length ? parts : [{ part_number: 1 }];
    if (list.length > MAX_PART_NUMBER) throw uploadErrors.partNumbers(`at most ${MAX_PART_NUMBER} parts`);
    const max = Math.min(partCount ?? list.length, MAX_PART_NUMBER);
    const numbers = list.map((p) => p.part_number);
    if (numbers.some((n) => !Number.isInteger(n) || n < 1 || n > max)) throw uploadErrors.partNumbers(`part numbers run from 1 to ${max} for this upload`);
    if (new Set(numbers).size !== numbers.length) throw uploadErrors.partNumbers('part numbers must be unique');
    if (list.some((p) => p.part_size !== undefined && p.part_size > MAX_PART_SIZE)) throw uploadErrors.partSize(`a part holds at most ${MAX_PART_SIZE} bytes`);
    if (size !== undefined && size > MAX_PART_SIZE * list.length) throw uploadErrors.partSize(`${list.length} parts cannot hold ${size} bytes`);
    const declared = list.reduce((sum, p) => (p.part_size === undefined ? NaN : sum + p.part_size), 0);
    if (size !== undefined && partCount === undefined && !Number.isNaN(declared) && declared !== size)
      throw uploadErrors.partSize(`the part sizes add up to ${declared} bytes, not the declared size ${size}`);
    return numbers.sort((a, b) => a - b);
  }

  /** The declared part sizes by part number (see UploadSessionRow.part_sizes), or null when none was. */
  function partSizesOf(parts: CreateFileInput['part_info_list']): (number | null)[] | null {
    if (!parts?.some((p) => p.part_size !== undefined)) return null;
    const sizes: (number | null)[] = Array.from({ length: parts.length }, () => null);
    for (const p of parts) sizes[p.part_number - 1] = p.part_size ?? null;
    return sizes;
  }

  /**
   * The exact length a part's URL signs, when known: the declared part size, or the declared size for a
   * one-part upload. The PDS API does not say how a file splits into parts, so none is guessed otherwise;
   * complete checks the total either way.
   */
  function partLength(session: Pick<UploadSessionRow, 'size' | 'part_count' | 'part_sizes'>, n: number): number | undefined {
    return session.part_sizes?.[n - 1] ?? (session.part_count === 1 ? session.size : null) ?? undefined;
  }

  /**
   * A one-part upload on a store that signs whole-object PUTs (S3) skips multipart: no multipart upload to
   * open, list and assemble (three store round trips of the four a small file cost). Its session has no
   * store upload id; the object appears whole or not at all when the client's PUT ends.
   */
  const isSinglePut = (session: Pick<UploadSessionRow, 'store_upload_id'>) => session.store_upload_id === '';

  /** Upload URLs that take exactly the declared length where it is known (partLength), so bytes stay bounded by the reservation. */
  async function partUrls(session: Pick<UploadSessionRow, 'storage_key' | 'store_upload_id' | 'size' | 'part_count' | 'part_sizes'>, numbers: number[]) {
    if (isSinglePut(session)) {
      if (numbers.some((n) => n !== 1)) throw uploadErrors.partNumbers('this upload has a single part, number 1');
      return [{ part_number: 1, upload_url: await deps.store.objectUploadUrl!(session.storage_key, deps.config.uploadUrlTtl, partLength(session, 1)) }];
    }
    return Promise.all(
      numbers.map(async (n) => ({
        part_number: n,
        upload_url: await deps.store.partUploadUrl(session.storage_key, session.store_upload_id, n, deps.config.uploadUrlTtl, partLength(session, n)),
      })),
    );
  }

  /** True when the proof matches the stored bytes (8 bytes read with one range request). */
  async function proofMatches(blob: BlobRow, accessToken: string, proofCode: string): Promise<boolean> {
    const range = proofRange(accessToken, blob.size);
    if (!range) return proofCode === '';
    const stream = await deps.store.get(blob.storage_key, range);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('base64') === proofCode;
  }

  /**
   * Links stored content as a new revision of `file` (new or overwritten) and makes it available. The
   * revision goes last: its trigger takes the drive's row lock (quota), which every upload to the drive
   * waits on, so it is held only for this statement and the commit.
   */
  async function linkContent(tx: Queryable, auth: AuthContext, file: Pick<FileRow, 'file_id' | 'drive_id'>, blob: BlobRow): Promise<FileRow> {
    const revisionId = deps.newId();
    const linked = (await files.repo.update(tx, file.drive_id, file.file_id, { status: 'available', size: blob.size, content_hash: blob.sha1, revision_id: revisionId }))!;
    await repo.insertRevision(tx, { revision_id: revisionId, file_id: file.file_id, drive_id: file.drive_id, blob_sha256: blob.sha256, size: blob.size, content_hash: blob.sha1, created_by: auth.userId });
    return linked;
  }

  /**
   * Tries rapid upload. `link`: stored content to link at once; null when it does not apply (then a normal
   * session is opened). Only content the caller can already read is linked. Proof v1 alone never links
   * another user's content: 8 bytes at an offset the client sees before it answers were walked across a
   * file known only in part (red team; a token refresh gave a new offset). A proof v1 a holder sends is
   * still checked, as before. `challenge`: the content is stored but not the caller's, the client asked
   * for proof v2, the domain allows it (OPENPDS_RAPID_UPLOAD_PROOF_V2: off by default, since a challenge
   * confirms that someone in the domain holds that whole file) and the caller has challenges left
   * (proof-limits.ts): the session opened for it carries a challenge (proof.ts) that file/complete can
   * answer instead of uploading. Callers who upload anyway lose nothing but the transfer: the stored bytes are
   * deduplicated (at complete, or by the blob.hash job).
   */
  async function tryRapid(auth: AuthContext, input: CreateFileInput): Promise<{ link: BlobRow | null; challenge: BlobRow | null }> {
    const none = { link: null, challenge: null };
    if (!input.content_hash || input.size === undefined) return none;
    const blob = await repo.findBlobBySha1(deps.db, input.content_hash.toLowerCase(), input.size);
    if (!blob) {
      deps.metrics.rapidUpload.inc({ result: 'miss' });
      return none;
    }
    const holds = await repo.callerHoldsContent(deps.db, { domainId, userId: auth.userId, scope: adminScope(auth), sha1: blob.sha1, size: blob.size });
    if (!holds && input.proof_version === 'v2' && deps.config.rapidUploadProofV2) {
      const allowed = await proofLimits.takeChallenge(deps.db, auth.userId);
      deps.metrics.rapidUpload.inc({ result: allowed ? 'challenged' : 'challenge_limited' });
      return { link: null, challenge: allowed ? blob : null };
    }
    const proven = holds && (input.proof_code !== undefined && input.proof_version === 'v1' ? await proofMatches(blob, auth.accessToken, input.proof_code) : true);
    deps.metrics.rapidUpload.inc({ result: proven ? 'hit' : 'proof_rejected' });
    return { link: proven ? blob : null, challenge: null };
  }

  function newFileRow(auth: AuthContext, input: CreateFileInput, name: string) {
    const described = describeName(name);
    return {
      file_id: deps.newId(),
      drive_id: input.drive_id,
      parent_file_id: input.parent_file_id,
      name,
      type: 'file' as const,
      status: 'uploading' as const,
      size: input.size ?? 0,
      content_type: input.content_type || described.content_type,
      category: described.category,
      file_extension: described.file_extension,
      description: input.description ?? '',
      labels: input.labels ?? [],
      user_meta: input.user_meta ?? '',
      hidden: input.hidden ?? false,
      local_created_at: input.local_created_at ? new Date(input.local_created_at) : null,
      local_modified_at: input.local_modified_at ? new Date(input.local_modified_at) : null,
      created_by: auth.userId,
    };
  }

  function newSession(auth: AuthContext, input: CreateFileInput, fileId: string, ids: { uploadId: string; storeUploadId: string }, partCount: number) {
    return {
      upload_id: ids.uploadId,
      file_id: fileId,
      drive_id: input.drive_id,
      storage_key: `blobs/${ids.uploadId}`,
      store_upload_id: ids.storeUploadId,
      size: input.size ?? null,
      part_count: partCount,
      part_sizes: partSizesOf(input.part_info_list),
      content_hash: input.content_hash?.toLowerCase() ?? '',
      pre_hash: input.pre_hash?.toLowerCase() ?? '',
      check_name_mode: input.check_name_mode,
      requested_name: input.name,
      created_by: auth.userId,
    };
  }

  /**
   * The common file/create in one statement (was seven round trips): no content_hash declared (no rapid
   * upload to try), one part on a store that takes a presigned PUT (no multipart upload to open first), a
   * drive the caller may write with room for the size, a live parent folder, a pre_hash (if any) that no
   * stored content has, and a free name. Undefined when the request is not that (or not valid: the full
   * path then says what is wrong, in its usual order) or the statement inserted nothing (a clash, a bad
   * drive or parent, no room, PreHashMatched).
   */
  async function openPlainUpload(auth: AuthContext, input: CreateFileInput): Promise<CreateFileResult | undefined> {
    if (input.content_hash || !deps.store.objectUploadUrl) return undefined;
    try {
      const numbers = checkParts(input.part_info_list, input.size);
      if (numbers.length !== 1 || numbers[0] !== 1) return undefined;
      validateName(input.name);
    } catch {
      return undefined;
    }
    const row = newFileRow(auth, input, input.name);
    const session = newSession(auth, input, row.file_id, { uploadId: deps.newId(), storeUploadId: '' }, 1);
    const access = { domainId, userId: auth.userId, scope: adminScope(auth) };
    // Into a folder: under the drive's shared tree lock (files.repository lockTree), taken in a statement
    // of its own so openUpload's snapshot, taken after it, sees a trash or delete of the folder that
    // committed meanwhile (and inserts nothing); otherwise the row could be left under a folder that is
    // gone. The root is never trashed nor deleted: one statement, no transaction.
    const open = (db: Queryable) => repo.openUpload(db, access, row, session, input.check_name_mode !== 'ignore');
    const file = await (input.parent_file_id === ROOT
      ? open(deps.db)
      : deps.db.transaction(async (tx) => {
          await files.repo.lockTree(tx, input.drive_id, 'shared');
          return open(tx);
        })
    ).catch((e: unknown) => {
      // A concurrent upload reserved the room between the statement's check and its insert: explained below.
      if (isQuotaError(e)) return undefined;
      throw e;
    });
    if (!file) return undefined;
    return { file, exist: false, rapid_upload: false, upload_id: session.upload_id, part_info_list: await partUrls(session, [1]) };
  }

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
    const [object] = await Promise.all([deps.store.head(storageKey).catch(() => null), accessible]);
    if (!object) return undefined;
    const pendingSha256 = `${PENDING_PREFIX}${input.upload_id}`;
    try {
      const linked = await repo.linkUpload(deps.db, {
        blob: { sha256: pendingSha256, sha1: '', pre_hash: '', size: object.size, storage_key: storageKey, hashed: false, client_writable: true },
        uploadId: input.upload_id,
        job: background.hashing.job(pendingSha256),
        revisionId: deps.newId(),
        driveId: input.drive_id,
        fileId: input.file_id,
        createdBy: auth.userId,
        claim: { domainId, scope: adminScope(auth) },
      });
      // A name taken meanwhile under refuse: the full path claims the session and answers 409 (refuse).
      if (!linked || linked.refused) return undefined;
      background.wake();
      deps.metrics.uploadBytes.inc(object.size);
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
   * file/list_uploaded_parts for a multipart upload the store already assembled: a complete refused after
   * assembly (a name taken, no room: see keep) kept the object, and the store's multipart upload, which
   * listed the parts, ended with the assembly. Every part is in, so every part is listed, as a resumable
   * upload protocol answers "all received" once it is (tus: Upload-Offset = Upload-Length; a GCS status
   * query: the whole range): a client resuming from this list then sends nothing and completes again,
   * which goes on from the object (see assemble). 404 NotFound.UploadId, as before, said the upload was gone
   * and made clients upload it all again; a 409 would do the same to clients that take any error as a lost
   * upload. The answer also says `assembled: true`, and no URL can add a part any more. The store keeps no
   * part sizes past assembly: a part's size is given where it is known (declared at file/create, or the
   * only one not declared: the object's size less the others), and left out otherwise; no etag. Null when
   * `error` is not "no such multipart upload" or there is no assembled object (the upload is gone).
   */
  async function assembledParts(session: UploadSessionRow, error: unknown): Promise<{ partNumber: number; size?: number; etag: string }[] | null> {
    if (isSinglePut(session) || !(error instanceof AppError && error.code === 'NotFound.UploadId')) return null;
    const object = await deps.store.head(session.storage_key);
    if (!object) return null;
    const known = Array.from({ length: session.part_count }, (_, i) => partLength(session, i + 1));
    const unknown = known.filter((size) => size === undefined).length;
    const rest = object.size - known.reduce<number>((sum, size) => sum + (size ?? 0), 0);
    return known.map((size, i) => ({ partNumber: i + 1, size: size ?? (unknown === 1 ? rest : undefined), etag: '' }));
  }

  /**
   * Hashes the assembled object in one streamed read. Parallel ranged reads were measured slower here:
   * radosgw and the server share the same two cores.
   */
  async function hashObject(key: string): Promise<ContentHashes> {
    return hashContent((await deps.store.get(key)) as AsyncIterable<Buffer>);
  }

  return {
    /**
     * file/create for files. `allowRapid` is false only on the retry after a lost race: the GC deleted the
     * blob between the lookup and the link (the link then fails its foreign key), so the caller uploads.
     */
    async create(auth: AuthContext, input: CreateFileInput, allowRapid = true): Promise<CreateFileResult> {
      background.noteUpload();
      if (input.content_hash_name && input.content_hash_name.toLowerCase() !== 'sha1') throw uploadErrors.hashName();
      const plain = await openPlainUpload(auth, input);
      if (plain) return plain;
      const drive = await drives.getAccessible(auth, input.drive_id);
      const numbers = checkParts(input.part_info_list, input.size);
      // Open uploads' declared sizes are reserved (migration 009; the session's insert below checks it again, atomically).
      const taken = drive.used_size + Number((drive as { reserved_size?: number }).reserved_size ?? 0);
      if (input.size !== undefined && drive.total_size !== null && taken + input.size > drive.total_size)
        throw uploadErrors.tooLarge(input.size, Math.max(drive.total_size - taken, 0));

      if (input.pre_hash && !input.content_hash && (await repo.preHashExists(deps.db, input.pre_hash.toLowerCase(), input.size ?? null))) {
        deps.metrics.rapidUpload.inc({ result: 'pre_hash_matched' });
        throw uploadErrors.preHashMatched();
      }
      const rapid = allowRapid ? await tryRapid(auth, input) : { link: null, challenge: null };
      const rapidBlob = rapid.link;

      // The store's multipart upload is opened before the transaction so no database lock waits on the
      // network; if the transaction fails it is aborted (and the GC aborts any a crash leaves behind).
      const uploadId = deps.newId();
      const storageKey = `blobs/${uploadId}`;
      const singlePut = numbers.length === 1 && numbers[0] === 1 && deps.store.objectUploadUrl !== undefined;
      const storeUploadId = rapidBlob || singlePut ? '' : await deps.store.createMultipart(storageKey);
      const abortStore = () => (storeUploadId ? deps.store.abortMultipart(storageKey, storeUploadId).catch(() => undefined) : undefined);
      const sessionFor = (fileId: string) => newSession(auth, input, fileId, { uploadId, storeUploadId }, numbers.length);
      const opened = await files.withQuota(input.drive_id, async (tx) => {
        await files.lockDrive(tx, input.drive_id);
        let resolved = await files.resolveName(tx, input.drive_id, input.parent_file_id, input.name, input.check_name_mode, 'file');
        if (resolved.existing && input.check_name_mode === 'refuse') return { file: resolved.existing, exist: true, session: null, challenge: null };
        // overwrite: the file found is locked (after the name lock, as changeFile does) and must still be
        // live. Found without a lock, it could be deleted before the session's insert (500, a foreign key
        // violation) or trashed (the new content went into the trashed file). A file trashed or deleted
        // meanwhile holds no name: look again, and with no clash left a new file is created.
        while (resolved.existing && input.check_name_mode === 'overwrite' && !(await files.repo.get(tx, input.drive_id, resolved.existing.file_id, { forUpdate: true }))) {
          resolved = await files.resolveName(tx, input.drive_id, input.parent_file_id, input.name, input.check_name_mode, 'file');
        }
        const file = resolved.existing ?? (await files.repo.insert(tx, newFileRow(auth, input, resolved.name)));
        if (rapidBlob) {
          // The revision insert locks the blob row: a GC that has not deleted it by now no longer can.
          return { file: await linkContent(tx, auth, file, rapidBlob), exist: false, session: null, challenge: null };
        }
        const session = sessionFor(file.file_id);
        if ((await repo.countOpenSessions(tx, input.drive_id)) >= MAX_OPEN_UPLOADS_PER_DRIVE) throw uploadErrors.tooManyUploads(MAX_OPEN_UPLOADS_PER_DRIVE);
        await repo.insertSession(tx, session);
        const challenge = rapid.challenge ? { upload_id: session.upload_id, blob_sha256: rapid.challenge.sha256, nonce: newProofNonce() } : null;
        if (challenge) await challenges.insert(tx, challenge);
        return { file, exist: false, session, challenge };
      }).catch(async (e: unknown) => {
        await abortStore();
        if (rapidBlob && isForeignKeyViolation(e)) return null;
        throw e;
      });
      if (opened === null) {
        deps.metrics.rapidUpload.inc({ result: 'lost_to_gc' });
        return this.create(auth, input, false);
      }

      if (!opened.session) {
        await abortStore();
        return { file: opened.file, exist: opened.exist, rapid_upload: !opened.exist, upload_id: '', part_info_list: [] };
      }
      const proofChallenge = opened.challenge ? { proof_version: 'v2' as const, algorithm: PROOF_V2_ALGORITHM, nonce: opened.challenge.nonce } : undefined;
      return { file: opened.file, exist: false, rapid_upload: false, upload_id: opened.session.upload_id, part_info_list: await partUrls(opened.session, numbers), proof_challenge: proofChallenge };
    },

    async getUploadUrl(auth: AuthContext, input: { drive_id: string; file_id: string; upload_id: string; part_info_list?: { part_number: number }[] }) {
      const session = await this.openSession(auth, input.drive_id, input.file_id, input.upload_id);
      // Read from the session row (migration 019), not the store: the normal path stays without a store call.
      if (session.assembled) throw uploadErrors.assembled(session.upload_id);
      const numbers = input.part_info_list?.length ? checkParts(input.part_info_list, undefined, session.part_count) : Array.from({ length: session.part_count }, (_, i) => i + 1);
      // Keeps the session from the GC, but only up to its hard lifetime: refreshed forever, it is still collected.
      if (!(await repo.refreshSession(deps.db, session.upload_id, deps.config.uploadMaxAge))) throw uploadErrors.expired(session.upload_id, deps.config.uploadMaxAge);
      return { session, part_info_list: await partUrls(session, numbers) };
    },

    async listUploadedParts(auth: AuthContext, input: { drive_id: string; file_id: string; upload_id: string; part_number_marker: number; limit: number }) {
      const session = await this.openSession(auth, input.drive_id, input.file_id, input.upload_id);
      let listed: { partNumber: number; size?: number; etag: string }[];
      let assembled = false;
      try {
        // Marked assembled (migration 019): the store's multipart upload is known to be gone, so not asked.
        if (session.assembled && !isSinglePut(session)) throw uploadErrors.sessionNotFound(session.upload_id);
        listed = await this.storeParts(session);
      } catch (e) {
        const whole = await assembledParts(session, e);
        if (!whole) throw e;
        [listed, assembled] = [whole, true];
      }
      const parts = listed.filter((p) => p.partNumber > input.part_number_marker);
      const page = parts.slice(0, input.limit);
      return {
        session,
        assembled,
        uploaded_parts: page.map((p) => ({ part_number: p.partNumber, part_size: p.size, etag: p.etag })),
        next_part_number_marker: parts.length > input.limit ? String(page[page.length - 1]!.partNumber) : '',
      };
    },

    /** For the local store's upload route: a one-part upload's URL takes bytes only while its session is open. */
    isObjectUploadOpen: (storageKey: string) => repo.isObjectUploadOpen(deps.db, storageKey),

    async openSession(auth: AuthContext, driveId: string, fileId: string, uploadId: string): Promise<UploadSessionRow> {
      await drives.getAccessible(auth, driveId);
      const session = await repo.getSession(deps.db, driveId, fileId, uploadId);
      if (!session) throw uploadErrors.sessionNotFound(uploadId);
      if (session.status === 'completed') throw uploadErrors.alreadyCompleted(uploadId);
      return session;
    },

    async storeParts(session: UploadSessionRow): Promise<UploadedPart[]> {
      if (isSinglePut(session)) {
        const object = await deps.store.head(session.storage_key);
        return object ? [{ partNumber: 1, size: object.size, etag: object.etag ?? '' }] : [];
      }
      try {
        return await deps.store.listParts(session.storage_key, session.store_upload_id);
      } catch (e) {
        if (e instanceof UploadNotFoundError) throw uploadErrors.sessionNotFound(session.upload_id);
        throw e;
      }
    },

    async complete(auth: AuthContext, input: { drive_id: string; file_id: string; upload_id: string; proof_code?: string; proof_version?: 'v2' }): Promise<FileRow> {
      background.noteUpload();
      if (input.proof_version === 'v2') return this.completeWithProof(auth, { ...input, proof_code: input.proof_code ?? '' });
      // The claim statements check who may use the drive, not its status: a disabled drive takes no
      // content. Looked up alongside the plain path's HEAD, so that path pays no extra round trip.
      const accessible = drives.getAccessible(auth, input.drive_id);
      accessible.catch(() => undefined); // awaited below on every path; this only marks it handled
      const plain = await completePlainUpload(auth, input, accessible);
      if (plain) return plain;
      await accessible;
      const session = await this.claim(auth, input);

      const hashLater = !session.content_hash && deps.config.uploadHashing === 'background';
      // A one-part upload's key stays writable through its upload URL: hashed content lives at a sealed
      // copy instead (see sealedKey); a placeholder waits at the upload key for the hash job to seal it.
      const contentKey = isSinglePut(session) && !hashLater ? sealedKey(session.storage_key, deps.newId()) : session.storage_key;
      const heartbeat = setInterval(() => void repo.touchSession(deps.db, session.upload_id).catch(() => undefined), COMPLETING_HEARTBEAT_SECONDS * 1000);
      let size: number;
      let hashes: ContentHashes | null = null;
      try {
        size = await this.assemble(session);
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
    },

    /** Sets the session 'completing' for this request, or says why it cannot (no such drive or session, completed, or another completion running). */
    async claim(auth: AuthContext, input: { drive_id: string; file_id: string; upload_id: string }): Promise<UploadSessionRow> {
      const ref = { uploadId: input.upload_id, driveId: input.drive_id, fileId: input.file_id };
      const session = await repo.claimOwnForCompletion(deps.db, { ...ref, domainId, userId: auth.userId, scope: adminScope(auth) });
      if (session) return session;
      const known = await this.openSession(auth, input.drive_id, input.file_id, input.upload_id);
      const retaken = await repo.claimForCompletion(deps.db, known.upload_id);
      if (!retaken) throw uploadErrors.completing(known.upload_id);
      return retaken;
    },

    /**
     * file/complete with a proof v2 answer instead of parts (proof.ts): the stored content the challenge
     * was issued for is read once to check the HMAC, then linked as complete links any content already
     * stored (the session's reservation covers it). A wrong answer uses the challenge up; a right one
     * that cannot be linked (no room, the content collected meanwhile) keeps it where it still applies.
     * Either way the session opens again, so the client can upload its parts instead.
     */
    async completeWithProof(auth: AuthContext, input: { drive_id: string; file_id: string; upload_id: string; proof_code: string }): Promise<FileRow> {
      await drives.getAccessible(auth, input.drive_id);
      const session = await this.claim(auth, input);
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
    },

    /**
     * Checks the parts (all declared ones present, sizes adding up: these errors reopen the session so the
     * client can fix them) and assembles them; resolves to the object's size. A completion that crashed
     * after the store assembled the object finds no multipart upload but the object: it goes on from there
     * instead of failing forever.
     */
    async assemble(session: UploadSessionRow): Promise<number> {
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
        parts = await this.storeParts(session);
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
    },

    discard,
  };
}
export type UploadsService = ReturnType<typeof createUploadsService>;
