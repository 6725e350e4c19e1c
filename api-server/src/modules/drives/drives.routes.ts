import { Router } from 'express';
import { z } from 'zod';
import { displayTextField } from '../../shared/display-text';
import { defineRpc, idField, listLimitField, markerField, type RpcRegistry } from '../../shared/rpc';
import { createDriveResponseSchema, driveListSchema, driveResponseSchema } from './drives.schemas';
import { toDriveResponse, type DrivesService } from './drives.service';

const quota = z.number().int().min(0).nullable();

export function createDrivesRouter(registry: RpcRegistry, drives: DrivesService): Router {
  const router = Router();
  defineRpc(router, registry, {
    path: '/v2/drive/create',
    summary: 'Create a drive (admin)',
    status: 201,
    errors: [409],
    body: z.object({
      drive_name: displayTextField(1, 1024),
      owner: idField,
      owner_type: z.enum(['user', 'group']).optional(),
      description: z.string().max(1024).optional(),
      total_size: quota.optional(),
      default: z.boolean().optional(),
      drive_type: z.string().max(64).optional(),
      status: z.enum(['enabled', 'disabled']).optional(),
    }),
    response: createDriveResponseSchema,
    handler: async (input, { auth }) => {
      const d = await drives.create(auth, input);
      return { domain_id: d.domain_id, drive_id: d.drive_id };
    },
  });
  defineRpc(router, registry, {
    path: '/v2/drive/get',
    summary: 'Get a drive',
    body: z.object({ drive_id: idField }),
    response: driveResponseSchema,
    handler: async (input, { auth }) => toDriveResponse(await drives.getVisible(auth, input.drive_id)),
  });
  defineRpc(router, registry, {
    path: '/v2/drive/get_default_drive',
    summary: "Get the caller's default drive (or a user's, for admins)",
    body: z.object({ user_id: idField.optional() }),
    response: driveResponseSchema,
    handler: async (input, { auth }) => toDriveResponse(await drives.getDefault(auth, input.user_id)),
  });
  // PDS ListDrive and ListMyDrives: limit 0-100, 0 being the default page size here.
  const listBody = z.object({ owner: idField.optional(), limit: listLimitField({ min: 0, zeroIsDefault: true }), marker: markerField });
  defineRpc(router, registry, {
    path: '/v2/drive/list',
    summary: "List drives (admins: all, or one owner's; users: their own)",
    body: listBody,
    response: driveListSchema,
    handler: async (input, { auth }) => {
      const page = await drives.list(auth, { ...input, mine: false });
      return { items: page.items.map(toDriveResponse), next_marker: page.next_marker };
    },
  });
  defineRpc(router, registry, {
    path: '/v2/drive/list_my_drives',
    summary: "List the caller's drives",
    body: listBody,
    response: driveListSchema,
    handler: async (input, { auth }) => {
      const page = await drives.list(auth, { ...input, mine: true });
      return { items: page.items.map(toDriveResponse), next_marker: page.next_marker };
    },
  });
  defineRpc(router, registry, {
    path: '/v2/drive/update',
    summary: 'Update a drive: name, description, status, quota (admin)',
    body: z.object({
      drive_id: idField,
      // Checked in the service: a stored name sent back unchanged is not a new one (checkChangedDisplayText).
      drive_name: z.string().min(1).max(1024).optional(),
      description: z.string().max(1024).optional(),
      status: z.enum(['enabled', 'disabled']).optional(),
      total_size: quota.optional(),
    }),
    response: driveResponseSchema,
    handler: async ({ drive_id, ...patch }, { auth }) => toDriveResponse(await drives.update(auth, drive_id, patch)),
  });
  defineRpc(router, registry, {
    path: '/v2/drive/delete',
    summary: 'Delete a drive and its files (admin)',
    status: 204,
    body: z.object({ drive_id: idField }),
    handler: async (input, { auth }) => drives.delete(auth, input.drive_id),
  });
  return router;
}
