/**
 * What file/create, file/get_upload_url and file/list_uploaded_parts answer (PDS CreateFile,
 * GetUploadUrl, ListUploadedParts), as upload-sessions.ts and files.routes.ts build them.
 */
import { z } from 'zod';
import { fileResponseSchema } from '../files/files.schemas';

/** PDS UploadPartInfo: where to PUT one part. */
export const uploadPartInfoSchema = z
  .strictObject({
    part_number: z.number().int(),
    upload_url: z.string().describe('a signed URL to PUT the part to; it expires (OPENPDS_UPLOAD_URL_TTL)'),
    part_size: z.number().int().optional(),
  })
  .meta({ id: 'UploadPartInfo', description: 'Where to upload one part (PDS UploadPartInfo)' });

/** A part already uploaded (PDS ListUploadedParts' uploaded_parts). */
export const uploadedPartSchema = z
  .strictObject({
    part_number: z.number().int(),
    part_size: z.number().int().optional().describe('absent when the store does not say'),
    etag: z.string(),
  })
  .meta({ id: 'UploadedPart' });

const proofChallengeSchema = z
  .strictObject({ proof_version: z.literal('v2'), algorithm: z.string(), nonce: z.string() })
  .meta({ id: 'ProofChallenge', description: 'Rapid upload proof v2: answer it at file/complete instead of uploading (proof.ts)' });

/**
 * file/create: the File, its name again (`file_name`, as PDS answers it) and whether it existed; for a
 * file, the upload session too (no upload_id and no parts when rapid_upload linked stored content).
 */
export const createFileResponseSchema = fileResponseSchema
  .extend({
    file_name: z.string(),
    exist: z.boolean(),
    rapid_upload: z.boolean().optional(),
    upload_id: z.string().optional().describe("'' when nothing is left to upload"),
    part_info_list: z.array(uploadPartInfoSchema).optional(),
    proof_challenge: proofChallengeSchema.optional(),
  })
  .meta({ id: 'CreateFileResponse' });

export const getUploadUrlResponseSchema = z
  .strictObject({ drive_id: z.string(), file_id: z.string(), upload_id: z.string(), part_info_list: z.array(uploadPartInfoSchema) })
  .meta({ id: 'GetUploadUrlResponse' });

export const listUploadedPartsResponseSchema = z
  .strictObject({
    drive_id: z.string(),
    file_id: z.string(),
    upload_id: z.string(),
    uploaded_parts: z.array(uploadedPartSchema),
    next_part_number_marker: z.string().describe("'' on the last page"),
    assembled: z.literal(true).optional().describe('the parts were assembled by a refused file/complete: complete again'),
  })
  .meta({ id: 'ListUploadedPartsResponse' });
