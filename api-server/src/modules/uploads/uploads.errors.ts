import { AppError, badRequest, conflict, notFound } from '../../shared/errors';

export const uploadErrors = {
  preHashMatched: () => conflict('PreHashMatched', 'content with this pre_hash may already be stored: send content_hash and proof_code'),
  sessionNotFound: (uploadId: string) => notFound('UploadId', `upload ${uploadId} does not exist for this file`),
  alreadyCompleted: (uploadId: string) => conflict('UploadCompleted', `upload ${uploadId} is already complete`),
  contentReplaced: () =>
    conflict('ContentReplaced', 'the file\'s bytes were replaced through its upload URL after it was completed (or are gone); they were discarded: upload the file again'),
  /**
   * file/get_upload_url on a multipart upload whose parts the store already assembled (a complete refused
   * for a taken name or no room kept it: upload-completion.ts keep). Part URLs would point at a store multipart
   * upload that ended with the assembly (S3 and the local store answer 404 NoSuchUpload to the PUT). 409
   * with a code of its own, like UploadCompleted and UploadInProgress for the session's other states: the
   * PDS reference names no error for this call, and a 200 with no URLs breaks clients that PUT each part
   * listed; 404 NotFound.UploadId or 410 would say the upload is lost, and make clients upload it all again.
   */
  assembled: (uploadId: string) =>
    conflict('UploadAssembled', `every part of upload ${uploadId} is in already (the parts were assembled by an earlier file/complete): call file/complete again, or delete the file to abandon the upload`),
  completing: (uploadId: string) => conflict('UploadInProgress', `upload ${uploadId} is being completed by another request`),
  partNumbers: (message: string) => badRequest('InvalidParameter.PartNumber', message),
  partSize: (message: string) => badRequest('InvalidParameter.PartSize', message),
  partsMissing: (missing: number[]) =>
    badRequest('InvalidParameter.PartMissing', `parts not uploaded yet: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', …' : ''}`, { missing_part_numbers: missing }),
  sizeMismatch: (declared: number, actual: number) => badRequest('InvalidParameter.Size', `declared size ${declared} but ${actual} bytes were uploaded`),
  hashMismatch: (declared: string, actual: string) =>
    badRequest('InvalidParameter.ContentHash', `declared content_hash ${declared} but the uploaded bytes hash to ${actual}; nothing was stored, upload again`),
  hashName: () => badRequest('InvalidParameter.ContentHashName', 'content_hash_name must be sha1'),
  tooLarge: (size: number, free: number) => new AppError('QuotaExhausted.Drive', 403, `file of ${size} bytes does not fit: ${free} bytes free (uploads in progress included)`),
  /**
   * file/complete could not link the content for the quota (an upload that declared no size reserved
   * nothing, or an admin lowered the quota since file/create). The upload is kept: see upload-completion.ts keep.
   */
  keptOverQuota: (driveId: string, size: number) =>
    new AppError(
      'QuotaExhausted.Drive',
      403,
      `drive ${driveId} has no room for these ${size} bytes; the upload is kept: free room (delete files, empty the trash) or have an admin raise the quota, then call file/complete again; an upload left as it is goes to the GC like any unfinished one`,
    ),
  tooManyUploads: (max: number) =>
    new AppError('LimitExceeded.OpenUploads', 429, `this drive has ${max} uploads in progress, the most it may have: complete or abandon some (the GC collects abandoned ones)`),
  noChallenge: (uploadId: string) =>
    badRequest('InvalidParameter.ProofVersion', `no proof v2 challenge is open for upload ${uploadId} (none was issued, or it was answered already): upload the parts and complete without a proof`),
  proofMismatch: () =>
    badRequest('InvalidParameter.ProofCode', 'the proof does not match the stored content; the challenge is used up: upload the parts and complete without a proof'),
  rapidUnavailable: () =>
    conflict('RapidUploadUnavailable', 'the stored content this challenge was issued for is gone: upload the parts and complete without a proof'),
  expired: (uploadId: string, maxAgeSeconds: number) =>
    new AppError('UploadExpired', 410, `upload ${uploadId} was created more than ${maxAgeSeconds} seconds ago and takes no new upload URLs: complete it with the parts already uploaded, or start again`),
};
