import { adminScope } from '../drives/drive-access.sql';
import type { Queryable } from '../../db/db';
import { AppError, notFound } from '../../shared/errors';
import type { Deps } from '../../shared/deps';
import { timeIdMarkerKey, toPage } from '../../shared/page';
import type { AuthContext } from '../auth/auth.types';
import { fileErrors } from '../files/files.errors';
import type { FileRow } from '../files/files.repository';
import type { FilesService } from '../files/files.service';
import { decodeMarker, encodeMarker } from '../files/marker';
import { createRevisionsRepository, type RevisionRow } from './revisions.repository';

const errors = {
  notFound: (id: string) => notFound('Revision', `revision ${id} does not exist for this file`),
  current: () => new AppError('Forbidden.CurrentRevision', 403, 'the current revision cannot be deleted; restore another one first'),
};

export function createRevisionsService(deps: Pick<Deps, 'db' | 'config'>, files: FilesService) {
  const repo = createRevisionsRepository();

  async function fileOf(auth: AuthContext, driveId: string, fileId: string): Promise<FileRow> {
    const file = await files.getFile(auth, driveId, fileId);
    if (file.type !== 'file') throw fileErrors.notAFile(fileId);
    return file;
  }

  /** The file, its row locked until the transaction ends (checked readable by fileOf just before). */
  async function lockedFile(tx: Queryable, driveId: string, fileId: string): Promise<FileRow> {
    const file = await files.repo.get(tx, driveId, fileId, { forUpdate: true });
    if (!file || file.type !== 'file') throw fileErrors.notFound(fileId);
    return file;
  }

  return {
    /** The File and Revision shapes with this data plane's domain_id (PDS File.domain_id, Revision.domain_id). */
    toFileResponse: files.toResponse,
    toRevisionResponse: (r: RevisionRow, file: FileRow) => toRevisionResponse(r, file, deps.config.domainId),
    /** The file and the revision to read: the given one, or the current one. */
    async resolve(auth: AuthContext, driveId: string, fileId: string, revisionId?: string): Promise<{ file: FileRow; revision: RevisionRow }> {
      const found = await repo.readable(deps.db, { domainId: deps.config.domainId, userId: auth.userId, scope: adminScope(auth), driveId, fileId, revisionId: revisionId ?? null });
      if (found) return found;
      // Something does not hold: the same checks one by one, for the error that says which.
      const file = await fileOf(auth, driveId, fileId);
      if (file.status !== 'available' || !file.revision_id) throw fileErrors.notReady(fileId);
      const revision = await repo.get(deps.db, fileId, revisionId ?? file.revision_id);
      if (!revision) throw errors.notFound(revisionId ?? file.revision_id);
      return { file, revision };
    },

    async list(auth: AuthContext, input: { drive_id: string; file_id: string; marker: string; limit: number }) {
      const file = await fileOf(auth, input.drive_id, input.file_id);
      const scope = `revisions:${file.file_id}`;
      const after = timeIdMarkerKey(decodeMarker(input.marker, scope, 2));
      const rows = await repo.list(deps.db, file.file_id, after, input.limit + 1);
      return { file, ...toPage(rows, input.limit, (last) => encodeMarker(scope, [last.created_at.toISOString(), last.revision_id])) };
    },

    /**
     * Makes an older revision current again; the newer ones stay in the history. Restore and delete both
     * hold the file's row lock while they read and change it: a delete checks "not current" against the
     * revision_id a concurrent restore commits, never an older one (which left the file pointing at a
     * deleted revision).
     */
    async restore(auth: AuthContext, input: { drive_id: string; file_id: string; revision_id: string }): Promise<FileRow> {
      await fileOf(auth, input.drive_id, input.file_id);
      return deps.db.transaction(async (tx) => {
        await files.lockDrive(tx, input.drive_id); // before the file row, as a drive delete takes them (files.service lockDrive)
        const file = await lockedFile(tx, input.drive_id, input.file_id);
        if (file.status !== 'available' || !file.revision_id) throw fileErrors.notReady(file.file_id);
        const revision = await repo.get(tx, file.file_id, input.revision_id);
        if (!revision) throw errors.notFound(input.revision_id);
        return (await files.repo.update(tx, file.drive_id, file.file_id, { revision_id: revision.revision_id, size: revision.size, content_hash: revision.content_hash }))!;
      });
    },

    async delete(auth: AuthContext, input: { drive_id: string; file_id: string; revision_id: string }): Promise<void> {
      await fileOf(auth, input.drive_id, input.file_id);
      await deps.db.transaction(async (tx) => {
        await files.lockDrive(tx, input.drive_id); // before the file row, as a drive delete takes them (files.service lockDrive)
        const file = await lockedFile(tx, input.drive_id, input.file_id);
        if (file.revision_id === input.revision_id) throw errors.current();
        if (!(await repo.delete(tx, file.file_id, input.revision_id))) throw errors.notFound(input.revision_id);
      });
    },
  };
}
export type RevisionsService = ReturnType<typeof createRevisionsService>;

/** A plain literal, as toFileResponse (files.service.ts says why: no leading spread on a hot path). */
export const toRevisionResponse = (r: RevisionRow, file: FileRow, domainId: string) => ({
  domain_id: domainId,
  drive_id: r.drive_id,
  file_id: r.file_id,
  revision_id: r.revision_id,
  size: r.size,
  content_hash: r.content_hash,
  content_hash_name: 'sha1',
  is_latest: r.revision_id === file.revision_id,
  // The reference's components.schemas.Revision name; is_latest stays for the clients that read it.
  is_latest_version: r.revision_id === file.revision_id,
  creator_id: r.created_by ?? '',
  created_at: r.created_at.toISOString(),
});
