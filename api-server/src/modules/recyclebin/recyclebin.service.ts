/**
 * The recycle bin: trashing marks a file and its whole subtree (trash_root_id = the trashed file), so a
 * restore brings back exactly what was trashed with it. Trashed files keep their blobs and count against
 * the quota until they are purged: by `clear`, by file/delete, or by the retention sweep.
 */
import type { Queryable } from '../../db/db';
import type { Deps } from '../../shared/deps';
import { timeIdMarkerKey, toPage } from '../../shared/page';
import type { AuthContext } from '../auth/auth.types';
import type { DrivesService } from '../drives/drives.service';
import { fileErrors } from '../files/files.errors';
import { ROOT, type FileRow } from '../files/files.repository';
import type { FilesService } from '../files/files.service';
import { decodeMarker, encodeMarker } from '../files/marker';
import type { DomainService } from '../domain/domain.service';

export function createRecyclebinService(deps: Pick<Deps, 'db' | 'clock'>, drives: DrivesService, files: FilesService, domain: DomainService) {
  const repo = files.repo;

  /**
   * Purges trash roots under the drive's exclusive tree lock. A restore takes the shared one before it locks
   * a row, so the two no longer lock the subtree's rows in opposite orders (restore racing clear deadlocked:
   * 503): a restore waits and then finds its file gone (404), or goes first and the purge no longer finds
   * the restored rows under that trash root.
   */
  const purge = (driveId: string, rootIds: readonly string[]) =>
    deps.db.transaction(async (tx) => {
      // The drive row first, as every call that changes a drive's files (files.service lockDrive): a drive
      // deleted meanwhile took its trash with it.
      if (!(await repo.lockDriveKey(tx, driveId))) return 0;
      await repo.lockTree(tx, driveId, 'exclusive');
      return repo.deleteTrashed(tx, driveId, rootIds);
    });

  /**
   * Whether a trash root can come back under its old folder: that folder is live, and the folders trashed
   * with it fit under it. The walks that check moves read live rows only, so the old folder may have moved
   * deeper while this one was in the bin. Under the shared tree lock: no folder moves until commit.
   */
  async function fitsUnderOldParent(tx: Queryable, driveId: string, file: FileRow): Promise<boolean> {
    if (file.parent_file_id === ROOT) return true;
    if (!(await repo.get(tx, driveId, file.parent_file_id))) return false;
    return files.folderDepth.allows(tx, driveId, file.parent_file_id, { type: file.type, name: file.name, driveId, trashRootId: file.file_id });
  }

  return {
    /** The File a restore or the list answers, with the data plane's domain_id as file/* answer it. */
    toFileResponse: (f: FileRow) => files.toResponse(f),
    async trash(auth: AuthContext, driveId: string, fileId: string): Promise<void> {
      const file = await files.getFile(auth, driveId, fileId);
      await deps.db.transaction(async (tx) => {
        await files.lockDrive(tx, driveId);
        if (file.type === 'folder') {
          // The lock trashSubtree takes (again) for a folder, taken here so the size is counted under it.
          await repo.lockTree(tx, driveId, 'exclusive');
          await files.assertFolderWithinLimit(tx, driveId, fileId);
        }
        await repo.trashSubtree(tx, driveId, fileId);
      });
    },

    /**
     * Restores a trash root and its subtree. Its old folder may be gone (trashed or deleted), or now too deep
     * to take it (OPENPDS_MAX_FOLDER_DEPTH): then it comes back at the top of the drive, where it nests as
     * little as it can (a tree deeper than the limit on its own, trashed before the limit was lowered, comes
     * back there too). A restore is not refused: what stays in the bin is purged when its retention is over.
     * A live file holding its name makes it come back as `name(1)`.
     */
    async restore(auth: AuthContext, driveId: string, fileId: string): Promise<FileRow> {
      await drives.getAccessible(auth, driveId);
      return deps.db.transaction(async (tx) => {
        await files.lockDrive(tx, driveId);
        // Before the parent check: a trash or delete of the old folder (exclusive) has committed and the check
        // sees it gone (back at the top of the drive), or it waits for this restore. Taken later (resolveName
        // takes it), the check passed, the lock waited out the trash, and the restore failed 404 ParentFile.
        await repo.lockTree(tx, driveId, 'shared');
        const file = await repo.get(tx, driveId, fileId, { includeTrashed: true, forUpdate: true });
        if (!file || file.trash_root_id !== file.file_id) throw fileErrors.notFound(fileId);
        const parent = (await fitsUnderOldParent(tx, driveId, file)) ? file.parent_file_id : ROOT;
        const { name } = await files.resolveName(tx, driveId, parent, file.name, 'auto_rename', file.type, file.file_id);
        await repo.restoreTrash(tx, driveId, file.file_id, { parent_file_id: parent, name });
        return (await repo.get(tx, driveId, file.file_id))!;
      });
    },

    async list(auth: AuthContext, input: { drive_id: string; marker: string; limit: number }) {
      await drives.getAccessible(auth, input.drive_id);
      const scope = `trash:${input.drive_id}`;
      const after = timeIdMarkerKey(decodeMarker(input.marker, scope, 2));
      const rows = await repo.listTrashRoots(deps.db, input.drive_id, after, input.limit + 1);
      return toPage(rows, input.limit, (last) => encodeMarker(scope, [last.trashed_at!.toISOString(), last.file_id]));
    },

    /** Purges everything in the drive's recycle bin. */
    async clear(auth: AuthContext, driveId: string): Promise<number> {
      await drives.getAccessible(auth, driveId);
      let purged = 0;
      for (;;) {
        const roots = await repo.listTrashRoots(deps.db, driveId, null, 500);
        if (!roots.length) return purged;
        purged += await purge(driveId, roots.map((r) => r.file_id));
      }
    },

    /** Purges trash older than the domain's retention; returns the number of files deleted. */
    async purgeExpired(): Promise<number> {
      const days = (await domain.settings()).trash_retention_days;
      const cutoff = new Date(deps.clock.now().getTime() - days * 86_400_000);
      let purged = 0;
      for (;;) {
        const roots = await repo.expiredTrashRoots(deps.db, cutoff, 500);
        if (!roots.length) return purged;
        const byDrive = new Map<string, string[]>();
        for (const r of roots) byDrive.set(r.drive_id, [...(byDrive.get(r.drive_id) ?? []), r.file_id]);
        for (const [driveId, ids] of byDrive) purged += await purge(driveId, ids);
      }
    },
  };
}
export type RecyclebinService = ReturnType<typeof createRecyclebinService>;
