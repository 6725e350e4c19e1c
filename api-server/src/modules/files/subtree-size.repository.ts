import type { Queryable } from '../../db/db';

/**
 * Whether folderId and its live descendants are more than `max` rows, in one statement that reads at most
 * max + 1 of them: PostgreSQL (and PGlite) evaluate a recursive query only as far as its reader fetches,
 * so the LIMIT ends the walk. Checked before a folder copy, trash or delete, under the tree lock that work
 * holds (files.repository lockTree), so the count is the tree the work then reads. UNION (not UNION ALL)
 * ends the walk on parents that loop. Kept apart from files.repository.ts, whose copy is being reworked.
 *
 * The children are looked up per folder in a LATERAL subquery that OFFSET 0 keeps from being flattened
 * into a join: PGlite never gathers statistics, and as a join the planner took the table for a few rows
 * and scanned all its live rows once per folder of the walk (16k folders: 84 s instead of under a second).
 */
export async function subtreeExceeds(db: Queryable, driveId: string, folderId: string, max: number): Promise<boolean> {
  const [row] = await db.query<{ n: number }>(
    `WITH RECURSIVE down AS (
       SELECT file_id FROM files WHERE drive_id = $1 AND file_id = $2
       UNION
       SELECT c.file_id FROM down CROSS JOIN LATERAL (
         SELECT file_id FROM files WHERE parent_file_id = down.file_id AND drive_id = $1 AND trashed_at IS NULL OFFSET 0
       ) AS c
     ) SELECT count(*)::int AS n FROM (SELECT 1 FROM down LIMIT $3) AS capped`,
    [driveId, folderId, max + 1],
  );
  return row!.n > max;
}
