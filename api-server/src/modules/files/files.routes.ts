import { Router } from 'express';
import { z } from 'zod';
import { defineRpc, idField, limitField, markerField, type RpcRegistry, wholeNumber } from '../../shared/rpc';
import { createFileResponseSchema, getUploadUrlResponseSchema, listUploadedPartsResponseSchema } from '../uploads/uploads.schemas';
import type { UploadsService } from '../uploads/uploads.service';
import { fileErrors } from './files.errors';
import { FILE_CATEGORIES, ROOT } from './files.repository';
import { fileListSchema, fileLocationSchema, filePathSchema, fileResponseSchema } from './files.schemas';
import type { FilesService } from './files.service';
import { localTimeField } from './local-time.field';
import { mediaTypeField } from './media-type.field';

export const checkNameMode = z.enum(['ignore', 'auto_rename', 'refuse', 'overwrite']);
const fileRef = { drive_id: idField, file_id: idField };
const labels = z.array(z.string().max(128)).max(100);
const sha1Hex = z.string().regex(/^[0-9a-fA-F]{40}$/, 'must be a 40-character hex SHA-1');

/**
 * file/copy's name mode from PDS's auto_rename and OpenPDS's check_name_mode: auto_rename true is
 * auto_rename, false is refuse (409 AlreadyExist.File on a taken name); check_name_mode, when given,
 * decides; both given and saying opposite things (auto_rename true with another mode, false with
 * auto_rename) is 400; neither is auto_rename, the default copies always had.
 */
export function copyNameMode(mode: z.infer<typeof checkNameMode> | undefined, autoRename: boolean | undefined): z.infer<typeof checkNameMode> {
  if (mode !== undefined && autoRename !== undefined && autoRename !== (mode === 'auto_rename'))
    throw fileErrors.nameModeContradiction(mode, autoRename);
  return mode ?? (autoRename === false ? 'refuse' : 'auto_rename');
}

export function createFilesRouter(registry: RpcRegistry, files: FilesService, uploads: UploadsService): Router {
  const router = Router();
  defineRpc(router, registry, {
    path: '/v2/file/create',
    summary: 'Create a folder, or a file: a multipart upload session, or a rapid upload when the content is already stored',
    errors: [409, 429], // PreHashMatched, AlreadyExist.File; LimitExceeded.OpenUploads
    status: 201,
    body: z.object({
      drive_id: idField,
      // root when absent; optional rather than defaulted so a revision upload (file_id) can tell "not said"
      // from "root" (revision-target.ts refuses a parent that is not the file's).
      parent_file_id: idField.optional(),
      name: z.string(),
      type: z.enum(['file', 'folder']),
      check_name_mode: checkNameMode.default('ignore'),
      /** Upload a new revision of this file (it keeps its place and name) instead of a new file. */
      file_id: idField.optional(),
      size: z.number().int().min(0).optional(),
      content_type: mediaTypeField.optional(),
      part_info_list: z.array(z.object({ part_number: z.number().int(), part_size: z.number().int().min(0).optional() })).max(10_000).optional(),
      pre_hash: sha1Hex.optional(),
      content_hash: sha1Hex.optional(),
      content_hash_name: z.string().optional(),
      proof_code: z.string().max(64).optional(),
      proof_version: z.string().max(8).optional(),
      description: z.string().max(1024).optional(),
      hidden: z.boolean().optional(),
      labels: labels.optional(),
      user_meta: z.string().max(4096).optional(),
      local_created_at: localTimeField.optional(),
      local_modified_at: localTimeField.optional(),
    }),
    response: createFileResponseSchema,
    handler: async ({ parent_file_id, ...input }, { auth }) => {
      if (input.type === 'folder') {
        if (input.file_id) throw fileErrors.revisionOfFolder();
        const { file, exist } = await files.createFolder(auth, { ...input, parent_file_id: parent_file_id ?? ROOT });
        return { ...files.toResponse(file), exist, file_name: file.name };
      }
      const r = await uploads.create(auth, { ...input, parent_file_id: parent_file_id ?? ROOT, asked_parent_file_id: parent_file_id });
      return {
        ...files.toResponse(r.file),
        file_name: r.file.name,
        exist: r.exist,
        rapid_upload: r.rapid_upload,
        upload_id: r.upload_id,
        part_info_list: r.part_info_list,
        ...(r.proof_challenge ? { proof_challenge: r.proof_challenge } : {}),
      };
    },
  });
  defineRpc(router, registry, {
    path: '/v2/file/get',
    summary: 'Get a file or folder',
    body: z.object(fileRef),
    response: fileResponseSchema,
    handler: async (input, { auth }) => files.toResponse(await files.getFile(auth, input.drive_id, input.file_id)),
  });
  defineRpc(router, registry, {
    path: '/v2/file/list',
    summary: 'List a folder, keyset-paginated by marker',
    body: z.object({
      drive_id: idField,
      parent_file_id: idField.default('root'),
      order_by: z.enum(['name', 'updated_at', 'created_at', 'size']).default('name'),
      order_direction: z.enum(['ASC', 'DESC']).default('ASC'),
      limit: limitField,
      marker: markerField,
      // PDS ListFile filters. A folder has no category (''): a category lists files only.
      type: z.enum(['file', 'folder']).optional(),
      category: z.enum(FILE_CATEGORIES).optional(),
      status: z.enum(['uploading', 'available']).default('available'),
    }),
    response: fileListSchema,
    handler: async (input, { auth }) => {
      const page = await files.list(auth, input);
      return { items: page.items.map((f) => files.toResponse(f)), next_marker: page.next_marker };
    },
  });
  defineRpc(router, registry, {
    path: '/v2/file/update',
    summary: 'Rename a file or change its description, labels, starred, hidden, user_meta',
    errors: [409], // AlreadyExist.File (check_name_mode refuse)
    body: z.object({
      ...fileRef,
      name: z.string().optional(),
      check_name_mode: checkNameMode.default('refuse'),
      description: z.string().max(1024).optional(),
      labels: labels.optional(),
      starred: z.boolean().optional(),
      hidden: z.boolean().optional(),
      user_meta: z.string().max(4096).optional(),
      local_modified_at: localTimeField.transform((s) => new Date(s)).optional(),
    }),
    response: fileResponseSchema,
    handler: async (input, { auth }) => files.toResponse(await files.update(auth, input)),
  });
  const moveBody = z.object({
    ...fileRef,
    to_drive_id: idField.optional(),
    to_parent_file_id: idField,
    new_name: z.string().optional(),
    check_name_mode: checkNameMode.default('refuse'),
  });
  defineRpc(router, registry, {
    path: '/v2/file/move',
    summary: 'Move (and optionally rename) a file or folder within its drive',
    errors: [409], // AlreadyExist.File (check_name_mode refuse)
    body: moveBody,
    response: fileLocationSchema,
    handler: async (input, { auth }) => {
      const f = await files.move(auth, input);
      return { drive_id: f.drive_id, file_id: f.file_id, parent_file_id: f.parent_file_id, name: f.name };
    },
  });
  defineRpc(router, registry, {
    path: '/v2/file/copy',
    summary: 'Copy a file (sharing its stored content) or a folder tree',
    errors: [409], // AlreadyExist.File (check_name_mode refuse)
    status: 201,
    // PDS CopyFile says auto_rename (boolean) and no check_name_mode; both are taken (copyNameMode).
    body: moveBody.extend({ check_name_mode: checkNameMode.optional(), auto_rename: z.boolean().optional() }),
    response: fileLocationSchema,
    handler: async ({ auto_rename, ...input }, { auth }) => {
      const f = await files.copy(auth, { ...input, check_name_mode: copyNameMode(input.check_name_mode, auto_rename) });
      return { drive_id: f.drive_id, file_id: f.file_id, parent_file_id: f.parent_file_id, name: f.name };
    },
  });
  defineRpc(router, registry, {
    path: '/v2/file/delete',
    summary: 'Delete a file or folder permanently (recyclebin/trash is the soft way)',
    status: 204,
    body: z.object(fileRef),
    handler: async (input, { auth }) => files.deletePermanently(auth, input.drive_id, input.file_id),
  });
  defineRpc(router, registry, {
    path: '/v2/file/get_path',
    summary: 'The folders from the top of the drive down to a file, and the file',
    body: z.object(fileRef),
    response: filePathSchema,
    handler: async (input, { auth }) => ({ items: (await files.getPath(auth, input.drive_id, input.file_id)).map((f) => files.toResponse(f)) }),
  });

  const sessionRef = { ...fileRef, upload_id: idField };
  defineRpc(router, registry, {
    path: '/v2/file/get_upload_url',
    summary: 'Fresh signed part upload URLs for an open upload',
    body: z.object({ ...sessionRef, part_info_list: z.array(z.object({ part_number: z.number().int() })).max(10_000).optional() }),
    // 409 UploadCompleted, UploadAssembled (parts already assembled: complete again); 410 UploadExpired.
    errors: [409, 410],
    response: getUploadUrlResponseSchema,
    handler: async (input, { auth }) => {
      const r = await uploads.getUploadUrl(auth, input);
      return { drive_id: r.session.drive_id, file_id: r.session.file_id, upload_id: r.session.upload_id, part_info_list: r.part_info_list };
    },
  });
  defineRpc(router, registry, {
    path: '/v2/file/list_uploaded_parts',
    summary: 'Parts uploaded so far (to resume an upload)',
    errors: [409], // UploadCompleted
    body: z.object({ ...sessionRef, part_number_marker: wholeNumber(z.number().int().min(0).default(0)), limit: z.number().int().min(1).max(10_000).default(1000) }),
    response: listUploadedPartsResponseSchema,
    handler: async (input, { auth }) => {
      const r = await uploads.listUploadedParts(auth, input);
      return {
        drive_id: r.session.drive_id,
        file_id: r.session.file_id,
        upload_id: r.session.upload_id,
        uploaded_parts: r.uploaded_parts,
        next_part_number_marker: r.next_part_number_marker,
        // Only on an upload whose parts were assembled by a refused complete (upload-sessions.ts assembledParts).
        ...(r.assembled ? { assembled: true } : {}),
      };
    },
  });
  defineRpc(router, registry, {
    path: '/v2/file/complete',
    summary: 'Assemble the parts, verify size and content_hash, and make the file available; or answer the proof_challenge file/create gave (proof v2) instead of uploading',
    errors: [409], // AlreadyExist.File, UploadInProgress, UploadCompleted, RapidUploadUnavailable
    body: z.object({
      ...sessionRef,
      proof_version: z.literal('v2').optional(),
      proof_code: z.string().max(128).optional(),
    }).refine((b) => (b.proof_version === 'v2') === (b.proof_code !== undefined), { message: 'proof_code and proof_version "v2" go together', path: ['proof_code'] }),
    response: fileResponseSchema,
    handler: async (input, { auth }) => files.toResponse(await uploads.complete(auth, input)),
  });
  return router;
}
