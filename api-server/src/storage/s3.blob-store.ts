/**
 * BlobStore on any S3-compatible service (AWS, Ceph radosgw, MinIO). Keys live under `prefix` in one
 * bucket. Parts and downloads go straight between the client and S3 through presigned URLs; only
 * tests, proxies and unknown-length puts stream through this process, and none of them buffer a whole
 * object. Loaded only when OPENPDS_STORAGE=s3 (see create-blob-store.ts).
 */
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Readable } from 'node:stream';
import { BlobNotFoundError, MAX_PART_SIZE, type BlobStore, type ObjectInfo } from './blob-store';
import { contentDisposition } from './content-disposition';
import { createS3Multipart } from './s3-multipart';
import { hasS3Code, stripQuotes } from './s3-errors';
import { createS3Agents } from './s3-agents';
import { createS3Head } from './s3-head';
import { createS3Presigner } from './s3-presigner';
import { createS3SigningResolver } from './s3-signing';
import { S3_TIMEOUTS, type S3Timeouts } from './s3-timeouts';

export interface S3BlobStoreOptions {
  /** Empty or undefined: AWS's endpoint for the region. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Key prefix inside the bucket; a trailing '/' is added when missing. */
  prefix: string;
  /** Path-style URLs (bucket in the path), needed by radosgw and MinIO. */
  forcePathStyle: boolean;
  /** Undefined: the SDK's default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Defaults: S3_TIMEOUTS. Tests pass short ones. */
  timeouts?: S3Timeouts;
  /** Connections per origin; default S3_MAX_SOCKETS. Tests pass a small pool. */
  maxSockets?: number;
}

/** Part size for puts of unknown length; memory use is at most UPLOAD_PART_SIZE × UPLOAD_QUEUE_SIZE. */
const UPLOAD_PART_SIZE = 8 * 1024 ** 2;
const UPLOAD_QUEUE_SIZE = 4;

export function createS3BlobStore(options: S3BlobStoreOptions): BlobStore {
  const timeouts = options.timeouts ?? S3_TIMEOUTS;
  const agents = createS3Agents({ connectMs: timeouts.connectMs, maxSockets: options.maxSockets });
  const client = new S3Client({
    // requestTimeout stays unset: in @smithy/node-http-handler 4 it is the time until the answer's headers,
    // which for a PutObject includes sending the whole body, so any value would cap a large upload.
    // connectionTimeout stays unset too: it would count the wait for a free socket (see s3-agents.ts); our
    // agents time the connect itself. socketTimeout starts once a socket is assigned and connected.
    requestHandler: new NodeHttpHandler({ httpAgent: agents.http, httpsAgent: agents.https, socketTimeout: timeouts.idleMs }),
    endpoint: options.endpoint || undefined,
    region: options.region,
    forcePathStyle: options.forcePathStyle,
    credentials: options.credentials,
    // The SDK's default CRC32 trailers (aws-chunked bodies, checksum query parameters in presigned
    // URLs) are not understood by radosgw and other S3-compatible stores; send checksums only where
    // an operation requires one.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const Bucket = options.bucket;
  const prefix = options.prefix && !options.prefix.endsWith('/') ? `${options.prefix}/` : options.prefix;
  const fullKey = (key: string) => prefix + key;
  // Presigned URLs and HEAD are signed here, not through the SDK's per-call middleware stack, which cost
  // several times more CPU (see s3-presigner.ts, s3-head.ts). The SDK still picks endpoint and credentials.
  const signing = createS3SigningResolver(client, Bucket);
  const presigner = createS3Presigner({ client, bucket: Bucket, signing });
  const headObject = createS3Head({ signing, sdkHead: headWithSdk, timeouts, maxSockets: options.maxSockets });

  /** The SDK's HEAD, for endpoints whose signing we do not reproduce (see s3-signing.ts). */
  async function headWithSdk(Key: string): Promise<ObjectInfo | null> {
    try {
      const out = await client.send(new HeadObjectCommand({ Bucket, Key }));
      return { size: out.ContentLength ?? 0, etag: stripQuotes(out.ETag) };
    } catch (error) {
      if (hasS3Code(error, 'NotFound', 'NoSuchKey')) return null;
      throw error;
    }
  }

  function head(key: string): Promise<ObjectInfo | null> {
    return headObject(fullKey(key));
  }

  async function headOrFail(key: string): Promise<ObjectInfo> {
    const info = await head(key);
    if (!info) throw new BlobNotFoundError(key);
    return info;
  }

  return {
    kind: 's3',

    async put(key, body, opts) {
      const params = { Bucket, Key: fullKey(key), ContentType: opts?.contentType };
      if (opts?.size !== undefined && opts.size <= MAX_PART_SIZE) {
        // Known length: one streamed PutObject, no buffering at all.
        const out = await client.send(new PutObjectCommand({ ...params, Body: body, ContentLength: opts.size }));
        return { size: opts.size, etag: stripQuotes(out.ETag) };
      }
      // Unknown length: lib-storage cuts the stream into parts (a multipart upload when it is large).
      const upload = new Upload({ client, params: { ...params, Body: body }, partSize: UPLOAD_PART_SIZE, queueSize: UPLOAD_QUEUE_SIZE });
      await upload.done();
      // radosgw answers CompleteMultipartUpload with an empty ETag; HEAD has the real one and the size.
      return headOrFail(key);
    },

    async get(key, range) {
      if (range && (range.start < 0 || range.end < range.start))
        throw new RangeError(`invalid range ${range.start}-${range.end}`); // S3 would ignore it and send everything
      try {
        const out = await client.send(
          new GetObjectCommand({ Bucket, Key: fullKey(key), Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
        );
        return out.Body as Readable;
      } catch (error) {
        if (hasS3Code(error, 'NoSuchKey', 'NotFound')) throw new BlobNotFoundError(key);
        if (hasS3Code(error, 'InvalidRange')) throw new RangeError(`range ${range?.start}-${range?.end} not satisfiable`);
        throw error;
      }
    },

    head,

    async copy(from, to) {
      // CopySource is "bucket/key", URL-encoded; '/' between key segments stays as it is.
      const CopySource = `${Bucket}/${fullKey(from).split('/').map(encodeURIComponent).join('/')}`;
      try {
        await client.send(new CopyObjectCommand({ Bucket, Key: fullKey(to), CopySource }));
      } catch (error) {
        if (hasS3Code(error, 'NoSuchKey', 'NotFound')) throw new BlobNotFoundError(from);
        throw error;
      }
      return headOrFail(to);
    },

    async putIfAbsent(key, body) {
      try {
        await client.send(new PutObjectCommand({ Bucket, Key: fullKey(key), Body: body, ContentLength: body.length, IfNoneMatch: '*' }));
        return true;
      } catch (error) {
        // 412: the key exists. 409 ConditionalRequestConflict: AWS saw a concurrent conditional write
        // win; either way someone else's object is (or is about to be) there, which the caller reads.
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (hasS3Code(error, 'PreconditionFailed', 'ConditionalRequestConflict') || status === 412) return false;
        throw error;
      }
    },

    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: fullKey(key) }));
    },

    async *list(listPrefix) {
      for await (const page of paginateListObjectsV2({ client }, { Bucket, Prefix: fullKey(listPrefix) }))
        for (const object of page.Contents ?? []) yield { key: object.Key!.slice(prefix.length), size: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date() };
    },

    ...createS3Multipart({ client, presigner, Bucket, fullKey, prefix, headOrFail }),

    async objectUploadUrl(key, expiresIn, contentLength) {
      return presigner.putObjectUrl(fullKey(key), expiresIn, contentLength);
    },

    async downloadUrl(key, opts) {
      return presigner.getObjectUrl(fullKey(key), opts.expiresInSeconds, {
        contentDisposition: contentDisposition(opts.disposition ?? 'attachment', opts.fileName),
        contentType: opts.contentType,
      });
    },

    async ping() {
      await client.send(new HeadBucketCommand({ Bucket }));
    },
  };
}
