/**
 * Presigned S3 URLs without the SDK's per-call machinery. getSignedUrl builds a command, clones the
 * client's middleware stack and runs it (endpoint rules, serializers, checksum and retry wiring) for every
 * URL: that showed up as most of file/get_download_url's 5–8 ms in a CPU profile, and costs ~12× our
 * signing (bench/presign.ts). The SDK still picks endpoint, scope and credentials (s3-signing.ts); when
 * it signs in a way we do not reproduce, getSignedUrl signs every URL, as before.
 */
import { GetObjectCommand, PutObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { servedContentType } from './serve-object';
import type { S3Signing } from './s3-signing';
import { encodeKeyPath, type SignableRequest } from './s3-sigv4';

export interface S3Presigner {
  /**
   * With `contentLength`, the URL signs the content-length header: S3 (and radosgw, tested) then refuses
   * any other length, or a chunked body, with 403 SignatureDoesNotMatch. The client cannot put more bytes
   * than the upload declared.
   */
  putObjectUrl(key: string, expiresIn: number, contentLength?: number): Promise<string>;
  /**
   * `contentDisposition` and `contentType` become S3's response-content-* overrides, which S3 writes into
   * its response as they are: a content type that is not a valid media type is signed as
   * application/octet-stream, and a disposition's characters outside printable ASCII as '_' (radosgw sent
   * a CR/LF from response-content-type as a header break, red team).
   */
  getObjectUrl(key: string, expiresIn: number, response: { contentDisposition?: string; contentType?: string }): Promise<string>;
  uploadPartUrl(key: string, uploadId: string, partNumber: number, expiresIn: number, contentLength?: number): Promise<string>;
}

/** One URL to presign, in both forms: ours, and getSignedUrl to fall back to. */
interface PresignSpec {
  method: 'GET' | 'PUT';
  key: string;
  /** The operation's own query parameters, named and valued as the SDK's serializer writes them. */
  query: Record<string, string>;
  /** Signed besides host (the SDK signs content-length when the command has ContentLength). */
  headers?: Record<string, string>;
  expiresIn: number;
  signWithSdk: (options: { expiresIn: number; signingDate: Date }) => Promise<string>;
}

export function createS3Presigner(deps: {
  client: S3Client;
  bucket: string;
  /** createS3SigningResolver(client, bucket), shared with the store's HEAD so the probe runs once. */
  signing: () => Promise<S3Signing | null>;
  now?: () => Date;
}): S3Presigner {
  const { client, bucket } = deps;
  const now = deps.now ?? (() => new Date());

  async function presign(spec: PresignSpec): Promise<string> {
    const signing = await deps.signing();
    if (!signing) return spec.signWithSdk({ expiresIn: spec.expiresIn, signingDate: now() });
    const { endpoint, signer } = signing;
    const request: SignableRequest = { method: spec.method, host: endpoint.host, path: endpoint.basePath + encodeKeyPath(spec.key), query: spec.query, signedHeaders: spec.headers };
    const query = signer.presignQuery(request, await signing.credentials(), spec.expiresIn, now());
    return `${endpoint.origin}${request.path}?${query}`;
  }

  return {
    putObjectUrl: (key, expiresIn, contentLength) =>
      presign({
        method: 'PUT',
        key,
        expiresIn,
        query: { 'x-id': 'PutObject' },
        headers: lengthHeader(contentLength),
        signWithSdk: (options) => getSignedUrl(client, new PutObjectCommand({ Bucket: bucket, Key: key, ContentLength: contentLength }), options),
      }),

    getObjectUrl: (key, expiresIn, requested) => {
      const response = headerSafe(requested);
      return presign({
        method: 'GET',
        key,
        expiresIn,
        query: {
          ...(response.contentDisposition !== undefined && { 'response-content-disposition': response.contentDisposition }),
          ...(response.contentType !== undefined && { 'response-content-type': response.contentType }),
          'x-id': 'GetObject',
        },
        signWithSdk: (options) => {
          const { contentDisposition: ResponseContentDisposition, contentType: ResponseContentType } = response;
          return getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key, ResponseContentDisposition, ResponseContentType }), options);
        },
      });
    },

    uploadPartUrl: (key, uploadId, partNumber, expiresIn, contentLength) =>
      presign({
        method: 'PUT',
        key,
        expiresIn,
        query: { partNumber: String(partNumber), uploadId, 'x-id': 'UploadPart' },
        headers: lengthHeader(contentLength),
        signWithSdk: (options) =>
          getSignedUrl(client, new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, ContentLength: contentLength }), options),
      }),
  };
}

function headerSafe(response: { contentDisposition?: string; contentType?: string }): { contentDisposition?: string; contentType?: string } {
  return {
    ...(response.contentDisposition !== undefined && { contentDisposition: response.contentDisposition.replace(/[^\x20-\x7e]/g, '_') }),
    ...(response.contentType !== undefined && { contentType: servedContentType(response.contentType) }),
  };
}

function lengthHeader(contentLength: number | undefined): Record<string, string> | undefined {
  return contentLength === undefined ? undefined : { 'content-length': String(contentLength) };
}
