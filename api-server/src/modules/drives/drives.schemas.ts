/**
 * The Drive object the drives routes answer (drives.service.ts toDriveResponse), as PDS's
 * components.schemas.Drive with OpenPDS's additions: `total_size` is null for a drive without a quota,
 * `reserved_size` (bytes declared by uploads in progress, counted against the quota), `default` and
 * `updated_at`.
 */
import { z } from 'zod';
import { listResponse, timestampField } from '../../shared/rpc';

export const driveResponseSchema = z
  .strictObject({
    domain_id: z.string(),
    drive_id: z.string(),
    drive_name: z.string(),
    description: z.string(),
    creator: z.string().describe("the user who created it; '' when unknown"),
    owner: z.string(),
    owner_type: z.enum(['user', 'group']),
    drive_type: z.string(),
    status: z.enum(['enabled', 'disabled']),
    total_size: z.number().int().nullable().describe('the quota in bytes; null for none'),
    used_size: z.number().int(),
    reserved_size: z.number().int().describe('bytes declared by uploads in progress, counted against the quota'),
    default: z.boolean().describe("the owner's default drive"),
    created_at: timestampField,
    updated_at: timestampField,
  })
  .meta({ id: 'Drive', description: 'A drive (PDS Drive)' });

export const driveListSchema = listResponse('DriveList', driveResponseSchema);

/** drive/create (PDS CreateDrive's answer). */
export const createDriveResponseSchema = z.strictObject({ domain_id: z.string(), drive_id: z.string() }).meta({ id: 'CreateDriveResponse' });
