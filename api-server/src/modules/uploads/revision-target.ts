/**
 * file/create with a `file_id` (PDS CreateFile.file_id): the upload is a new revision of that file, as
 * check_name_mode overwrite makes one of the file holding the name. The file keeps its place and name: a
 * parent_file_id or name in the body that says otherwise is refused (400), not applied (a rename belongs
 * to file/update, and a silent rename or a silent ignore would each surprise one kind of client).
 */
import type { Queryable } from '../../db/db';
import { badRequest, notFound } from '../../shared/errors';
import { fileErrors } from '../files/files.errors';
import type { FileRow } from '../files/files.repository';
import type { FilesService } from '../files/files.service';

export interface RevisionAsked {
  drive_id: string;
  file_id: string;
  /** As the body gave it: absent means "wherever the file is". */
  parent_file_id?: string;
  name: string;
}

export const revisionErrors = {
  trashed: (fileId: string) => notFound('File', `file ${fileId} is in the recycle bin: restore it before uploading a new revision`),
  otherParent: (fileId: string, parent: string, asked: string) =>
    badRequest('InvalidParameter.ParentFileId', `file ${fileId} is in folder ${parent}, not ${asked}: a new revision stays where its file is (file/move moves it)`),
  otherName: (fileId: string, name: string) =>
    badRequest('InvalidParameter.Name', `file ${fileId} is named ${JSON.stringify(name)}: a new revision keeps its file's name (file/update renames it); send that name`),
};

/** Why `file` cannot take a new revision as asked, or undefined when it can. */
export function refusalOf(file: FileRow | undefined, asked: RevisionAsked): Error | undefined {
  if (!file) return fileErrors.notFound(asked.file_id);
  if (file.trashed_at) return revisionErrors.trashed(file.file_id);
  if (file.type !== 'file') return fileErrors.notAFile(file.file_id);
  // A file still uploading has no content yet and its own session: complete that one instead.
  if (file.status !== 'available') return fileErrors.notReady(file.file_id);
  if (asked.parent_file_id !== undefined && asked.parent_file_id !== file.parent_file_id) return revisionErrors.otherParent(file.file_id, file.parent_file_id, asked.parent_file_id);
  if (asked.name !== file.name) return revisionErrors.otherName(file.file_id, file.name);
  return undefined;
}

/**
 * The file a revision upload goes to, locked, inside the file/create transaction. The locks are taken
 * in the order an overwrite takes them (tree, name, then the row: see upload-sessions.ts create), found
 * from the row read before them; the locked row is checked again (renamed, moved or trashed meanwhile).
 */
export async function lockRevisionTarget(tx: Queryable, files: FilesService, asked: RevisionAsked): Promise<FileRow> {
  const seen = await files.repo.get(tx, asked.drive_id, asked.file_id, { includeTrashed: true });
  const early = refusalOf(seen, asked);
  if (early) throw early;
  await files.resolveName(tx, asked.drive_id, seen!.parent_file_id, seen!.name, 'ignore', 'file');
  const locked = await files.repo.get(tx, asked.drive_id, asked.file_id, { includeTrashed: true, forUpdate: true });
  const late = refusalOf(locked, asked);
  if (late) throw late;
  return locked!;
}
