import { MAX_FOLDER_DEPTH_CEILING } from '../../config/config';
import type { Queryable } from '../../db/db';
import { fileErrors } from './files.errors';
import { ROOT } from './files.repository';
import { folderLevel, subfoldersDeeperThan, trashedSubfoldersDeeperThan } from './folder-depth.repository';

/**
 * What is put under a folder: a new file or folder; an existing one (moved or copied) whose subtree is
 * walked for its deepest folder; a trash root being restored, whose folders trashed with it are walked; or
 * one whose subtree the caller has read (a copy's rows), with the level of its deepest folder below it
 * (0: none).
 */
export type PlacedItem =
  | { type: 'file' | 'folder'; name: string }
  | { type: 'file' | 'folder'; name: string; driveId: string; fileId: string }
  | { type: 'file' | 'folder'; name: string; driveId: string; trashRootId: string }
  | { type: 'file' | 'folder'; name: string; levelsBelow: number };

/**
 * OPENPDS_MAX_FOLDER_DEPTH: folders nest at most `maxDepth` levels (a folder at the top of a drive is level
 * 1); files are not counted: a file may sit in any folder. With no limit, a chain of thousands of folders made
 * every walk up or down the tree long (get_path of a 1,200-level chain took over a second) and the walks
 * could not be bounded. Call it holding the drive's tree lock (files.repository lockTree) that the change
 * takes, after the parent check: folder moves take it exclusive, so the levels read stay true until commit.
 */
export function createFolderDepthCheck(maxDepth: number) {
  /**
   * Whether `item` may go under parentId of driveId: its deepest folder no deeper than maxDepth. A move
   * (fromParentId given) that puts it no deeper than it was may: trees nested deeper before the limit
   * existed or was lowered can be moved out of, bit by bit. A parent whose walk up reached
   * MAX_FOLDER_DEPTH_CEILING (parents that loop, or deeper than any limit) takes nothing more, so a loop or
   * an unseen ancestor can never let a folder move under its descendant.
   */
  async function allows(tx: Queryable, driveId: string, parentId: string, item: PlacedItem, fromParentId?: string): Promise<boolean> {
    // A file nests nothing: no walk (it was one more round trip on every upload into a folder, review 17),
    // and a file may go into any folder that exists, one of a tree made deeper before the limit included.
    if (item.type === 'file') return true;
    const level = parentId === ROOT ? 0 : await folderLevel(tx, driveId, parentId);
    if (level > MAX_FOLDER_DEPTH_CEILING) return false;
    if (fromParentId !== undefined && level <= (fromParentId === ROOT ? 0 : await folderLevel(tx, driveId, fromParentId))) return true;
    // Levels left below the placed folder itself, which takes level + 1.
    const below = maxDepth - level - 1;
    if (below < 0 || ('levelsBelow' in item && item.levelsBelow > below)) return false;
    if ('fileId' in item) return !(await subfoldersDeeperThan(tx, item.driveId, item.fileId, below));
    if ('trashRootId' in item) return !(await trashedSubfoldersDeeperThan(tx, item.driveId, item.trashRootId, below));
    return true;
  }

  return {
    allows,
    /** As allows, refusing with 400 LimitExceeded.FolderDepth. */
    async assertAllowed(tx: Queryable, driveId: string, parentId: string, item: PlacedItem, fromParentId?: string): Promise<void> {
      if (!(await allows(tx, driveId, parentId, item, fromParentId))) throw fileErrors.folderTooDeep(`${item.type} ${item.name}`, parentId, maxDepth);
    },
  };
}
export type FolderDepthCheck = ReturnType<typeof createFolderDepthCheck>;
