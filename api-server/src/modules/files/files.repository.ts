import { MAX_FOLDER_DEPTH_CEILING } from '../../config/config';
import type { Db, Queryable } from '../../db/db';
import { setClause } from '../../db/set-clause';
import { nameFamily } from './names';

export interface FileRow {
  file_id: string;
  drive_id: string;
  parent_file_id: string;
  name: string;
  type: 'file' | 'folder';
  status: 'uploading' | 'available';
  size: number;
  content_type: string;
  category: string;
  file_extension: string;
  content_hash: string;
  revision_id: string | null;
  description: string;
  labels: string[];
  user_meta: string;
  starred: boolean;
  hidden: boolean;
  trashed_at: Date | null;
  trash_root_id: string | null;
  local_created_at: Date | null;
  local_modified_at: Date | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export type NewFile = Pick<FileRow, 'file_id' | 'drive_id' | 'parent_file_id' | 'name' | 'type' | 'status' | 'size' | 'content_type' | 'category' | 'file_extension' | 'description' | 'labels' | 'user_meta' | 'hidden' | 'local_created_at' | 'local_modified_at' | 'created_by'>;
export type FilePatch = Partial<Pick<FileRow, 'name' | 'parent_file_id' | 'description' | 'labels' | 'starred' | 'hidden' | 'user_meta' | 'status' | 'size' | 'content_hash' | 'revision_id' | 'local_modified_at' | 'content_type' | 'category' | 'file_extension'>>;

export type OrderBy = 'name' | 'updated_at' | 'created_at' | 'size';
/** file/list's filters (PDS ListFile type, category, status); status 'available' when absent. */
export interface ListFilter {
  type?: 'file' | 'folder';
  category?: FileCategory;
  status?: 'uploading' | 'available';
}
/** The categories of files (names.ts describeName); a folder has none (''). */
export const FILE_CATEGORIES = ['image', 'video', 'audio', 'doc', 'app', 'zip', 'others'] as const;
export type FileCategory = (typeof FILE_CATEGORIES)[number];
export const ROOT = 'root';
/** First key of the drive tree locks (lockTree); the second is the drive id's hash. */
const TREE_LOCK_CLASS = 4_242_002;

const PATCHABLE = ['name', 'parent_file_id', 'description', 'labels', 'starred', 'hidden', 'user_meta', 'status', 'size', 'content_hash', 'revision_id', 'local_modified_at', 'content_type', 'category', 'file_extension'] as const;
const ORDER_CAST: Record<OrderBy, string> = { name: 'text', updated_at: 'timestamptz', created_at: 'timestamptz', size: 'bigint' };

/** What lockName and the SQL function claim_file_name (migration 003) lock: one name family in one folder. */
export const nameLockKey = (driveId: string, parentId: string, name: string): string => `${driveId}/${parentId}/${nameFamily(name)}`;

/**
 * The drive's tree lock, for the rest of the transaction. Shared by whatever adds a row under a folder
 * (create, upload, move or copy into it, restore), before it checks the folder is live; exclusive for
 * what changes the shape of the tree (moving a folder, trashing or deleting a folder's subtree), before
 * it reads the tree. So a trash or delete sees every child committed before it and no child is added
 * under the folder until it commits (the adder then finds its parent gone: 404, never an orphan), and
 * two folder moves (A into B, B into A) cannot both pass the ancestry check and make a cycle. Adders
 * do not wait on each other. Two-key form: its own key space, apart from the name locks (lockName).
 * A transaction takes the exclusive lock before any shared one (taking it after would deadlock with
 * another transaction doing the same). On PGlite, one connection, transactions already run one at a time.
 */
async function lockTree(db: Queryable, driveId: string, mode: 'shared' | 'exclusive'): Promise<void> {
  await db.query(`SELECT ${mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock'}($1, hashtext($2))`, [TREE_LOCK_CLASS, driveId]);
}

/**
 * Lifts statement_timeout (pg.db.ts) for the rest of the transaction, for statements whose work grows
 * with the size of a subtree (copying, trashing or deleting a big folder): legitimately long, and
 * bounded since the recursive queries cannot loop.
 */
async function allowLongStatements(db: Queryable): Promise<void> {
  await db.query(`SET LOCAL statement_timeout = 0`);
}

/**
 * Deletes the files matching `where` with their revisions and upload sessions, in one statement. The
 * revisions and sessions go here and not by the foreign keys' cascade: a cascade deletes them one file at a
 * time, firing the accounting triggers (migration 010) once per file, and so updates the drive row once
 * per file (quadratic in one transaction); here they fire once for the whole set. The cascades still run
 * and find nothing left. Resolves to the number of files deleted.
 */
async function deleteFilesWhere(db: Queryable, where: string, params: unknown[]): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    `WITH gone AS (DELETE FROM files WHERE ${where} RETURNING file_id),
     revisions AS (DELETE FROM file_revisions WHERE file_id IN (SELECT file_id FROM gone)),
     sessions AS (DELETE FROM upload_sessions WHERE file_id IN (SELECT file_id FROM gone))
     SELECT count(*)::int AS n FROM gone`,
    params,
  );
  return row!.n;
}

export function createFilesRepository() {
  return {
    async insert(db: Queryable, f: NewFile): Promise<FileRow> {
      const [row] = await db.query<FileRow>(
        `INSERT INTO files (file_id, drive_id, parent_file_id, name, type, status, size, content_type, category, file_extension,
           description, labels, user_meta, hidden, local_created_at, local_modified_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING *`,
        [f.file_id, f.drive_id, f.parent_file_id, f.name, f.type, f.status, f.size, f.content_type, f.category, f.file_extension,
          f.description, JSON.stringify(f.labels), f.user_meta, f.hidden, f.local_created_at, f.local_modified_at, f.created_by],
      );
      return row!;
    },

    /** A live (not trashed) file, or with includeTrashed any file of the drive. */
    async get(db: Queryable, driveId: string, fileId: string, options: { includeTrashed?: boolean; forUpdate?: boolean } = {}): Promise<FileRow | undefined> {
      const [row] = await db.query<FileRow>(
        `SELECT * FROM files WHERE drive_id = $1 AND file_id = $2${options.includeTrashed ? '' : ' AND trashed_at IS NULL'}${options.forUpdate ? ' FOR UPDATE' : ''}`,
        [driveId, fileId],
      );
      return row;
    },

    /**
     * The drive row's key share lock, first in a transaction that adds rows to the drive (file/create,
     * folder create): a drive or user delete takes that row FOR UPDATE first and then the drive's rows, so
     * taken later (by the inserts' foreign keys) the two deadlocked or the insert failed its foreign key
     * (500). Now the delete is waited out and the drive seen gone (false), or it waits for this transaction.
     * Conflicts with nothing else that writes files (creates, completes and the quota trigger's update).
     */
    async lockDriveKey(db: Queryable, driveId: string): Promise<boolean> {
      const rows = await db.query(`SELECT 1 FROM drives WHERE drive_id = $1 FOR KEY SHARE`, [driveId]);
      return rows.length > 0;
    },

    /**
     * Serialises the checks of names of one family (see nameFamily) in one folder for the rest of the
     * transaction (refuse/auto_rename races). A hash collision only makes two families wait on each other.
     */
    async lockName(db: Queryable, driveId: string, parentId: string, name: string): Promise<void> {
      await db.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [nameLockKey(driveId, parentId, name)]);
    },

    async findByName(db: Queryable, driveId: string, parentId: string, name: string): Promise<FileRow | undefined> {
      const [row] = await db.query<FileRow>(
        `SELECT * FROM files WHERE drive_id = $1 AND parent_file_id = $2 AND name = $3 AND trashed_at IS NULL AND status = 'available'
         ORDER BY created_at LIMIT 1`,
        [driveId, parentId, name],
      );
      return row;
    },

    /** Names in a folder that start with `prefix` (for auto_rename). */
    async namesWithPrefix(db: Queryable, driveId: string, parentId: string, prefix: string): Promise<Set<string>> {
      const rows = await db.query<{ name: string }>(
        `SELECT name FROM files WHERE drive_id = $1 AND parent_file_id = $2 AND trashed_at IS NULL AND status = 'available'
           AND name >= $3 AND name < $3 || chr(1114111)`,
        [driveId, parentId, prefix],
      );
      return new Set(rows.map((r) => r.name));
    },

    /**
     * One keyset page of a folder, `after` being the last row's (order value, file_id). The filters are
     * conditions of the same statement, so a page holds `limit` matching rows and the keyset resumes after
     * the last one whatever was skipped. A folder is matched as `category = '' AND type = 'folder'`: the
     * type decides, the category (a folder's is '', a file's never is: names.ts describeName) lets
     * files_by_category_name (migration 021) serve it, as it serves a category, in name order; other orders
     * read their own index and skip what does not match. Uploading files are in none of those indexes
     * (partial on status = 'available'): files_uploading_children finds them, few at any time.
     */
    async list(
      db: Queryable,
      q: { driveId: string; parentId: string; orderBy: OrderBy; desc: boolean; after: [unknown, string] | null; limit: number; filter?: ListFilter },
    ): Promise<FileRow[]> {
      const col = q.orderBy;
      const dir = q.desc ? 'DESC' : 'ASC';
      const params: unknown[] = [q.driveId, q.parentId, q.limit];
      // A literal, not a parameter: the planner matches it against the partial indexes' predicates.
      const where = [q.filter?.status === 'uploading' ? `status = 'uploading'` : `status = 'available'`];
      if (q.filter?.type === 'folder') where.push(`category = '' AND type = 'folder'`);
      if (q.filter?.type === 'file') where.push(`type = 'file'`);
      if (q.filter?.category) {
        params.push(q.filter.category);
        where.push(`category = $${params.length} AND type = 'file'`);
      }
      if (q.after) {
        params.push(q.after[0], q.after[1]);
        where.push(`(${col}, file_id) ${q.desc ? '<' : '>'} ($${params.length - 1}::${ORDER_CAST[col]}, $${params.length})`);
      }
      return db.query<FileRow>(
        `SELECT * FROM files WHERE drive_id = $1 AND parent_file_id = $2 AND trashed_at IS NULL AND ${where.join(' AND ')}
         ORDER BY ${col} ${dir}, file_id ${dir} LIMIT $3`,
        params,
      );
    },

    async update(db: Queryable, driveId: string, fileId: string, patch: FilePatch): Promise<FileRow | undefined> {
      const params: unknown[] = [driveId, fileId];
      const sets = setClause(patch, PATCHABLE, params, ['labels']);
      const [row] = await db.query<FileRow>(`UPDATE files SET ${sets} WHERE drive_id = $1 AND file_id = $2 RETURNING *`, params);
      return row;
    },

    /**
     * The folders from the top of the drive down to fileId's parent, then the file itself, walking at most
     * MAX_FOLDER_DEPTH_CEILING levels up (OPENPDS_MAX_FOLDER_DEPTH keeps trees within it; a deeper one made
     * before the limit answers its lowest levels). Parents that loop (corrupted data) repeat ids until the
     * bound: each is kept once, at its first depth, as the CYCLE clause this replaces did. That clause was
     * not all that made a walk of 1,200 levels take 1.15 s: the join, planned without statistics, scanned
     * the drive once per level. Each step is a primary-key lookup in a LATERAL subquery (OFFSET 0 keeps it
     * from being flattened into that join), on ids only; the rows are read once at the end.
     */
    async pathTo(db: Queryable, driveId: string, fileId: string): Promise<(FileRow & { depth: number })[]> {
      return db.query<FileRow & { depth: number }>(
        `WITH RECURSIVE up AS (
           SELECT file_id, parent_file_id, 0 AS depth FROM files WHERE drive_id = $1 AND file_id = $2
           UNION ALL
           SELECT p.file_id, p.parent_file_id, up.depth + 1 FROM up CROSS JOIN LATERAL (
             SELECT file_id, parent_file_id FROM files WHERE file_id = up.parent_file_id AND drive_id = $1 OFFSET 0
           ) AS p WHERE up.depth < $3
         ), firsts AS (SELECT file_id, min(depth) AS depth FROM up GROUP BY file_id)
         SELECT f.*, firsts.depth FROM firsts CROSS JOIN LATERAL (SELECT * FROM files WHERE file_id = firsts.file_id OFFSET 0) AS f ORDER BY firsts.depth DESC`,
        [driveId, fileId, MAX_FOLDER_DEPTH_CEILING],
      );
    },

    /**
     * Whether ancestorId is fileId or one of its ancestors, up to MAX_FOLDER_DEPTH_CEILING levels up; the
     * walk ends where it finds it. Past the bound (parents that loop, or a tree deeper than any limit) the
     * depth check refuses the move or copy anyway (folder-depth.ts). Steps as in pathTo.
     */
    async isSelfOrAncestor(db: Queryable, driveId: string, ancestorId: string, fileId: string): Promise<boolean> {
      const [row] = await db.query<{ found: boolean }>(
        `WITH RECURSIVE up AS (
           SELECT file_id, parent_file_id, 0 AS depth FROM files WHERE drive_id = $1 AND file_id = $3
           UNION ALL
           SELECT p.file_id, p.parent_file_id, up.depth + 1 FROM up CROSS JOIN LATERAL (
             SELECT file_id, parent_file_id FROM files WHERE file_id = up.parent_file_id AND drive_id = $1 OFFSET 0
           ) AS p WHERE up.depth < $4 AND up.file_id <> $2
         ) SELECT EXISTS (SELECT 1 FROM up WHERE file_id = $2) AS found`,
        [driveId, ancestorId, fileId, MAX_FOLDER_DEPTH_CEILING],
      );
      return row!.found;
    },

    lockTree,
    allowLongStatements,

    /**
     * fileId and every file below it, with each row's depth (0 for fileId). No depth bound: a delete must
     * take a whole tree, however deep it was made before OPENPDS_MAX_FOLDER_DEPTH. A walk down can only meet
     * a loop through fileId itself (every row below has fileId among its ancestors), so leaving fileId out
     * below ends it on parents that loop, in linear time (the CYCLE clause it replaces carried each row's
     * path: quadratic in the depth). The children are looked up per folder (files_live_children, migration
     * 013) in a LATERAL subquery that OFFSET 0 keeps from being flattened into a join: PGlite never gathers
     * statistics, and as a join the planner took the table for a few rows and read all its live rows once
     * per level of the tree (O(n²)).
     */
    async subtree(db: Queryable, driveId: string, fileId: string, options: { trashRoot?: string } = {}): Promise<(FileRow & { depth: number })[]> {
      return db.query<FileRow & { depth: number }>(
        `WITH RECURSIVE down AS (
           SELECT f.*, 0 AS depth FROM files f WHERE f.drive_id = $1 AND f.file_id = $2
           UNION ALL
           SELECT c.*, down.depth + 1 FROM down CROSS JOIN LATERAL (
             SELECT * FROM files WHERE parent_file_id = down.file_id AND drive_id = down.drive_id AND file_id <> $2
               AND ${options.trashRoot ? 'trash_root_id = $3' : 'trashed_at IS NULL'} OFFSET 0
           ) AS c
         ) SELECT * FROM down ORDER BY depth, file_id`,
        options.trashRoot ? [driveId, fileId, options.trashRoot] : [driveId, fileId],
      );
    },

    /**
     * Marks fileId and its live descendants as trashed, all pointing at fileId as their trash root. A
     * folder's subtree is read under the exclusive tree lock (lockTree). UNION drops rows already seen, so
     * parents that loop cannot keep the walk going. Children looked up per folder, as in subtree.
     */
    async trashSubtree(db: Queryable, driveId: string, fileId: string): Promise<number> {
      const [file] = await db.query<{ type: string }>(`SELECT type FROM files WHERE drive_id = $1 AND file_id = $2`, [driveId, fileId]);
      if (file?.type === 'folder') {
        await lockTree(db, driveId, 'exclusive');
        await allowLongStatements(db);
      }
      const rows = await db.query(
        `WITH RECURSIVE down AS (
           SELECT file_id FROM files WHERE drive_id = $1 AND file_id = $2 AND trashed_at IS NULL
           UNION
           SELECT c.file_id FROM down CROSS JOIN LATERAL (
             SELECT file_id FROM files WHERE parent_file_id = down.file_id AND drive_id = $1 AND trashed_at IS NULL OFFSET 0
           ) AS c
         ) UPDATE files SET trashed_at = now(), trash_root_id = $2, updated_at = now()
           WHERE drive_id = $1 AND file_id IN (SELECT file_id FROM down) RETURNING file_id`,
        [driveId, fileId],
      );
      return rows.length;
    },

    async restoreTrash(db: Queryable, driveId: string, rootId: string, patch: { parent_file_id: string; name: string }): Promise<void> {
      await db.query(`UPDATE files SET trashed_at = NULL, trash_root_id = NULL, updated_at = now() WHERE drive_id = $1 AND trash_root_id = $2`, [driveId, rootId]);
      await db.query(`UPDATE files SET parent_file_id = $3, name = $4 WHERE drive_id = $1 AND file_id = $2`, [driveId, rootId, patch.parent_file_id, patch.name]);
    },

    async listTrashRoots(db: Queryable, driveId: string, after: [string, string] | null, limit: number): Promise<FileRow[]> {
      return db.query<FileRow>(
        `SELECT * FROM files WHERE drive_id = $1 AND trashed_at IS NOT NULL AND trash_root_id = file_id
           ${after ? 'AND (trashed_at, file_id) < ($3::timestamptz, $4)' : ''}
         ORDER BY trashed_at DESC, file_id DESC LIMIT $2`,
        after ? [driveId, limit, after[0], after[1]] : [driveId, limit],
      );
    },

    /** Deletes files for good, with their revisions and upload sessions (blob refs and quota by trigger). */
    async deleteTrashed(db: Queryable | Db, driveId: string, rootIds: readonly string[]): Promise<number> {
      // A trashed big folder is one long DELETE (the GC's purge, recyclebin/clear): in a transaction of
      // its own when given the pool, so statement_timeout can be lifted for it alone.
      const run = async (q: Queryable) => {
        await allowLongStatements(q);
        return deleteFilesWhere(q, `drive_id = $1 AND trash_root_id = ANY($2::text[])`, [driveId, rootIds]);
      };
      return 'transaction' in db ? db.transaction(run) : run(db);
    },

    /** Trash roots whose retention is over, across drives (for the purge job). */
    async expiredTrashRoots(db: Queryable, olderThan: Date, limit: number): Promise<{ drive_id: string; file_id: string }[]> {
      return db.query(
        `SELECT drive_id, file_id FROM files WHERE trashed_at IS NOT NULL AND trash_root_id = file_id AND trashed_at < $1 LIMIT $2`,
        [olderThan, limit],
      );
    },

    async deleteSubtree(db: Queryable, driveId: string, fileIds: readonly string[]): Promise<void> {
      await deleteFilesWhere(db, `drive_id = $1 AND file_id = ANY($2::text[])`, [driveId, fileIds]);
    },

    /**
     * Copies rows (a file, or a folder and its live subtree) under new ids and new parents in one statement,
     * and gives every copied file a new revision on the same blob (the trigger counts the references and
     * the quota). `map` pairs old ids with new ids and new parents.
     */
    async copyRows(
      db: Queryable,
      q: { srcDriveId: string; dstDriveId: string; createdBy: string; rows: { oldId: string; newId: string; newParent: string; newName: string; newRevisionId: string }[] },
    ): Promise<void> {
      // The sources are locked first (KEY SHARE: a delete waits, edits do not): a file deleted between the
      // two inserts below was copied without a revision, a file nothing could read. One deleted before the
      // lock is not copied; only files can be (a folder's delete takes the tree lock the copy holds shared).
      const live = new Set(
        (await db.query<{ file_id: string }>(`SELECT file_id FROM files WHERE drive_id = $1 AND file_id = ANY($2::text[]) FOR KEY SHARE`, [q.srcDriveId, q.rows.map((r) => r.oldId)])).map(
          (r) => r.file_id,
        ),
      );
      const rows = q.rows.filter((r) => live.has(r.oldId));
      await lockSourceBlobs(db, q.srcDriveId, rows.map((r) => r.oldId));
      const cols = (k: 'oldId' | 'newId' | 'newParent' | 'newName' | 'newRevisionId') => rows.map((r) => r[k]);
      await db.query(
        `INSERT INTO files (file_id, drive_id, parent_file_id, name, type, status, size, content_type, category, file_extension,
           content_hash, revision_id, description, labels, user_meta, starred, hidden, local_created_at, local_modified_at, created_by)
         SELECT m.new_id, $2, m.new_parent, m.new_name, f.type, f.status, f.size, f.content_type, f.category, f.file_extension,
           f.content_hash, CASE WHEN f.type = 'file' THEN m.new_rev END, f.description, f.labels, f.user_meta, false, f.hidden,
           f.local_created_at, f.local_modified_at, $3
         FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS m(old_id, new_id, new_parent, new_name, new_rev)
         JOIN files f ON f.drive_id = $1 AND f.file_id = m.old_id`,
        [q.srcDriveId, q.dstDriveId, q.createdBy, cols('oldId'), cols('newId'), cols('newParent'), cols('newName'), cols('newRevisionId')],
      );
      await db.query(
        `INSERT INTO file_revisions (revision_id, file_id, drive_id, blob_sha256, size, content_hash, created_by)
         SELECT m.new_rev, m.new_id, $2, r.blob_sha256, r.size, r.content_hash, $3
         FROM unnest($4::text[], $5::text[], $6::text[]) AS m(old_id, new_id, new_rev)
         JOIN files f ON f.drive_id = $1 AND f.file_id = m.old_id AND f.type = 'file'
         JOIN file_revisions r ON r.revision_id = f.revision_id`,
        [q.srcDriveId, q.dstDriveId, q.createdBy, cols('oldId'), cols('newId'), cols('newRevisionId')],
      );
    },
  };
}
export type FilesRepository = ReturnType<typeof createFilesRepository>;

/** Rounds of lockSourceBlobs: each waits for at most one hash job per blob to commit. */
const BLOB_LOCK_ROUNDS = 5;

/**
 * Key-share locks the blobs the source files' revisions point at, before copyRows inserts revisions on
 * them. A blob.hash job moves every revision of a placeholder (`pending:<upload id>`) to the real address
 * and deletes the placeholder's row (uploads/blob-hashing.ts): a copy whose insert read the placeholder
 * just before that commit failed on file_revisions_blob_sha256_fkey, and a folder copy while its fresh
 * uploads were being hashed answered 500. Locked, a placeholder stays until the copy commits (the job
 * gives up its wait after 300 ms and starts over, JOB_LOCK_TIMEOUT_MS there). A job that holds the row
 * first is waited for; its row is gone then, so the revisions it moved are read again and their new blob
 * locked, for a few rounds (each hash job moves its own blob once). Blobs are locked in sha256 order, the
 * files before them (as the job and every delete take them).
 */
async function lockSourceBlobs(db: Queryable, driveId: string, fileIds: readonly string[]): Promise<void> {
  for (let round = 1; round <= BLOB_LOCK_ROUNDS; round++) {
    const wanted = (
      await db.query<{ blob_sha256: string }>(
        `SELECT DISTINCT r.blob_sha256 FROM files f JOIN file_revisions r ON r.revision_id = f.revision_id
          WHERE f.drive_id = $1 AND f.file_id = ANY($2::text[]) AND f.type = 'file'`,
        [driveId, fileIds],
      )
    ).map((r) => r.blob_sha256);
    if (wanted.length === 0) return;
    const locked = await db.query<{ sha256: string }>(`SELECT sha256 FROM blobs WHERE sha256 = ANY($1::text[]) ORDER BY sha256 FOR KEY SHARE`, [wanted]);
    if (locked.length === wanted.length) return;
  }
  // Still moving: the insert's foreign key decides, and the service answers 503 if it fails.
}
