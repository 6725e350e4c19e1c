import { mayUseDrive, type AdminScope } from '../drives/drive-access.sql';
import type { Queryable } from '../../db/db';
import { nameLockKey, ROOT, type FileRow, type NewFile } from '../files/files.repository';

export interface UploadSessionRow {
  upload_id: string;
  file_id: string;
  drive_id: string;
  storage_key: string;
  store_upload_id: string;
  size: number | null;
  part_count: number;
  /** Declared part sizes by part number (index 0: part 1; null where not declared), or null (migration 009). */
  part_sizes: (number | null)[] | null;
  content_hash: string;
  pre_hash: string;
  status: 'open' | 'completing' | 'completed';
  /** What file/create asked; file/complete checks a new file's name again with it (migration 015). */
  check_name_mode: 'ignore' | 'auto_rename' | 'refuse' | 'overwrite';
  /**
   * The name file/create was asked (migration 016): auto_rename at complete goes on from it, so a name
   * taken meanwhile gives a(2).txt, not a(1)(1).txt. NULL once the client renamed the upload.
   */
  requested_name: string | null;
  /**
   * The store assembled the parts into the object at storage_key, ending its multipart upload (migration
   * 019): set by complete, and kept when a refused complete reopens the session (upload-completion.ts keep).
   */
  assembled: boolean;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface BlobRow {
  sha256: string;
  sha1: string;
  pre_hash: string;
  size: number;
  storage_key: string;
  ref_count: number;
  /** False while the address is a placeholder (`pending:<upload id>`) waiting for the hash job. */
  hashed: boolean;
  /** storage_key is a one-part upload's key, which its upload URL can still replace (migration 004). */
  client_writable: boolean;
}

export const PENDING_PREFIX = 'pending:';
/**
 * Where the bytes of a one-part upload are copied before they are hashed and shared (migration 004): a
 * new key per attempt, so a late or repeated attempt can never write over a copy that a blob already uses.
 */
export const sealedKey = (uploadKey: string, attemptId: string): string => `${uploadKey}.sealed-${attemptId}`;

/**
 * Where a blob points once its content was lost after file/complete: a one-part upload replaced through
 * its upload URL with another size (blob-hashing.ts), or its object gone. No object is ever written under
 * `discarded/`; downloads answer 409 ContentReplaced (downloads.routes.ts), the hash job has nothing left
 * to do, no link or later PUT can use the upload key (the orphan sweep collects what lands there), and
 * the blob GC collects the row once its file is deleted, like any other.
 */
export const DISCARDED_PREFIX = 'discarded/';
export const discardedKey = (uploadKey: string): string => `${DISCARDED_PREFIX}${uploadKey}`;
export const isDiscardedKey = (key: string): boolean => key.startsWith(DISCARDED_PREFIX);
/** The folder every upload key (`blobs/<upload id>`) and sealed copy lives in: the GC's key space. */
export const BLOB_KEY_FOLDER = 'blobs/';

/**
 * A `completing` session not touched for this long is taken to be from a crashed server and may be
 * completed again. A live completion touches its session every COMPLETING_HEARTBEAT_SECONDS while it hashes.
 */
export const STALE_COMPLETING_SECONDS = 60;

/**
 * Most sessions a drive may have open at once (file/create answers 429 LimitExceeded.OpenUploads past it).
 * Sessions with a declared size reserve it against the quota (migration 009); those without one reserve
 * nothing, and each can take up to part_count × 5 GiB until the GC collects it: this bounds how many there
 * are. Far above what a client uploading in parallel needs (official clients run a handful at a time).
 */
export const MAX_OPEN_UPLOADS_PER_DRIVE = 1000;
export const COMPLETING_HEARTBEAT_SECONDS = 10;

/**
 * The object of the one-part upload at `storageKey`, held for the caller's transaction against a PUT
 * replacing it: taken by that PUT from its check through its rename, and by file/complete's one-statement
 * path from its look at the object through its claim. Advisory, not the session's row lock: the claim
 * statement takes the drive, the file and then the session in that order, which a row lock taken first
 * would break.
 */
async function lockObjectUpload(db: Queryable, storageKey: string): Promise<void> {
  await db.query(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, [OBJECT_UPLOAD_LOCK_CLASS, storageKey]);
}

/**
 * lockObjectUpload's class, the two-key form's first key (as files.repository's tree lock has its own):
 * the one-key locks of names and counters share one number space, where a hash collision with one of
 * them could make a PUT wait on an unrelated transaction.
 */
const OBJECT_UPLOAD_LOCK_CLASS = 4_242_003;

export function createUploadsRepository() {
  return {
    lockObjectUpload,
    /**
     * file/create's common case in one statement: the caller may write to the drive (`access`: its owner
     * or an admin of the domain), the declared size fits the quota, the parent is a live folder, no
     * stored content has the session's pre_hash (when it has one) and, unless checkName is false
     * (check_name_mode ignore), no live file holds the name, and the drive has fewer than
     * MAX_OPEN_UPLOADS_PER_DRIVE open sessions and room for the size beside their reservations (the
     * session's insert reserves it, migration 009, and raises OP001 if a concurrent one took the room
     * meanwhile); then the invisible file row and its upload
     * session are inserted. claim_file_name (migration 003) takes the same
     * name-family lock as lockName, so this races correctly with the transactional path. Resolves to
     * undefined when it inserted nothing: the caller then takes the path that explains, renames or
     * overwrites.
     */
    async openUpload(
      db: Queryable,
      access: { domainId: string; userId: string; scope: AdminScope },
      f: NewFile,
      s: Omit<UploadSessionRow, 'status' | 'assembled' | 'created_at' | 'updated_at' | 'file_id' | 'drive_id' | 'created_by'>,
      checkName: boolean,
    ): Promise<FileRow | undefined> {
      const [row] = await db.query<FileRow>(
        `WITH drive AS MATERIALIZED (
           -- Key share: a drive or user delete (the row's FOR UPDATE first) is waited out, then the drive
           -- is seen gone and nothing is inserted (was a foreign key violation, 500). Shared with every
           -- other create and complete.
           SELECT 1 FROM drives d
            WHERE domain_id = $28 AND drive_id = $2 AND ${mayUseDrive('d', '$17', '$29')} AND status = 'enabled'
              AND ($23::bigint IS NULL OR total_size IS NULL OR used_size + reserved_size + $23::bigint <= total_size)
              AND (SELECT count(*) FROM upload_sessions WHERE drive_id = $2 AND status <> 'completed') < $30
            FOR KEY SHARE OF d
         ), parent AS (
           SELECT 1 FROM drive
            WHERE $3::text = $27::text OR EXISTS (SELECT 1 FROM files WHERE drive_id = $2 AND file_id = $3 AND trashed_at IS NULL AND type = 'folder')
         ), claim AS (
           SELECT claim_file_name($18, $2, $3, $4, $19) AS clash FROM parent
            WHERE $26::text = '' OR NOT EXISTS (SELECT 1 FROM blobs WHERE pre_hash = $26 AND ($23::bigint IS NULL OR size = $23))
         ), file AS (
           INSERT INTO files (file_id, drive_id, parent_file_id, name, type, status, size, content_type, category, file_extension,
             description, labels, user_meta, hidden, local_created_at, local_modified_at, created_by)
           SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::bigint, $8::text, $9::text, $10::text,
             $11::text, $12::jsonb, $13::text, $14::boolean, $15::timestamptz, $16::timestamptz, $17::text
           FROM claim WHERE clash IS NULL
           RETURNING *
         ), session AS (
           INSERT INTO upload_sessions (upload_id, file_id, drive_id, storage_key, store_upload_id, size, part_count, content_hash, pre_hash, created_by, part_sizes, check_name_mode, requested_name)
           SELECT $20::text, file_id, drive_id, $21::text, $22::text, $23::bigint, $24::integer, $25::text, $26::text, $17::text, $31::jsonb, $32::text, $33::text FROM file
         )
         SELECT * FROM file`,
        [f.file_id, f.drive_id, f.parent_file_id, f.name, f.type, f.status, f.size, f.content_type, f.category, f.file_extension,
          f.description, JSON.stringify(f.labels), f.user_meta, f.hidden, f.local_created_at, f.local_modified_at, access.userId,
          nameLockKey(f.drive_id, f.parent_file_id, f.name), checkName,
          s.upload_id, s.storage_key, s.store_upload_id, s.size, s.part_count, s.content_hash, s.pre_hash, ROOT, access.domainId, access.scope,
          MAX_OPEN_UPLOADS_PER_DRIVE, s.part_sizes ? JSON.stringify(s.part_sizes) : null, s.check_name_mode, s.requested_name],
      );
      return row;
    },

    /** Inserts an open session; its declared size is reserved against the quota (OP001 when no room, migration 009). */
    async insertSession(db: Queryable, s: Omit<UploadSessionRow, 'status' | 'assembled' | 'created_at' | 'updated_at'>): Promise<void> {
      await db.query(
        `INSERT INTO upload_sessions (upload_id, file_id, drive_id, storage_key, store_upload_id, size, part_count, content_hash, pre_hash, created_by, part_sizes, check_name_mode, requested_name)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13)`,
        [s.upload_id, s.file_id, s.drive_id, s.storage_key, s.store_upload_id, s.size, s.part_count, s.content_hash, s.pre_hash, s.created_by,
          s.part_sizes ? JSON.stringify(s.part_sizes) : null, s.check_name_mode, s.requested_name],
      );
    },
    /**
     * complete_claim_name (migration 015) on its own, for a completion that locks more in its transaction
     * before linkUpload (proof v2): the name family's lock, then the file row. Null when the file is gone.
     */
    async claimCompletionName(tx: Queryable, driveId: string, fileId: string, uploadId: string): Promise<'ok' | 'refused' | null> {
      const [row] = await tx.query<{ verdict: 'ok' | 'refused' | null }>(`SELECT verdict FROM complete_claim_name($1, $2, $3)`, [driveId, fileId, uploadId]);
      return row?.verdict ?? null;
    },
    async countOpenSessions(db: Queryable, driveId: string): Promise<number> {
      const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM upload_sessions WHERE drive_id = $1 AND status <> 'completed'`, [driveId]);
      return row!.n;
    },
    /**
     * file/get_upload_url's touch, which keeps a session from the GC: only while the session is younger than
     * maxAgeSeconds, so one refreshed forever is still collected. False when it is older (nothing changed).
     */
    async refreshSession(db: Queryable, uploadId: string, maxAgeSeconds: number): Promise<boolean> {
      const rows = await db.query(
        `UPDATE upload_sessions SET updated_at = now() WHERE upload_id = $1 AND status <> 'completed' AND created_at > now() - make_interval(secs => $2) RETURNING 1`,
        [uploadId, maxAgeSeconds],
      );
      return rows.length > 0;
    },
    async getSession(db: Queryable, driveId: string, fileId: string, uploadId: string): Promise<UploadSessionRow | undefined> {
      const [row] = await db.query<UploadSessionRow>(
        `SELECT * FROM upload_sessions WHERE drive_id = $1 AND file_id = $2 AND upload_id = $3`,
        [driveId, fileId, uploadId],
      );
      return row;
    },
    /** open → completing, atomically: two concurrent completes cannot both assemble. */
    async claimForCompletion(db: Queryable, uploadId: string): Promise<UploadSessionRow | undefined> {
      const [row] = await db.query<UploadSessionRow>(
        `UPDATE upload_sessions SET status = 'completing', updated_at = now()
         WHERE upload_id = $1 AND (status = 'open' OR (status = 'completing' AND updated_at < now() - make_interval(secs => $2)))
         RETURNING *`,
        [uploadId, STALE_COMPLETING_SECONDS],
      );
      return row;
    },
    /**
     * claimForCompletion for a caller who may use the drive (its owner, or an admin), in one statement:
     * the common case of file/complete. No row means "find out why" (see the service).
     */
    async claimOwnForCompletion(db: Queryable, q: { uploadId: string; driveId: string; fileId: string; domainId: string; userId: string; scope: AdminScope }): Promise<UploadSessionRow | undefined> {
      const [row] = await db.query<UploadSessionRow>(
        `UPDATE upload_sessions s SET status = 'completing', updated_at = now()
         FROM drives d
         WHERE s.upload_id = $1 AND s.drive_id = $2 AND s.file_id = $3 AND d.drive_id = s.drive_id AND d.domain_id = $4 AND ${mayUseDrive('d', '$5', '$6')}
           AND (s.status = 'open' OR (s.status = 'completing' AND s.updated_at < now() - make_interval(secs => $7)))
         RETURNING s.*`,
        [q.uploadId, q.driveId, q.fileId, q.domainId, q.userId, q.scope, STALE_COMPLETING_SECONDS],
      );
      return row;
    },
    /**
     * A failed completion gives its session back to the client, only while it is still this completion's
     * ('completing'): one stalled past the stale age may have been retaken and completed by another, and
     * reopening that one made its live blob key a collectable upload again.
     */
    async reopenSession(db: Queryable, uploadId: string): Promise<void> {
      await db.query(`UPDATE upload_sessions SET status = 'open', updated_at = now() WHERE upload_id = $1 AND status = 'completing'`, [uploadId]);
    },
    /** The store assembled this session's parts (see UploadSessionRow.assembled); a completed session needs no mark. */
    async markAssembled(db: Queryable, uploadId: string): Promise<void> {
      await db.query(`UPDATE upload_sessions SET assembled = true WHERE upload_id = $1 AND status <> 'completed'`, [uploadId]);
    },
    async touchSession(db: Queryable, uploadId: string): Promise<void> {
      await db.query(`UPDATE upload_sessions SET updated_at = now() WHERE upload_id = $1 AND status <> 'completed'`, [uploadId]);
    },
    async deleteSession(db: Queryable, uploadId: string): Promise<void> {
      await db.query(`DELETE FROM upload_sessions WHERE upload_id = $1`, [uploadId]);
    },
    async deleteCompletedSessions(db: Queryable, before: Date): Promise<void> {
      await db.query(`DELETE FROM upload_sessions WHERE status = 'completed' AND updated_at < $1`, [before]);
    },
    /**
     * True while a one-part upload at this key may still take its bytes: its session is open. With `lock` (in a transaction): the one-part upload URL's guard around its replace of the object. The
     * advisory lock is the one file/complete's one-statement path takes before it looks at the object
     * (lockObjectUpload); FOR SHARE makes the other paths' claim (an UPDATE of the row) wait for the
     * caller's transaction, and a claim committed meanwhile is seen (READ COMMITTED re-reads the row).
     */
    async isObjectUploadOpen(db: Queryable, storageKey: string, options: { lock?: boolean } = {}): Promise<boolean> {
      if (options.lock) await lockObjectUpload(db, storageKey);
      const rows = await db.query(`SELECT 1 FROM upload_sessions WHERE storage_key = $1 AND status = 'open' LIMIT 1${options.lock ? ' FOR SHARE' : ''}`, [storageKey]);
      return rows.length > 0;
    },

    async isUploadingFileOrphaned(db: Queryable, fileId: string): Promise<boolean> {
      const rows = await db.query(
        `SELECT 1 FROM files f WHERE f.file_id = $1 AND f.status = 'uploading'
           AND NOT EXISTS (SELECT 1 FROM upload_sessions s WHERE s.file_id = f.file_id)`,
        [fileId],
      );
      return rows.length > 0;
    },

    async findBlobBySha1(db: Queryable, sha1: string, size: number): Promise<BlobRow | undefined> {
      const [row] = await db.query<BlobRow>(`SELECT * FROM blobs WHERE sha1 = $1 AND size = $2 LIMIT 1`, [sha1, size]);
      return row;
    },
    async preHashExists(db: Queryable, preHash: string, size: number | null): Promise<boolean> {
      const rows = await db.query(`SELECT 1 FROM blobs WHERE pre_hash = $1 AND ($2::bigint IS NULL OR size = $2) LIMIT 1`, [preHash, size]);
      return rows.length > 0;
    },
    /** True when the caller can read a live file with this content (its drives, or the drives its admin power reaches). */
    async callerHoldsContent(db: Queryable, q: { domainId: string; userId: string; scope: AdminScope; sha1: string; size: number }): Promise<boolean> {
      const rows = await db.query(
        `SELECT 1 FROM files f JOIN drives d ON d.drive_id = f.drive_id
         WHERE f.content_hash = $1 AND f.size = $2 AND f.status = 'available' AND f.trashed_at IS NULL
           AND d.domain_id = $3 AND ${mayUseDrive('d', '$4', '$5')} LIMIT 1`,
        [q.sha1, q.size, q.domainId, q.userId, q.scope],
      );
      return rows.length > 0;
    },
    async getBlob(db: Queryable, sha256: string, options: { forUpdate?: boolean } = {}): Promise<BlobRow | undefined> {
      const [row] = await db.query<BlobRow>(`SELECT * FROM blobs WHERE sha256 = $1${options.forUpdate ? ' FOR UPDATE' : ''}`, [sha256]);
      return row;
    },
    /** Inserts the blob; false when that content address exists already (another worker may just have committed it). */
    async insertHashedBlob(db: Queryable, b: Omit<BlobRow, 'ref_count' | 'hashed' | 'client_writable'>): Promise<boolean> {
      const rows = await db.query(
        `INSERT INTO blobs (sha256, sha1, pre_hash, size, storage_key) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING RETURNING 1`,
        [b.sha256, b.sha1, b.pre_hash, b.size, b.storage_key],
      );
      return rows.length > 0;
    },
    /**
     * Moves every revision from one blob to another (the trigger moves the references) and fills in the
     * SHA-1 that files and revisions show as content_hash.
     */
    async moveRevisions(db: Queryable, from: string, to: string, sha1: string): Promise<void> {
      await db.query(
        `WITH moved AS (UPDATE file_revisions SET blob_sha256 = $2, content_hash = $3 WHERE blob_sha256 = $1 RETURNING revision_id)
         UPDATE files SET content_hash = $3 WHERE revision_id IN (SELECT revision_id FROM moved)`,
        [from, to, sha1],
      );
    },
    /**
     * Makes the caller's transaction the only one deciding about sealing this blob until it ends, across
     * processes: an advisory lock, not the blob's row lock, which the reference-count trigger needs meanwhile.
     */
    async lockBlobSealing(tx: Queryable, sha256: string): Promise<void> {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`blob-seal:${sha256}`]);
    },
    /**
     * Points a placeholder blob still at its one-part upload key at a sealed copy of it, unless something
     * moved it meanwhile (the hash job, or another sealing): false then, and the copy is the caller's to drop.
     */
    async sealBlob(db: Queryable, sha256: string, uploadKey: string, sealedKey: string): Promise<boolean> {
      const rows = await db.query(
        `UPDATE blobs SET storage_key = $3, client_writable = false WHERE sha256 = $1 AND storage_key = $2 AND client_writable RETURNING 1`,
        [sha256, uploadKey, sealedKey],
      );
      return rows.length > 0;
    },
    /**
     * Marks a placeholder still at its one-part upload key as discarded (see discardedKey), unless it was
     * sealed or hashed meanwhile: false then.
     */
    async markDiscarded(db: Queryable, sha256: string, uploadKey: string): Promise<boolean> {
      const rows = await db.query(
        `UPDATE blobs SET storage_key = $3, client_writable = false WHERE sha256 = $1 AND storage_key = $2 AND client_writable RETURNING 1`,
        [sha256, uploadKey, discardedKey(uploadKey)],
      );
      return rows.length > 0;
    },
    async deleteBlob(db: Queryable, sha256: string): Promise<void> {
      await db.query(`DELETE FROM blobs WHERE sha256 = $1`, [sha256]);
    },
    /**
     * file/complete's commit, as one statement (its own transaction: no BEGIN/COMMIT round trips on the
     * hottest write path). Inserts the blob (or, for hashed content already stored, locks the existing row
     * and uses it), closes the session, enqueues the hash job when one is named, points the file at a new
     * revision and inserts that revision last: its trigger counts the reference and takes the drive's row
     * lock for the quota (SQLSTATE OP001 aborts all of it). Triggers and foreign keys run at the end of the
     * statement and see every part of it, in the order their rows changed: the session's row first (the
     * revision is built from `blob`, which is built from `session`), so the session's reservation is released
     * before the revision's check counts used + reserved + size (migration 010), and an upload its own
     * reservation covers completes on a drive otherwise full (test/api/quota-reservations-shared). Keep
     * `revision` downstream of `session`.
     *
     * With `claim`, the session is not claimed yet: the statement closes it only if it is an open one-part
     * upload of the caller's (owner or admin) with no declared hash, stored at the blob's key, of the
     * blob's size (or none declared), and does nothing otherwise (resolves to undefined).
     *
     * A new file takes its name here (migration 015 complete_claim_name): refused when its session asked
     * check_name_mode refuse and a live file or folder took the name since file/create (`refused`, nothing linked);
     * auto_rename and overwrite take the first free `base(n).ext` instead (of the name asked at create,
     * migration 016). A refused session is left as it was: the caller reopens one it claimed. Costs no round trip: a few index
     * lookups and the name family's lock inside the statement.
     */
    async linkUpload(
      db: Queryable,
      u: {
        blob: Omit<BlobRow, 'ref_count'>;
        uploadId: string;
        job: { kind: string; payload: Record<string, unknown> } | null;
        revisionId: string;
        driveId: string;
        fileId: string;
        createdBy: string;
        claim?: { domainId: string; scope: AdminScope };
      },
    ): Promise<{ file: FileRow; blob: Pick<BlobRow, 'sha256' | 'storage_key'>; refused?: false } | { refused: true; file?: undefined; blob?: undefined } | undefined> {
      const b = u.blob;
      // Without a claim the caller completes a session it set 'completing': still so, or nothing is linked
      // (a completion stalled past STALE_COMPLETING_SECONDS may have lost it to the GC, with its object).
      const claim = u.claim
        ? `AND status = 'open' AND store_upload_id = '' AND content_hash = '' AND storage_key = $5 AND (size IS NULL OR size = $4)
              AND drive_id = $11 AND file_id = $12
              AND EXISTS (SELECT 1 FROM drives d WHERE d.drive_id = $11 AND d.domain_id = $15 AND ${mayUseDrive('d', '$13', '$16')})`
        : `AND status = 'completing'`;
      const [row] = await db.query<FileRow & { name_verdict: string | null; blob_sha256: string | null; blob_storage_key: string }>(
        `WITH drive AS MATERIALIZED (
           -- The drive row's key share lock first, as a drive or user delete takes that row first (then the
           -- drive's sessions and files): taken last (the trigger, the foreign keys), a complete racing a
           -- drive delete deadlocked. It conflicts only with such a delete: completes and creates share it.
           SELECT 1 FROM drives WHERE drive_id = $11 FOR KEY SHARE
         ), claim AS MATERIALIZED (
           -- Then the name family's lock and the file row (migration 015): the name a new file takes now
           -- is checked again against the session's check_name_mode. The file row before the session,
           -- as a delete of the file takes it (then its sessions and revisions): taken after the session,
           -- a complete racing a delete deadlocked, and one of them answered 503.
           SELECT complete_claim_name($11, $12, $7) AS c FROM drive
         ), target AS (
           SELECT 1 FROM claim WHERE (c).verdict = 'ok'
         ), session AS (
           UPDATE upload_sessions SET status = 'completed', updated_at = now() WHERE upload_id = $7 ${claim} AND EXISTS (SELECT 1 FROM target)
           RETURNING upload_id
         ), blob AS (
           INSERT INTO blobs (sha256, sha1, pre_hash, size, storage_key, hashed, client_writable)
           SELECT $1::text, $2::text, $3::text, $4::bigint, $5::text, $6::boolean, $14::boolean FROM session
           ON CONFLICT (sha256) DO UPDATE SET unreferenced_since = blobs.unreferenced_since
           RETURNING sha256, sha1, size, storage_key
         ), job AS (
           INSERT INTO jobs (kind, payload) SELECT $8, $9::jsonb FROM blob WHERE $8 <> ''
         ), file AS (
           UPDATE files f SET status = 'available', size = blob.size, content_hash = blob.sha1, revision_id = $10, updated_at = now(),
             name = coalesce((SELECT (c).final_name FROM claim), f.name)
           FROM blob WHERE f.drive_id = $11 AND f.file_id = $12
           RETURNING f.*
         ), revision AS (
           INSERT INTO file_revisions (revision_id, file_id, drive_id, blob_sha256, size, content_hash, created_by)
           SELECT $10, $12, $11, blob.sha256, blob.size, blob.sha1, $13 FROM blob
         )
         SELECT (claim.c).verdict AS name_verdict, file.*, blob.sha256 AS blob_sha256, blob.storage_key AS blob_storage_key
         FROM claim LEFT JOIN file ON true LEFT JOIN blob ON true`,
        [b.sha256, b.sha1, b.pre_hash, b.size, b.storage_key, b.hashed, u.uploadId, u.job?.kind ?? '', JSON.stringify(u.job?.payload ?? {}), u.revisionId, u.driveId, u.fileId, u.createdBy,
          b.client_writable, ...(u.claim ? [u.claim.domainId, u.claim.scope] : [])],
      );
      if (row?.name_verdict === 'refused') return { refused: true };
      if (!row?.blob_sha256) return undefined;
      const { name_verdict: _verdict, blob_sha256, blob_storage_key, ...file } = row;
      return { file: file as FileRow, blob: { sha256: blob_sha256, storage_key: blob_storage_key } };
    },
    async insertRevision(db: Queryable, r: { revision_id: string; file_id: string; drive_id: string; blob_sha256: string; size: number; content_hash: string; created_by: string }): Promise<void> {
      await db.query(
        `INSERT INTO file_revisions (revision_id, file_id, drive_id, blob_sha256, size, content_hash, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [r.revision_id, r.file_id, r.drive_id, r.blob_sha256, r.size, r.content_hash, r.created_by],
      );
    },
  };
}
export type UploadsRepository = ReturnType<typeof createUploadsRepository>;
