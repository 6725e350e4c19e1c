import { Router } from 'express';
import { z } from 'zod';
import { defineRpc, idField, limitField, markerField, type RpcRegistry } from '../../shared/rpc';
import { fileListSchema, fileResponseSchema } from '../files/files.schemas';
import { clearRecyclebinResponseSchema } from './recyclebin.schemas';
import type { RecyclebinService } from './recyclebin.service';

const fileRef = z.object({ drive_id: idField, file_id: idField });

export function createRecyclebinRouter(registry: RpcRegistry, bin: RecyclebinService): Router {
  const router = Router();
  defineRpc(router, registry, {
    path: '/v2/recyclebin/trash',
    summary: 'Move a file or folder (with its subtree) to the recycle bin',
    status: 204,
    body: fileRef,
    handler: async (input, { auth }) => bin.trash(auth, input.drive_id, input.file_id),
  });
  defineRpc(router, registry, {
    path: '/v2/recyclebin/restore',
    summary: 'Restore a trashed file or folder (to the top of the drive if its folder is gone)',
    body: fileRef,
    response: fileResponseSchema,
    handler: async (input, { auth }) => bin.toFileResponse(await bin.restore(auth, input.drive_id, input.file_id)),
  });
  defineRpc(router, registry, {
    path: '/v2/recyclebin/list',
    summary: "List the drive's recycle bin, most recently trashed first",
    body: z.object({ drive_id: idField, limit: limitField, marker: markerField }),
    response: fileListSchema,
    handler: async (input, { auth }) => {
      const page = await bin.list(auth, input);
      return { items: page.items.map((f) => bin.toFileResponse(f)), next_marker: page.next_marker };
    },
  });
  defineRpc(router, registry, {
    path: '/v2/recyclebin/clear',
    summary: "Purge the drive's recycle bin for good",
    body: z.object({ drive_id: idField }),
    response: clearRecyclebinResponseSchema,
    handler: async (input, { auth }) => ({ purged_count: await bin.clear(auth, input.drive_id) }),
  });
  return router;
}
