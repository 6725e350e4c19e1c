/**
 * Presigned S3 URLs without the SDK's per-call machinery. getSignedUrl builds a command, clones the
 * client's middleware stack and runs it (endpoint rules, serializers, checksum and retry wiring) for every
 * URL: that showed up as most of file/get_download_url's 5–8 ms in a CPU profile, where the signature
 * itself is a few microseconds (bench/presign.ts). Here the SDK still decides everything but the signature:
 * - The endpoint (origin, path-style or virtual-hosted, custom endpoints, FIPS, dual-stack) and the
 *   credential scope are read off one getSignedUrl at first use (the probe), so they are exactly what the
 *   SDK produces for this client and bucket. A probe we do not recognise (SigV4a, S3 Express session
 *   auth, parameters we do not sign) keeps getSignedUrl for every URL, as before.
 * - Credentials come from the client's own provider, which the SDK memoizes and refreshes: static keys
 *   and the default chain (environment, IRSA web identity, instance roles) both work.
 */
import { GetObjectCommand, PutObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createSigV4Signer, encodeKeyPath, type SignableRequest, type SigningScope, type SigV4Signer } from './s3-sigv4';

export interface S3Presigner {
  putObjectUrl(key: string, expiresIn: number): Promise<string>;
  /** `contentDisposition` and `contentType` become S3's response-content-* overrides. */
  getObjectUrl(key: string, expiresIn: number, response: { contentDisposition?: string; contentType?: string }): Promise<string>;
  uploadPartUrl(key: string, uploadId: string, partNumber: number, expiresIn: number): Promise<string>;
}

/** Where the SDK sends this bucket's requests and how it scopes their signatures. */
export interface S3Endpoint {
  /** scheme://authority, as the SDK writes it (the authority is also the signed Host header). */
  origin: string;
  host: string;
  /** Encoded path up to the key, ending in '/': "/bucket/" path-style, "/" virtual-hosted. */
  basePath: string;
  scope: SigningScope;
}

/** One URL to presign, in both forms: ours, and getSignedUrl to fall back to. */
interface PresignSpec {
  method: 'GET' | 'PUT';
  key: string;
  /** The operation's own query parameters, named and valued as the SDK's serializer writes them. */
  query: Record<string, string>;
  expiresIn: number;
  signWithSdk: (options: { expiresIn: number; signingDate: Date }) => Promise<string>;
}

const PROBE_KEY = 'openpds-presign-probe';
/** Everything a plain SigV4 presigned GetObject from the SDK carries; anything else means "not ours". */
const PROBE_PARAMS = new Set([
  'X-Amz-Algorithm',
  'X-Amz-Content-Sha256',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-Security-Token',
  'X-Amz-Signature',
  'X-Amz-SignedHeaders',
  'x-id',
]);

export function createS3Presigner(deps: { client: S3Client; bucket: string; now?: () => Date }): S3Presigner {
  const { client, bucket } = deps;
  const now = deps.now ?? (() => new Date());
  let signing: Promise<{ endpoint: S3Endpoint; signer: SigV4Signer } | null> | undefined;

  /** Probes once; a failed probe (no credentials yet, say) is retried by the next call, not cached. */
  function resolveSigning() {
    signing ??= probeEndpoint(client, bucket).then(
      (endpoint) => (endpoint ? { endpoint, signer: createSigV4Signer(endpoint.scope) } : null),
      (error: unknown) => {
        signing = undefined;
        throw error;
      },
    );
    return signing;
  }

  async function presign(spec: PresignSpec): Promise<string> {
    const resolved = await resolveSigning();
    if (!resolved) return spec.signWithSdk({ expiresIn: spec.expiresIn, signingDate: now() });
    const { endpoint, signer } = resolved;
    const request: SignableRequest = { method: spec.method, host: endpoint.host, path: endpoint.basePath + encodeKeyPath(spec.key), query: spec.query };
    const query = signer.presignQuery(request, await client.config.credentials(), spec.expiresIn, now());
    return `${endpoint.origin}${request.path}?${query}`;
  }

  return {
    putObjectUrl: (key, expiresIn) =>
      presign({
        method: 'PUT',
        key,
        expiresIn,
        query: { 'x-id': 'PutObject' },
        signWithSdk: (options) => getSignedUrl(client, new PutObjectCommand({ Bucket: bucket, Key: key }), options),
      }),

    getObjectUrl: (key, expiresIn, response) =>
      presign({
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
      }),

    uploadPartUrl: (key, uploadId, partNumber, expiresIn) =>
      presign({
        method: 'PUT',
        key,
        expiresIn,
        query: { partNumber: String(partNumber), uploadId, 'x-id': 'UploadPart' },
        signWithSdk: (options) =>
          getSignedUrl(client, new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber }), options),
      }),
  };
}

/** One getSignedUrl for a fixed key, read back as this client's endpoint and scope (null: not plain SigV4). */
async function probeEndpoint(client: S3Client, bucket: string): Promise<S3Endpoint | null> {
  return parseProbeUrl(await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: PROBE_KEY }), { expiresIn: 60 }));
}

export function parseProbeUrl(url: string): S3Endpoint | null {
  // Split by hand rather than with URL: URL drops a default port the SDK may have written (and signed).
  const match = /^(https?:\/\/([^/?#]+))(\/[^?#]*)\?([^#]*)$/.exec(url);
  if (!match || !match[3]!.endsWith(`/${PROBE_KEY}`)) return null;
  const params = new URLSearchParams(match[4]);
  if ([...params.keys()].some((name) => !PROBE_PARAMS.has(name))) return null;
  if (params.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' || params.get('X-Amz-SignedHeaders') !== 'host') return null;
  // ACCESS_KEY/DATE/REGION/SERVICE/aws4_request
  const credential = (params.get('X-Amz-Credential') ?? '').split('/');
  if (credential.length < 5 || credential.at(-1) !== 'aws4_request') return null;
  return {
    origin: match[1]!,
    host: match[2]!,
    basePath: match[3]!.slice(0, -PROBE_KEY.length),
    scope: { region: credential.at(-3)!, service: credential.at(-2)! },
  };
}
