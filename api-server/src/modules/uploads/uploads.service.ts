/**
 * Multipart and rapid upload. Bytes go from the client straight to the store (presigned S3 part URLs, or
 * signed URLs on this server for local disk); the database only tracks sessions. Completion assembles the
 * parts and in one statement (repository.linkUpload) links the blob, adds the revision (the trigger counts
 * the reference and enforces the quota) and makes the file available. Until that commits nothing is
 * visible; on any failure nothing is.
 *
 * Hashing (SHA-1 for PDS clients, SHA-256 as the content address) needs the bytes read back once. When the
 * client declared a content_hash, complete does it before answering, so a mismatch creates nothing. When
 * it did not (and OPENPDS_UPLOAD_HASHING=background, the default), the content is linked under a
 * placeholder address and the `blob.hash` job hashes and deduplicates it moments later (blob-hashing.ts):
 * the upload answers once its parts are assembled and size-checked.
 *
 * The service is wired here from its parts, which share one context object (upload-context.ts):
 * upload-sessions.ts (file/create, upload URLs, part listing; rapid-upload.ts for linking stored content)
 * and upload-completion.ts (file/complete). Split by phase, as the style guide asks of a file
 * past ~400 lines; the object returned here is the service's whole public surface.
 */
import type { DrivesService } from '../drives/drives.service';
import type { FilesService } from '../files/files.service';
import { createUploadCompletion } from './upload-completion';
import { createUploadsContext, type UploadsDeps } from './upload-context';
import { createUploadSessions } from './upload-sessions';
import type { BackgroundHashing } from './uploads.types';

export type { BackgroundHashing, CreateFileInput, CreateFileResult } from './uploads.types';

export function createUploadsService(deps: UploadsDeps, drives: DrivesService, files: FilesService, background: BackgroundHashing) {
  const ctx = createUploadsContext(deps, drives, files, background);
  const sessions = createUploadSessions(ctx);
  const completion = createUploadCompletion(ctx, sessions);
  return {
    create: sessions.create,
    getUploadUrl: sessions.getUploadUrl,
    listUploadedParts: sessions.listUploadedParts,
    isObjectUploadOpen: sessions.isObjectUploadOpen,
    whileObjectUploadOpen: sessions.whileObjectUploadOpen,
    openSession: sessions.openSession,
    storeParts: sessions.storeParts,
    complete: completion.complete,
    claim: completion.claim,
    completeWithProof: completion.completeWithProof,
    assemble: completion.assemble,
    discard: completion.discard,
  };
}
export type UploadsService = ReturnType<typeof createUploadsService>;
