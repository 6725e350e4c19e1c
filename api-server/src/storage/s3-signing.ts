/**
 * What our own SigV4 signing (s3-presigner.ts, s3-head.ts) needs from the SDK, so that it decides
 * everything but the signature:
 * - The endpoint (origin, path-style or virtual-hosted, custom endpoints, FIPS, dual-stack, access points)
 *   and the credential scope are read off one getSignedUrl at first use (the probe), so they are exactly
 *   what the SDK produces for this client and bucket. A probe we do not recognise (SigV4a, S3 Express
 *   session auth, parameters we do not sign) resolves to null: callers then keep using the SDK.
 * - Credentials come from the client's own provider, which the SDK memoizes and refreshes: static keys
 *   and the default chain (environment, IRSA web identity, instance roles) both work.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createSigV4Signer, type S3Credentials, type SigningScope, type SigV4Signer } from './s3-sigv4';

/** Where the SDK sends this bucket's requests and how it scopes their signatures. */
export interface S3Endpoint {
  /** scheme://authority, as the SDK writes it (the authority is also the signed Host header). */
  origin: string;
  host: string;
  /** Encoded path up to the key, ending in '/': "/bucket/" path-style, "/" virtual-hosted. */
  basePath: string;
  scope: SigningScope;
}

export interface S3Signing {
  endpoint: S3Endpoint;
  signer: SigV4Signer;
  credentials(): Promise<S3Credentials>;
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

/**
 * Resolves the signing context once, on first use (the store is built before credentials may be
 * reachable). A failed probe (no credentials yet, say) is retried by the next call, not cached.
 */
export function createS3SigningResolver(client: S3Client, bucket: string): () => Promise<S3Signing | null> {
  let signing: Promise<S3Signing | null> | undefined;
  const credentials = () => client.config.credentials();
  return () =>
    (signing ??= probeEndpoint(client, bucket).then(
      (endpoint) => (endpoint ? { endpoint, signer: createSigV4Signer(endpoint.scope), credentials } : null),
      (error: unknown) => {
        signing = undefined;
        throw error;
      },
    ));
}

/** One getSignedUrl for a fixed key, read back as this client's endpoint and scope. */
async function probeEndpoint(client: S3Client, bucket: string): Promise<S3Endpoint | null> {
  return parseProbeUrl(await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: PROBE_KEY }), { expiresIn: 60 }));
}

/** The endpoint and scope of a probe URL; null when it is not plain SigV4 signing the host header alone. */
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
