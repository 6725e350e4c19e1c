/**
 * Upload sessions up to their completion: file/create (a rapid upload, or a session with its upload URLs),
 * file/get_upload_url and file/list_uploaded_parts, and the session and part lookups completion uses too.
 * Completion (assembly, hashing, linking, keeping a refused upload) is in upload-completion.ts; it needs
 * these, never the other way round.
 */
import { isQuotaError } from '../files/files.errors';
import { ROOT } from '../files/files.repository';
import { describeName, validateCreatedName, validateName } from '../files/names';
import { adminScope } from '../drives/drive-access.sql';
import { isForeignKeyViolation, type Queryable } from '../../db/db';
import { AppError } from '../../shared/errors';
import { MAX_PART_NUMBER, MAX_PART_SIZE, MIN_PART_SIZE, UploadNotFoundError, type UploadedPart } from '../../storage/blob-store';
import type { AuthContext } from '../auth/auth.types';
import { newProofNonce, PROOF_V2_ALGORITHM } from './proof';
import { createRapidUpload } from './rapid-upload';
import { lockRevisionTarget } from './revision-target';
import { isSinglePut, type UploadsContext } from './upload-context';
import { uploadErrors } from './uploads.errors';
import { MAX_OPEN_UPLOADS_PER_DRIVE, type UploadSessionRow } from './uploads.repository';
import type { CreateFileInput, CreateFileResult } from './uploads.types';

export function createUploadSessions(ctx: UploadsContext) {
  const { deps, drives, files, background, repo, challenges, domainId } = ctx;
  const { tryRapid, linkContent } = createRapidUpload(ctx);

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
    // What complete refuses on every store (S3's EntityTooSmall), said at create when a declared part_size
    // already makes it certain, rather than after the client has uploaded every part.
    const small = partCount === undefined && list.find((p) => p.part_size !== undefined && p.part_number < list.length && p.part_size < MIN_PART_SIZE);
    if (small) throw uploadErrors.partSize(`part ${small.part_number} is declared as ${small.part_size} bytes; every part but the last needs at least ${MIN_PART_SIZE}`);
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
      // A revision (file_id) is an overwrite of its file: the check at complete leaves an available file's name be.
      check_name_mode: input.file_id ? 'overwrite' : input.check_name_mode,
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
    if (input.content_hash || input.file_id || !deps.store.objectUploadUrl) return undefined;
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
   * file/create for files. `allowRapid` is false only on the retry after a lost race: the GC deleted the
   * blob between the lookup and the link (the link then fails its foreign key), so the caller uploads.
   */
  async function create(auth: AuthContext, input: CreateFileInput, allowRapid = true): Promise<CreateFileResult> {
    background.noteUpload();
    if (input.content_hash_name && input.content_hash_name.toLowerCase() !== 'sha1') throw uploadErrors.hashName();
    const plain = await openPlainUpload(auth, input);
    if (plain) return plain;
    const drive = await drives.getAccessible(auth, input.drive_id);
    // A revision keeps its file's name (revision-target.ts refuses another): only a new file's is new.
    if (!input.file_id) await validateCreatedName(input.name, input.check_name_mode, async () => Boolean(await files.repo.findByName(deps.db, input.drive_id, input.parent_file_id, input.name)));
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
      let resolved = input.file_id
        ? { name: input.name, existing: await lockRevisionTarget(tx, files, { ...input, file_id: input.file_id, parent_file_id: input.asked_parent_file_id }) }
        : await files.resolveName(tx, input.drive_id, input.parent_file_id, input.name, input.check_name_mode, 'file');
      if (resolved.existing && input.check_name_mode === 'refuse' && !input.file_id) return { file: resolved.existing, exist: true, session: null, challenge: null };
      // overwrite: the file found is locked (after the name lock, as changeFile does) and must still be
      // live. Found without a lock, it could be deleted before the session's insert (500, a foreign key
      // violation) or trashed (the new content went into the trashed file). A file trashed or deleted
      // meanwhile holds no name: look again, and with no clash left a new file is created.
      while (resolved.existing && input.check_name_mode === 'overwrite' && !input.file_id && !(await files.repo.get(tx, input.drive_id, resolved.existing.file_id, { forUpdate: true }))) {
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
      return create(auth, input, false);
    }

    if (!opened.session) {
      await abortStore();
      return { file: opened.file, exist: opened.exist, rapid_upload: !opened.exist, upload_id: '', part_info_list: [] };
    }
    const proofChallenge = opened.challenge ? { proof_version: 'v2' as const, algorithm: PROOF_V2_ALGORITHM, nonce: opened.challenge.nonce } : undefined;
    return { file: opened.file, exist: false, rapid_upload: false, upload_id: opened.session.upload_id, part_info_list: await partUrls(opened.session, numbers), proof_challenge: proofChallenge };
  }

  async function getUploadUrl(auth: AuthContext, input: { drive_id: string; file_id: string; upload_id: string; part_info_list?: { part_number: number }[] }) {
    const session = await openSession(auth, input.drive_id, input.file_id, input.upload_id);
    // Read from the session row (migration 019), not the store: the normal path stays without a store call.
    if (session.assembled) throw uploadErrors.assembled(session.upload_id);
    const numbers = input.part_info_list?.length ? checkParts(input.part_info_list, undefined, session.part_count) : Array.from({ length: session.part_count }, (_, i) => i + 1);
    // Keeps the session from the GC, but only up to its hard lifetime: refreshed forever, it is still collected.
    if (!(await repo.refreshSession(deps.db, session.upload_id, deps.config.uploadMaxAge))) {
      // Or it went, or was completed, since it was read above (its file or drive deleted, a file/complete):
      // that is what to say, not 410 UploadExpired "created more than N seconds ago" of an upload made
      // moments before (8 of 12 calls racing a drive/delete on PostgreSQL, red team).
      const now = await repo.getSession(deps.db, session.drive_id, session.file_id, session.upload_id);
      if (!now) throw uploadErrors.sessionNotFound(session.upload_id);
      if (now.status === 'completed') throw uploadErrors.alreadyCompleted(session.upload_id);
      throw uploadErrors.expired(session.upload_id, deps.config.uploadMaxAge);
    }
    return { session, part_info_list: await partUrls(session, numbers) };
  }

  async function listUploadedParts(auth: AuthContext, input: { drive_id: string; file_id: string; upload_id: string; part_number_marker: number; limit: number }) {
    const session = await openSession(auth, input.drive_id, input.file_id, input.upload_id);
    let listed: { partNumber: number; size?: number; etag: string }[];
    let assembled = false;
    try {
      // Marked assembled (migration 019): the store's multipart upload is known to be gone, so not asked.
      if (session.assembled && !isSinglePut(session)) throw uploadErrors.sessionNotFound(session.upload_id);
      listed = await storeParts(session);
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
  }

  /** For the local store's upload route: a one-part upload's URL takes bytes only while its session is open. */
  const isObjectUploadOpen = (storageKey: string) => repo.isObjectUploadOpen(deps.db, storageKey);

  /**
   * Runs `replace` (the one-part upload URL's rename onto the object) while the upload at `storageKey` is
   * open, held so that file/complete cannot claim it meanwhile (uploads.repository isObjectUploadOpen);
   * false, without running it, when it is not open. On PGlite, one connection runs one transaction at a
   * time: the same holds.
   */
  async function whileObjectUploadOpen(storageKey: string, replace: () => Promise<void>): Promise<boolean> {
    return deps.db.transaction(async (tx) => {
      if (!(await repo.isObjectUploadOpen(tx, storageKey, { lock: true }))) return false;
      await replace();
      return true;
    });
  }

  async function openSession(auth: AuthContext, driveId: string, fileId: string, uploadId: string): Promise<UploadSessionRow> {
    await drives.getAccessible(auth, driveId);
    const session = await repo.getSession(deps.db, driveId, fileId, uploadId);
    if (!session) throw uploadErrors.sessionNotFound(uploadId);
    if (session.status === 'completed') throw uploadErrors.alreadyCompleted(uploadId);
    return session;
  }

  async function storeParts(session: UploadSessionRow): Promise<UploadedPart[]> {
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
  }

  return { create, getUploadUrl, listUploadedParts, isObjectUploadOpen, whileObjectUploadOpen, openSession, storeParts };
}
export type UploadSessions = ReturnType<typeof createUploadSessions>;
