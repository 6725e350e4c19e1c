import { Router } from 'express';
import { z } from 'zod';
import { defineRpc, idField, listLimitField, markerField, type RpcRegistry } from '../../shared/rpc';
import { fileResponseSchema } from '../files/files.schemas';
import { revisionListSchema, revisionResponseSchema } from './revisions.schemas';
import type { RevisionsService } from './revisions.service';

const revisionRef = z.object({ drive_id: idField, file_id: idField, revision_id: idField });

export function createRevisionsRouter(registry: RpcRegistry, revisions: RevisionsService): Router {
  const router = Router();
  defineRpc(router, registry, {
    path: '/v2/file/revision/list',
    summary: "List a file's revisions, newest first",
    // PDS ListRevision: limit 1-200.
    body: z.object({ drive_id: idField, file_id: idField, limit: listLimitField({ max: 200 }), marker: markerField }),
    response: revisionListSchema,
    handler: async (input, { auth }) => {
      const page = await revisions.list(auth, input);
      return { items: page.items.map((r) => revisions.toRevisionResponse(r, page.file)), next_marker: page.next_marker };
    },
  });
  defineRpc(router, registry, {
    path: '/v2/file/revision/get',
    summary: 'Get one revision of a file',
    body: revisionRef,
    response: revisionResponseSchema,
    handler: async (input, { auth }) => {
      const { file, revision } = await revisions.resolve(auth, input.drive_id, input.file_id, input.revision_id);
      return revisions.toRevisionResponse(revision, file);
    },
  });
  defineRpc(router, registry, {
    path: '/v2/file/revision/restore',
    summary: 'Make an older revision current again',
    body: revisionRef,
    response: fileResponseSchema,
    handler: async (input, { auth }) => revisions.toFileResponse(await revisions.restore(auth, input)),
  });
  defineRpc(router, registry, {
    path: '/v2/file/revision/delete',
    summary: 'Delete a revision that is not current',
    status: 204,
    body: revisionRef,
    handler: async (input, { auth }) => revisions.delete(auth, input),
  });
  return router;
}
