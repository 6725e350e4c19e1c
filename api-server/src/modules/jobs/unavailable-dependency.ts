/**
 * Whether a job failed because the blob store or the database could not be reached or was overloaded,
 * rather than because of the job itself. Such an attempt is given back (jobs.repository.ts fail): a store
 * outage of ~10 minutes used up all 8 attempts of every hash job it touched (backoff 5 + 10 + … + 320 s),
 * and they then stayed failed for good although nothing was wrong with them.
 *
 * The same causes the API answers 503 for (shared/error-middleware.ts isUnreachable), plus what the S3
 * SDK reports for an overloaded or failing server: any 5xx, SlowDown, and its timeouts. The whole `cause`
 * chain is looked at, as the store and the SDK wrap errors.
 */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
  // PostgreSQL: admin shutdown, cannot connect now, connection failure, unable to connect.
  '57P01', '57P03', '08006', '08001', '08000', '08003',
]);
const UNAVAILABLE_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'SlowDown', 'ServiceUnavailable', 'InternalError', 'ThrottlingException', 'TooManyRequestsException']);

interface ErrorLike {
  code?: unknown;
  name?: unknown;
  Code?: unknown;
  cause?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/**
 * The SDK's retry middleware replaces a thrown value that is not `instanceof Object` (an error made in
 * another realm: Node's own under jest's VM context, as the red team's outage runs were) by a bare Error
 * whose only trace of the cause is its text: "AWS SDK error wrapper for TimeoutError: connect ECONNRESET …".
 */
const SDK_WRAPPER = /^AWS SDK error wrapper for (\w+)(?::.*?\b((?:E[A-Z]+)|(?:UND_ERR_\w+))\b)?/;

function wrappedUnavailable(message: unknown): boolean {
  const m = typeof message === 'string' ? SDK_WRAPPER.exec(message) : null;
  return Boolean(m && (UNAVAILABLE_NAMES.has(m[1]!) || (m[2] && UNREACHABLE_CODES.has(m[2]))));
}

export function isDependencyUnavailable(err: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e = err as ErrorLike | undefined; e && typeof e === 'object' && !seen.has(e); e = e.cause as ErrorLike | undefined) {
    seen.add(e);
    if (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) return true;
    if (typeof e.name === 'string' && UNAVAILABLE_NAMES.has(e.name)) return true;
    if (typeof e.Code === 'string' && UNAVAILABLE_NAMES.has(e.Code)) return true;
    const status = e.$metadata?.httpStatusCode;
    if (typeof status === 'number' && (status >= 500 || status === 429)) return true;
    if (wrappedUnavailable(e.message)) return true;
  }
  return false;
}
