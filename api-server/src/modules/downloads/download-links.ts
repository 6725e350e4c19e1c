/**
 * The signed download links file/get_download_url hands out on local disk, served by this process:
 *   GET /v2/file/download_link?drive_id=&file_id=&revision_id=&key=&name=&type=&etag=&expires=&signature=
 * The signature is the authorization (the access checks were made when the link was issued), but unlike the
 * store's own signed GET (local-blob.routes.ts, /v2/blob/object, which knows only a key) the link names the
 * file it was issued for, so each request checks that file is still there to be read: a drive disabled
 * since answers 403 Forbidden.DriveDisabled, as every call on it does, and a file trashed or deleted (or the
 * revision deleted) since answers 404 NotFound.File. One statement of primary-key lookups per request
 * (download-links.repository.ts), after the signature and before the store is touched.
 *
 * The link also names, signed, the user it was issued to (user_id), and answers only while that user could
 * still make the call that issued it: disabled since, 403 Forbidden.UserDisabled (and works again once
 * enabled); deleted, demoted out of the admin power that reached the drive, or otherwise no longer allowed
 * on it (drive-access.sql.ts, the rule bearer calls apply), 403 Forbidden.Drive. Checked first, as a bearer
 * call checks its caller first, in the same statement.
 *
 * After trash a link stops working (Google Drive-like), although S3 presigned URLs, and PDS's which are
 * OSS's, keep serving until they expire: that is a store that cannot revoke, not a choice anyone made for
 * users. Trash is how a user takes a file away; a link they shared should not keep handing it out when this
 * server can stop it, and the bearer-token calls (file/get, file/download) already answer 404 for a
 * trashed file. It answers 404 rather than 410 because trash is reversible: restored before the link
 * expires, the same link works again. On S3 the link is the store's presigned URL and none of this applies
 * (see downloads.routes.ts).
 *
 * The link serves the key it was signed for, not the revision's current one: those bytes are kept until
 * the longest link has expired (deferred-deletes.repository.ts), also after the hash job moved the revision
 * to a sealed or deduplicated copy, so the ETag signed in keeps describing what is served.
 */
import type { Request, Response } from 'express';
import type { Deps } from '../../shared/deps';
import { forbidden, notFound } from '../../shared/errors';
import { serveObject } from '../../storage/serve-object';
import { driveErrors } from '../drives/drives.errors';
import { fileErrors } from '../files/files.errors';
import { createDownloadLinksRepository } from './download-links.repository';
import { downloadLinkErrors } from './downloads.errors';

export const DOWNLOAD_LINK_PATH = '/v2/file/download_link';

export interface DownloadLinkTarget {
  driveId: string;
  fileId: string;
  revisionId: string;
  key: string;
  etag: string;
  fileName?: string;
  contentType?: string;
}

export function createDownloadLinks(deps: Pick<Deps, 'db' | 'store' | 'urlSigner'>) {
  const repo = createDownloadLinksRepository();

  return {
    /**
     * A link to `target` that works for `expiresInSeconds` while its drive is enabled, its file live, and
     * `issuerId` (the caller who asked for it) enabled and still allowed on the drive.
     */
    issue(target: DownloadLinkTarget, issuerId: string, expiresInSeconds: number): string {
      const params: Record<string, string> = { drive_id: target.driveId, file_id: target.fileId, revision_id: target.revisionId, key: target.key, etag: target.etag, user_id: issuerId };
      if (target.fileName !== undefined) params.name = target.fileName;
      if (target.contentType !== undefined) params.type = target.contentType;
      return deps.urlSigner.sign('GET', DOWNLOAD_LINK_PATH, params, expiresInSeconds);
    },

    /** GET and HEAD (Express routes HEAD to GET handlers; the link was signed for GET either way). */
    async serve(req: Request, res: Response): Promise<void> {
      const query = req.query as Record<string, unknown>;
      const verdict = deps.urlSigner.verify('GET', DOWNLOAD_LINK_PATH, query);
      if (verdict === 'expired') throw forbidden('UrlExpired', 'this URL has expired; ask for a new one');
      if (verdict === 'invalid') throw forbidden('InvalidSignature', 'the URL signature does not match');
      // Signed parameters are plain strings (verify() refuses a repeated or bracketed one), all present:
      // only issue() signs for this path.
      const q = query as Record<string, string>;
      // A link without user_id was issued before links carried one: served as then (drive and file checks
      // only) until it expires, so an upgrade breaks no download in flight. Its signature still covers every
      // parameter, so a user_id cannot be stripped from a newer link; once the longest link issued before the
      // upgrade has expired (download-link-lifetime.ts) no valid link lacks one.
      const issuerId = q.user_id ?? null;
      const now = await repo.target(deps.db, { driveId: q.drive_id!, fileId: q.file_id!, revisionId: q.revision_id!, issuerId });
      if (now && issuerId !== null) {
        if (now.issuer_status === 'disabled') throw downloadLinkErrors.issuerDisabled();
        if (now.issuer_status !== 'enabled' || !now.issuer_may_use) throw downloadLinkErrors.issuerLostDrive(q.drive_id!);
      }
      if (now && now.drive_status !== 'enabled') throw driveErrors.disabled(q.drive_id!);
      if (!now || now.trashed !== false || !now.revision_exists) throw fileErrors.notFound(q.file_id!);
      // Looked up first so that a lost object is a 404, never a 304 or 412 vouching for bytes the store no longer has.
      const info = await deps.store.head(q.key!);
      if (!info) throw notFound('File', 'the file does not exist');
      await serveObject(req, res, deps.store, { key: q.key!, size: info.size, etag: q.etag || info.etag || '', contentType: q.type, fileName: q.name });
    },
  };
}
