/** Multipart uploads of the S3 blob store: S3's own multipart API, with presigned UploadPart URLs (s3-presigner.ts). */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  UploadPartCommand,
  ListPartsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  InvalidPartError,
  MAX_PART_NUMBER,
  MIN_PART_NUMBER,
  UploadNotFoundError,
  type BlobStore,
  type ObjectInfo,
  type UploadedPart,
} from './blob-store';
import { hasS3Code, stripQuotes } from './s3-errors';
import type { S3Presigner } from './s3-presigner';

type MultipartMethods = Pick<
  BlobStore,
  'createMultipart' | 'partUploadUrl' | 'putPart' | 'listParts' | 'completeMultipart' | 'abortMultipart' | 'listMultipartUploads'
>;

export function createS3Multipart(deps: {
  client: S3Client;
  presigner: S3Presigner;
  Bucket: string;
  fullKey: (key: string) => string;
  prefix: string;
  headOrFail: (key: string) => Promise<ObjectInfo>;
}): MultipartMethods {
  const { client, Bucket, fullKey } = deps;
  // radosgw answers NoSuchKey instead of NoSuchUpload for an upload that was aborted.
  const uploadNotFound = (uploadId: string) => (error: unknown) => {
    throw hasS3Code(error, 'NoSuchUpload', 'NoSuchKey') ? new UploadNotFoundError(uploadId) : error;
  };

  async function uploadPart(key: string, UploadId: string, PartNumber: number, Body: Readable, size: number): Promise<UploadedPart> {
    const out = await client
      .send(new UploadPartCommand({ Bucket, Key: fullKey(key), UploadId, PartNumber, Body, ContentLength: size }))
      .catch(uploadNotFound(UploadId));
    return { partNumber: PartNumber, size, etag: stripQuotes(out.ETag) ?? '' };
  }

  return {
    async createMultipart(key) {
      const out = await client.send(new CreateMultipartUploadCommand({ Bucket, Key: fullKey(key) }));
      if (!out.UploadId) throw new Error('S3 CreateMultipartUpload returned no UploadId');
      return out.UploadId;
    },

    async partUploadUrl(key, UploadId, PartNumber, expiresIn, contentLength) {
      checkPartNumber(PartNumber);
      return deps.presigner.uploadPartUrl(fullKey(key), UploadId, PartNumber, expiresIn, contentLength);
    },

    async putPart(key, uploadId, partNumber, body, size) {
      checkPartNumber(partNumber);
      if (size !== undefined) return uploadPart(key, uploadId, partNumber, body, size);
      // UploadPart needs Content-Length up front; learn it by spooling to disk rather than to memory.
      const dir = await mkdtemp(path.join(tmpdir(), 'openpds-part-'));
      try {
        const file = path.join(dir, 'part');
        await pipeline(body, createWriteStream(file));
        return await uploadPart(key, uploadId, partNumber, createReadStream(file), (await stat(file)).size);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },

    async listParts(key, UploadId) {
      const parts: UploadedPart[] = [];
      // ListParts returns at most 1,000 parts a page. Not the SDK's paginator: it ignores IsTruncated and
      // radosgw always sends a NextPartNumberMarker (also "0" for no parts), so it would loop forever.
      let PartNumberMarker: string | undefined;
      do {
        const page = await client
          .send(new ListPartsCommand({ Bucket, Key: fullKey(key), UploadId, PartNumberMarker }))
          .catch(uploadNotFound(UploadId));
        for (const p of page.Parts ?? []) parts.push({ partNumber: p.PartNumber!, size: p.Size ?? 0, etag: stripQuotes(p.ETag) ?? '' });
        PartNumberMarker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
      } while (PartNumberMarker);
      return parts.sort((a, b) => a.partNumber - b.partNumber);
    },

    async completeMultipart(key, UploadId, parts) {
      if (parts.length === 0) throw new InvalidPartError('a multipart upload needs at least one part');
      const Parts = parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${stripQuotes(p.etag) ?? ''}"` }));
      try {
        await client.send(new CompleteMultipartUploadCommand({ Bucket, Key: fullKey(key), UploadId, MultipartUpload: { Parts } }));
      } catch (error) {
        if (hasS3Code(error, 'InvalidPart', 'InvalidPartOrder', 'EntityTooSmall'))
          throw new InvalidPartError((error as Error).message || (error as Error).name);
        // radosgw (16.x) answers an unknown upload id with 500 "This multipart completion is already in
        // progress" rather than NoSuchUpload; ask ListParts, which reports a missing upload properly.
        if (!hasS3Code(error, 'NoSuchUpload', 'NoSuchKey'))
          await client.send(new ListPartsCommand({ Bucket, Key: fullKey(key), UploadId, MaxParts: 1 })).catch(uploadNotFound(UploadId));
        uploadNotFound(UploadId)(error);
      }
      // radosgw answers with an empty ETag; HEAD has the real one and the size.
      return deps.headOrFail(key);
    },

    async abortMultipart(key, UploadId) {
      await client.send(new AbortMultipartUploadCommand({ Bucket, Key: fullKey(key), UploadId })).catch((error: unknown) => {
        if (!hasS3Code(error, 'NoSuchUpload', 'NoSuchKey')) throw error;
      });
    },

    async *listMultipartUploads() {
      let KeyMarker: string | undefined;
      let UploadIdMarker: string | undefined;
      do {
        const page = await client.send(new ListMultipartUploadsCommand({ Bucket, Prefix: deps.prefix || undefined, KeyMarker, UploadIdMarker }));
        for (const u of page.Uploads ?? [])
          yield { key: u.Key!.slice(deps.prefix.length), uploadId: u.UploadId!, initiated: u.Initiated };
        [KeyMarker, UploadIdMarker] = page.IsTruncated ? [page.NextKeyMarker, page.NextUploadIdMarker] : [undefined, undefined];
      } while (KeyMarker);
    },
  };
}

function checkPartNumber(partNumber: number): void {
  if (!Number.isInteger(partNumber) || partNumber < MIN_PART_NUMBER || partNumber > MAX_PART_NUMBER)
    throw new RangeError(`part number must be an integer from ${MIN_PART_NUMBER} to ${MAX_PART_NUMBER}`);
}
