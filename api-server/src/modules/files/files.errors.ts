import { AppError, badRequest, conflict, notFound } from '../../shared/errors';

export const fileErrors = {
  notFound: (fileId: string) => notFound('File', `file ${fileId} does not exist in this drive`),
  parentNotFound: (fileId: string) => notFound('ParentFile', `parent folder ${fileId} does not exist in this drive`),
  parentNotFolder: (fileId: string) => badRequest('InvalidParameter.ParentFileId', `parent ${fileId} is a file, not a folder`),
  nameExists: (name: string, existing: { file_id: string; type: string }) =>
    conflict('AlreadyExist.File', `a ${existing.type} named ${name} already exists here`, { exist: true, file_id: existing.file_id, file_name: name }),
  moveIntoItself: () => badRequest('InvalidParameter.ToParentFileId', 'a folder cannot be moved or copied into itself or its own subtree'),
  notAFile: (fileId: string) => badRequest('InvalidParameter.FileId', `${fileId} is a folder; this needs a file`),
  notReady: (fileId: string) => new AppError('Forbidden.FileStatus', 403, `file ${fileId} is still uploading`),
  folderTooBig: (fileId: string, max: number) =>
    badRequest(
      'LimitExceeded.FolderItems',
      `folder ${fileId} holds more than ${max} files and folders, the most one copy, trash or delete may take: do it a subfolder at a time (or ask the administrator to raise OPENPDS_MAX_FOLDER_ITEMS)`,
      { limit: max },
    ),
  /** `what` names the folder or file put under `parentId`; `max` is OPENPDS_MAX_FOLDER_DEPTH. */
  folderTooDeep: (what: string, parentId: string, max: number) =>
    badRequest(
      'LimitExceeded.FolderDepth',
      `${what} under ${parentId} would nest folders more than ${max} levels deep, the most this server allows: put it higher up the tree (or ask the administrator to raise OPENPDS_MAX_FOLDER_DEPTH)`,
      { limit: max },
    ),
  categoryOfFolder: () => badRequest('InvalidParameter.Category', 'folders have no category: a category filter lists files; drop it, or type folder'),
  revisionOfFolder: () => badRequest('InvalidParameter.FileId', 'file_id uploads a new revision of a file; a folder has none (leave file_id out to create a folder)'),
  nameModeContradiction: (mode: string, autoRename: boolean) =>
    badRequest('InvalidParameter.AutoRename', `auto_rename ${autoRename} contradicts check_name_mode ${mode}: send one of them`),
  crossDrive: () => badRequest('InvalidParameter.ToDriveId', 'moving between drives is not supported; copy then delete'),
};

/** SQLSTATE OP001 is raised by the file_revisions trigger when a drive's quota would be exceeded. */
export const isQuotaError = (e: unknown) => (e as { code?: string })?.code === 'OP001';
export const quotaExhausted = (driveId: string) => new AppError('QuotaExhausted.Drive', 403, `drive ${driveId} has no space left for this`);
