import { Router, type Request } from 'express';
import { z } from 'zod';
import { displayTextField } from '../../shared/display-text';
import type { AuthContext } from '../auth/auth.types';
import type { Deps } from '../../shared/deps';
import { declaredStatusCheck, defineRpc, idField, parseBody, type RpcRegistry } from '../../shared/rpc';
import { AppError, notFound } from '../../shared/errors';
import { serveObject } from '../../storage/serve-object';
import type { RevisionsService } from '../revisions/revisions.service';
import { mediaTypeField } from '../files/media-type.field';
import { createBlobSealing } from '../uploads/blob-sealing';
import { uploadErrors } from '../uploads/uploads.errors';
import { isDiscardedKey } from '../uploads/uploads.repository';
import { revisionEtag } from './download-etag';
import { MAX_EXPIRE_SEC } from './download-link-lifetime';
import { createDownloadLinks, DOWNLOAD_LINK_PATH } from './download-links';
import { downloadUrlResponseSchema } from './downloads.schemas';

/** Long enough to start a download the redirect leads to; a resumed download asks this API again. */
const REDIRECT_URL_TTL_SECONDS = 300;

export function createDownloadsRouter(registry: RpcRegistry, deps: Pick<Deps, 'db' | 'store' | 'config' | 'clock' | 'newId' | 'logger' | 'urlSigner'>, revisions: RevisionsService): Router {
  const router = Router();
  const sealing = createBlobSealing(deps);
  const links = createDownloadLinks(deps);

  /**
   * resolve() for a URL that names the object: one that must keep its bytes until it expires. Content still
   * at a one-part upload's key (not hashed yet) is sealed first (blob-sealing.ts), then looked up again.
   */
  async function resolveForLink(caller: AuthContext, driveId: string, fileId: string, revisionId?: string) {
    const found = await resolveKept(caller, driveId, fileId, revisionId);
    if (!found.revision.client_writable) return found;
    await sealing.seal({ sha256: found.revision.blob_sha256, storage_key: found.revision.storage_key, size: found.revision.size });
    const sealed = await resolveKept(caller, driveId, fileId, found.revision.revision_id);
    // No link ever names a key its upload URL can still write: it would serve whatever is PUT there next.
    if (sealed.revision.client_writable) throw new AppError('ServiceUnavailable.Sealing', 503, 'the file\'s content is still being sealed; try again', { headers: { 'retry-after': '1' } });
    return sealed;
  }

  /** resolve(), refusing content discarded after file/complete (uploads.repository.ts discardedKey). */
  async function resolveKept(caller: AuthContext, driveId: string, fileId: string, revisionId?: string) {
    const found = await revisions.resolve(caller, driveId, fileId, revisionId);
    if (isDiscardedKey(found.revision.storage_key)) throw uploadErrors.contentReplaced();
    return found;
  }

  defineRpc(router, registry, {
    path: '/v2/file/get_download_url',
    summary: 'A signed, expiring URL for the file (or one revision), with Range support',
    errors: [409], // ContentReplaced (resolveKept, blob-sealing.ts)
    body: z.object({
      drive_id: idField,
      file_id: idField,
      revision_id: idField.optional(),
      // Both end up in response headers (Content-Disposition, Content-Type): no control characters, and a
      // content type that is a media type.
      file_name: displayTextField(1, 1024).optional(),
      expire_sec: z.number().int().min(1).max(MAX_EXPIRE_SEC).optional(),
      response_content_type: mediaTypeField.optional(),
    }),
    response: downloadUrlResponseSchema,
    handler: async (input, { auth: caller }) => {
      const { file, revision } = await resolveForLink(caller, input.drive_id, input.file_id, input.revision_id);
      const ttl = input.expire_sec ?? deps.config.downloadUrlTtl;
      const fileName = input.file_name ?? file.name;
      const contentType = input.response_content_type ?? file.content_type;
      // Local disk: a link this process serves, which answers for the file's state at each request
      // (download-links.ts). S3: the store's presigned URL, which nothing can revoke before it expires.
      const url =
        deps.store.kind === 'local'
          ? links.issue({ driveId: file.drive_id, fileId: file.file_id, revisionId: revision.revision_id, key: revision.storage_key, etag: revisionEtag(revision), fileName, contentType }, caller.userId, ttl)
          : await deps.store.downloadUrl(revision.storage_key, { expiresInSeconds: ttl, fileName, contentType, etag: revisionEtag(revision) });
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
  // throughput); HTTP clients drop the bearer token on the cross-origin redirect and keep Range and the
  // conditional headers. On local disk, or with OPENPDS_DOWNLOAD_REDIRECT=false, it streams through the
  // API server. HEAD is answered here on S3 too: a presigned URL is signed for GET, and S3 refuses a HEAD.
  //
  // One validator per content, whichever way the bytes come: the ETag is the one the signed URL from
  // get_download_url carries. Local disk: the revision's (download-etag.ts), signed into that URL. S3:
  // the object's own, which S3 puts on every presigned response and no request can change.
  const query = z.object({ drive_id: idField, file_id: idField, revision_id: idField.optional() });
  const download = { path: '/v2/file/download', method: 'get' as const, summary: 'Download a file (Range, If-Range, If-None-Match, If-Match, HEAD) with a bearer token: 302 to a presigned URL on S3, streamed otherwise', body: query, auth: true, errors: [409] }; // 409 ContentReplaced (resolveKept)
  registry.routes.push(download);
  router.get(download.path, declaredStatusCheck(registry, download), async (req, res) => {
    const caller = res.locals.auth as AuthContext;
    const input = parseBody(query, req.query);
    const s3 = deps.store.kind === 's3';
    const redirect = s3 && deps.config.downloadRedirect && req.method !== 'HEAD';
    // Sealed first on every path, not only for the redirect: a one-part upload's key may have been written
    // again through its upload URL since file/complete (S3 takes a presigned PUT until it expires), and
    // streamed or HEAD-answered from there it served the new bytes cut to the completed size. A sealed key
    // is written once and never again, so the HEAD below and the GET behind serveObject see the same bytes.
    const { file, revision } = await resolveForLink(caller, input.drive_id, input.file_id, input.revision_id);
    if (redirect && !(await staleIfRange(req, revision.storage_key))) {
      const url = await deps.store.downloadUrl(revision.storage_key, { expiresInSeconds: REDIRECT_URL_TTL_SECONDS, fileName: file.name, contentType: file.content_type });
      res.setHeader('Cache-Control', 'no-store');
      return res.redirect(302, url);
    }
    // Looked up first (a stat on local disk) so that a lost object is a 404 here as on the signed URL,
    // never a 304 or 412 that would vouch for bytes the store no longer has.
    const info = await deps.store.head(revision.storage_key);
    if (!info) throw notFound('File', 'the file does not exist');
    // The BlobStore contract lets a HEAD come without an ETag; the revision's is then the best there is.
    const etag = s3 ? (info.etag ?? revisionEtag(revision)) : revisionEtag(revision);
    await serveObject(req, res, deps.store, { key: revision.storage_key, size: revision.size, etag, fileName: file.name, contentType: file.content_type });
  });

  // get_download_url's links on local disk. Public: the signature is checked by the handler.
  const downloadLink = {
    path: DOWNLOAD_LINK_PATH,
    method: 'get' as const,
    summary: 'A link from get_download_url on local disk (Range, If-Range, If-None-Match, If-Match, HEAD): 403 Forbidden.UserDisabled or Forbidden.Drive once the user it was issued to is disabled or can no longer read the drive, 403 Forbidden.DriveDisabled once the drive is disabled, 404 once the file is trashed or deleted',
    body: z.object({ drive_id: z.string(), file_id: z.string(), revision_id: z.string(), key: z.string(), etag: z.string(), user_id: z.string().optional(), name: z.string().optional(), type: z.string().optional(), expires: z.string(), signature: z.string() }),
    auth: false,
  };
  registry.routes.push(downloadLink);
  router.get(DOWNLOAD_LINK_PATH, declaredStatusCheck(registry, downloadLink), (req, res) => links.serve(req, res));

  /**
   * radosgw ignores If-Range (see download-etags.int.test.ts): after a redirect, a client resuming a file
   * whose content has changed since would get a 206 of the new bytes to glue onto the old ones. Such a
   * resume is answered here instead, with the whole file; one whose validator holds still goes to S3.
   * The HEAD this costs is paid only by requests with both Range and If-Range.
   */
  async function staleIfRange(req: Request, key: string): Promise<boolean> {
    const ifRange = req.get('if-range')?.trim();
    if (ifRange === undefined || req.get('range') === undefined) return false;
    const etag = (await deps.store.head(key))?.etag;
    return etag === undefined || ifRange !== `"${etag}"`;
  }
  return router;
}
