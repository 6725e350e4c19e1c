/**
 * AWS Signature Version 4 for S3, in the two forms the S3 blob store needs: query-string presigning (URLs
 * handed to clients) and the Authorization header (the store's own HEAD). Pure apart from node:crypto;
 * byte-compatible with the SDK's signer (s3-presigner.test.ts compares whole URLs).
 * Spec: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html and
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 */
import { createHash, createHmac } from 'node:crypto';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The credential scope's region and service ("s3"), as the SDK's endpoint rules chose them. */
export interface SigningScope {
  region: string;
  service: string;
}

/** One request to sign: `path` already encoded (encodeKeyPath), `query` not encoded. */
export interface SignableRequest {
  method: 'GET' | 'PUT' | 'HEAD';
  /** The Host header exactly as the URL carries it: host[:port]. */
  host: string;
  path: string;
  query?: Record<string, string>;
  /**
   * Headers besides host that a presigned URL signs (lower-case names), e.g. content-length: S3 then
   * refuses (403 SignatureDoesNotMatch) a request that sends any other value or none (radosgw too).
   */
  signedHeaders?: Record<string, string>;
}

export interface SigV4Signer {
  /** The whole query string of a presigned URL (the request's own parameters, X-Amz-*, the signature). */
  presignQuery(request: SignableRequest, credentials: S3Credentials, expiresIn: number, date: Date): string;
  /** Headers to send with the request (x-amz-date, x-amz-content-sha256, maybe the token, Authorization). */
  signHeaders(request: SignableRequest, credentials: S3Credentials, date: Date): Record<string, string>;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** S3 refuses presigned URLs valid for longer than seven days; the SDK throws, so do we. */
export const MAX_PRESIGN_EXPIRY_SECONDS = 604_800;
/** Presigned URLs never sign the body: the client sends bytes we have not seen. */
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** SHA-256 of nothing: the payload hash of a bodiless request (HEAD), as the SDK sends it. */
const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** RFC 3986 percent-encoding as SigV4 wants it: only A–Z a–z 0–9 - _ . ~ stay literal. */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * An object key as an S3 URL path: every segment encoded, '/' kept. S3's canonical URI is the path as
 * sent (encoded once, never normalised), so "a//b" and "./x" stay what they are.
 */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeRfc3986).join('/');
}

export function createSigV4Signer(scope: SigningScope): SigV4Signer {
  const signingKey = createSigningKeyCache(scope);

  function credentialScope(shortDate: string): string {
    return `${shortDate}/${scope.region}/${scope.service}/aws4_request`;
  }

  function signature(canonicalRequest: string, amzDate: string, credentials: S3Credentials): string {
    const shortDate = amzDate.slice(0, 8);
    const stringToSign = `${ALGORITHM}\n${amzDate}\n${credentialScope(shortDate)}\n${sha256Hex(canonicalRequest)}`;
    return createHmac('sha256', signingKey(credentials, shortDate)).update(stringToSign).digest('hex');
  }

  return {
    presignQuery(request, credentials, expiresIn, date) {
      if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_PRESIGN_EXPIRY_SECONDS)
        throw new RangeError(`presigned URLs expire after 1 to ${MAX_PRESIGN_EXPIRY_SECONDS} seconds, got ${expiresIn}`);
      const amzDate = toAmzDate(date);
      const params: Record<string, string> = {
        ...request.query,
        'X-Amz-Algorithm': ALGORITHM,
        // The SDK signs this parameter too; S3 ignores it for presigned URLs. Kept for identical URLs.
        'X-Amz-Content-Sha256': UNSIGNED_PAYLOAD,
        'X-Amz-Credential': `${credentials.accessKeyId}/${credentialScope(amzDate.slice(0, 8))}`,
        'X-Amz-Date': amzDate,
        'X-Amz-Expires': String(expiresIn),
      };
      const headers: Record<string, string> = { ...request.signedHeaders, host: request.host };
      const names = Object.keys(headers).sort();
      params['X-Amz-SignedHeaders'] = names.join(';');
      if (credentials.sessionToken) params['X-Amz-Security-Token'] = credentials.sessionToken;
      const query = canonicalQuery(params);
      const canonicalHeaders = names.map((name) => `${name}:${headers[name]!.trim()}\n`).join('');
      const canonicalRequest = `${request.method}\n${request.path}\n${query}\n${canonicalHeaders}\n${params['X-Amz-SignedHeaders']}\n${UNSIGNED_PAYLOAD}`;
      // X-Amz-Signature sorts between X-Amz-Security-Token/X-Amz-SignedHeaders and the rest; the SDK
      // puts it in sorted place, and so do we (only for identical URLs: S3 does not care).
      params['X-Amz-Signature'] = signature(canonicalRequest, amzDate, credentials);
      return canonicalQuery(params);
    },

    signHeaders(request, credentials, date) {
      const amzDate = toAmzDate(date);
      const headers: Record<string, string> = { host: request.host, 'x-amz-content-sha256': EMPTY_BODY_SHA256, 'x-amz-date': amzDate };
      if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
      // Header names above are lower case and already in sorted order, as the canonical request needs.
      const names = Object.keys(headers);
      const canonicalHeaders = names.map((name) => `${name}:${headers[name]}\n`).join('');
      const signedHeaders = names.join(';');
      const canonicalRequest = [request.method, request.path, canonicalQuery(request.query ?? {}), canonicalHeaders, signedHeaders, EMPTY_BODY_SHA256].join('\n');
      const authorization =
        `${ALGORITHM} Credential=${credentials.accessKeyId}/${credentialScope(amzDate.slice(0, 8))}, ` +
        `SignedHeaders=${signedHeaders}, Signature=${signature(canonicalRequest, amzDate, credentials)}`;
      return { ...headers, authorization };
    },
  };
}

/**
 * The derived signing key changes once a day (or when the credentials rotate), so the four HMACs that
 * derive it run once per day and key instead of once per URL. One entry: the scope is fixed per signer.
 */
function createSigningKeyCache(scope: SigningScope): (credentials: S3Credentials, shortDate: string) => Buffer {
  let cached: { id: string; key: Buffer } | undefined;
  return (credentials, shortDate) => {
    const id = `${shortDate}\n${credentials.accessKeyId}\n${credentials.secretAccessKey}`;
    if (cached?.id !== id) {
      const dateKey = hmac(`AWS4${credentials.secretAccessKey}`, shortDate);
      cached = { id, key: hmac(hmac(hmac(dateKey, scope.region), scope.service), 'aws4_request') };
    }
    return cached.key;
  };
}

/** Parameters encoded, sorted by encoded name (then value), joined: SigV4's canonical query string. */
function canonicalQuery(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([name, value]) => [encodeRfc3986(name), encodeRfc3986(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** 2024-05-01T12:34:56.789Z → 20240501T123456Z (SigV4's ISO 8601 basic format, seconds precision). */
function toAmzDate(date: Date): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function sha256Hex(data: string): string {
  return createHash('sha256').update(data).digest('hex');
}
