import { MAX_FOLDER_DEPTH_CEILING } from '../../config/config';
import type { Queryable } from '../../db/db';

/**
 * The walks behind OPENPDS_MAX_FOLDER_DEPTH (folder-depth.ts). Each step looks one row up by its primary
 * key, or one folder's children up by files_live_children (migration 013), in a LATERAL subquery that
 * OFFSET 0 keeps from being flattened into a join: as a join, without statistics (PGlite never gathers any,
 * and PostgreSQL has none for rows just written) the planner scanned the drive's rows once per level, and a
 * walk of 1,000 levels took over a second (O(depth × drive size)).
 */

/**
 * The level of folderId (1 for a folder at the top of the drive), counted up to MAX_FOLDER_DEPTH_CEILING + 1:
 * a walk that gets that far met parents that loop (corrupted data) or a tree nested deeper than any limit.
 * 0 for a folder that does not exist (the caller's parent check answers for it).
 */
export async function folderLevel(db: Queryable, driveId: string, folderId: string): Promise<number> {
  const [row] = await db.query<{ level: number }>(
    `WITH RECURSIVE up AS (
       SELECT parent_file_id, 1 AS level FROM files WHERE drive_id = $1 AND file_id = $2
       UNION ALL
       SELECT p.parent_file_id, up.level + 1 FROM up CROSS JOIN LATERAL (
         SELECT parent_file_id FROM files WHERE file_id = up.parent_file_id AND drive_id = $1 OFFSET 0
       ) AS p WHERE up.level <= $3
     ) SELECT coalesce(max(level), 0)::int AS level FROM up`,
    [driveId, folderId, MAX_FOLDER_DEPTH_CEILING],
  );
  return row!.level;
}

/**
 * Whether folderId has live subfolders more than `levels` levels below it (a folder with none has 0), in
 * one statement that reads no folder deeper than levels + 1 and ends at the first it finds there (a
 * recursive query is evaluated only as far as its reader fetches, breadth first). A walk down can only
 * meet a loop through the folder it starts from (any row below it has that folder among its ancestors),
 * so skipping that folder is enough to end it on corrupted data, and the depth bound ends it anyway.
 */
export async function subfoldersDeeperThan(db: Queryable, driveId: string, folderId: string, levels: number): Promise<boolean> {
  if (levels < 0) return true;
  const [row] = await db.query<{ deeper: boolean }>(
    `WITH RECURSIVE down AS (
       SELECT file_id, 0 AS depth FROM files WHERE drive_id = $1 AND file_id = $2
       UNION ALL
       SELECT c.file_id, down.depth + 1 FROM down CROSS JOIN LATERAL (
         SELECT file_id FROM files WHERE parent_file_id = down.file_id AND drive_id = $1 AND trashed_at IS NULL AND type = 'folder' AND file_id <> $2 OFFSET 0
       ) AS c WHERE down.depth <= $3
     ) SELECT EXISTS (SELECT 1 FROM down WHERE depth > $3) AS deeper`,
    [driveId, folderId, levels],
  );
  return row!.deeper;
}

/**
 * As subfoldersDeeperThan, over the folders trashed with trash root rootId (trash_root_id): what its restore
 * brings back. No index finds a trashed folder's children (files_live_children and the listing indexes hold
 * live rows only), and a walk down by parent_file_id scanned the table once per level: 12-29 s for a trashed
 * 1,000-level tree (63e482f, reverted). The trashed folders are read in one lookup by files_trash_members
 * instead, and walked here level by level: linear in the trashed subtree. Each row has one parent and the
 * root is not among them, so no walk from the root meets a row twice, also on parents that loop.
 */
export async function trashedSubfoldersDeeperThan(db: Queryable, driveId: string, rootId: string, levels: number): Promise<boolean> {
  if (levels < 0) return true;
  const rows = await db.query<{ file_id: string; parent_file_id: string }>(
    `SELECT file_id, parent_file_id FROM files WHERE trash_root_id = $2 AND drive_id = $1 AND type = 'folder' AND file_id <> $2`,
    [driveId, rootId],
  );
  const children = new Map<string, string[]>();
  for (const row of rows) {
    const siblings = children.get(row.parent_file_id);
    if (siblings) siblings.push(row.file_id);
    else children.set(row.parent_file_id, [row.file_id]);
  }
  let level = [rootId];
  for (let depth = 1; depth <= levels + 1; depth++) {
    level = level.flatMap((id) => children.get(id) ?? []);
    if (!level.length) return false;
  }
  return true;
}
