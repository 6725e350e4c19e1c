/**
 * The objects the files routes answer, as in the PDS 2022-03-01 contract (components.schemas.File) with the
 * field names and types OpenPDS returns (files.service.ts toFileResponse). Where it differs from the
 * reference: trashed_at and the local_* times are null when unset (the reference has a string), and
 * `trashed`, `user_meta`, `creator_id` are OpenPDS's own.
 */
import { z } from 'zod';
import { listResponse, timestampField } from '../../shared/rpc';

/** PDS File. */
export const fileResponseSchema = z
  .strictObject({
    domain_id: z.string(),
    drive_id: z.string(),
    file_id: z.string(),
    parent_file_id: z.string().describe("'root' at the top of the drive"),
    name: z.string(),
    type: z.enum(['file', 'folder']),
    status: z.enum(['uploading', 'available']),
    size: z.number().int(),
    content_type: z.string(),
    category: z.string().describe("'' for a folder"),
    file_extension: z.string(),
    content_hash: z.string().describe('the SHA-1 in hex; empty until it is known'),
    content_hash_name: z.string().describe("'sha1' for a file, '' for a folder"),
    revision_id: z.string().describe("the current revision; '' for a folder or an upload in progress"),
    description: z.string(),
    labels: z.array(z.string()),
    user_meta: z.string(),
    starred: z.boolean(),
    hidden: z.boolean(),
    trashed: z.boolean(),
    trashed_at: timestampField.nullable(),
    creator_id: z.string(),
    local_created_at: timestampField.nullable(),
    local_modified_at: timestampField.nullable(),
    created_at: timestampField,
    updated_at: timestampField,
  })
  .meta({ id: 'File', description: 'A file or folder (PDS File)' });

export const fileListSchema = listResponse('FileList', fileResponseSchema);

/** file/get_path: the folders from the top of the drive down to the file, and the file. */
export const filePathSchema = z.strictObject({ items: z.array(fileResponseSchema) }).meta({ id: 'FilePath' });

/** file/move and file/copy: where the file (or the copy) now is. */
export const fileLocationSchema = z
  .strictObject({ drive_id: z.string(), file_id: z.string(), parent_file_id: z.string(), name: z.string() })
  .meta({ id: 'FileLocation', description: 'Where a moved file, or a copy, now is' });
