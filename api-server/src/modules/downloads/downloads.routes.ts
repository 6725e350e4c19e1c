import { Router } from 'express';
import { z } from 'zod';
import type { AuthContext } from '../auth/auth.types';
import type { Deps } from '../../shared/deps';
import { defineRpc, idField, parseBody, type RpcRegistry } from '../../shared/rpc';
import { serveObject } from '../../storage/serve-object';
import type { RevisionsService } from '../revisions/revisions.service';

/** Long enough to start a download the redirect leads to; a resumed download asks this API again. */
const REDIRECT_URL_TTL_SECONDS = 300;

export function createDownloadsRouter(registry: RpcRegistry, deps: Pick<Deps, 'store' | 'config' | 'clock'>, revisions: RevisionsService): Router {
  const router = Router();
  defineRpc(router, registry, {
    path: '/v2/file/get_download_url',
    summary: 'A signed, expiring URL for the file (or one revision), with Range support',
    body: z.object({
      drive_id: idField,
      file_id: idField,
      revision_id: idField.optional(),
      file_name: z.string().min(1).max(1024).optional(),
      expire_sec: z.number().int().min(1).max(115_200).optional(),
      response_content_type: z.string().max(256).optional(),
    }),
    handler: async (input, { auth: caller }) => {
      const { file, revision } = await revisions.resolve(caller, input.drive_id, input.file_id, input.revision_id);
      const ttl = input.expire_sec ?? deps.config.downloadUrlTtl;
      const url = await deps.store.downloadUrl(revision.storage_key, {
        expiresInSeconds: ttl,
        fileName: input.file_name ?? file.name,
        contentType: input.response_content_type ?? file.content_type,
      });
      return {
        url,
        method: 'GET',
        expiration: new Date(deps.clock.now().getTime() + ttl * 1000).toISOString(),
        size: revision.size,
        content_hash: revision.content_hash,
        content_hash_name: 'sha1',
      };
    },
  });

  // PDS DownloadFile: a GET with the bearer token. On S3 it redirects (302) to a short-lived presigned URL,
  // so the bytes come straight from the store (a second hop through this process cost ~35% of the
  // throughput); HTTP clients drop the bearer token on the cross-origin redirect and keep Range. On local
  // disk, or with OPENPDS_DOWNLOAD_REDIRECT=false, it streams through the API server.
  const query = z.object({ drive_id: idField, file_id: idField, revision_id: idField.optional() });
  registry.routes.push({ path: '/v2/file/download', method: 'get', summary: 'Download a file (Range supported) with a bearer token: 302 to a presigned URL on S3, streamed otherwise', body: query, auth: true });
  router.get('/v2/file/download', async (req, res) => {
    const caller = res.locals.auth as AuthContext;
    const input = parseBody(query, req.query);
    const { file, revision } = await revisions.resolve(caller, input.drive_id, input.file_id, input.revision_id);
    if (deps.store.kind === 's3' && deps.config.downloadRedirect) {
      const url = await deps.store.downloadUrl(revision.storage_key, { expiresInSeconds: REDIRECT_URL_TTL_SECONDS, fileName: file.name, contentType: file.content_type });
      res.setHeader('Cache-Control', 'no-store');
      return res.redirect(302, url);
    }
    await serveObject(req, res, deps.store, {
      key: revision.storage_key,
      size: revision.size,
      // Content hashed in the background has no SHA-1 for a moment; the revision id names the same bytes.
      etag: revision.content_hash || `r-${revision.revision_id}`,
      fileName: file.name,
      contentType: file.content_type,
    });
  });
  return router;
}
