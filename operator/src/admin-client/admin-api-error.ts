/**
 * The one error a domain's admin API call raises: the HTTP status and the PDS-style code from the body
 * (`NotFound.Drive`), or `status: 0` with code `Unreachable` when no answer came back at all.
 */
export class AdminApiError extends Error {
  override readonly name = 'AdminApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get isNotFound(): boolean {
    return this.status === 404;
  }

  /** Worth retrying with backoff: unreachable, throttled or a server-side failure. */
  get isRetryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export function isAdminApiError(error: unknown, code?: string): error is AdminApiError {
  return error instanceof AdminApiError && (code === undefined || error.code === code);
}

/** Builds the error from a non-2xx answer; a body that is not the PDS shape still yields a usable code. */
export function adminApiErrorFrom(status: number, body: unknown, path: string): AdminApiError {
  const shaped = typeof body === 'object' && body !== null ? (body as { code?: unknown; message?: unknown; request_id?: unknown }) : {};
  const code = typeof shaped.code === 'string' ? shaped.code : `Http.${status}`;
  const message = typeof shaped.message === 'string' ? shaped.message : `${path} answered ${status}`;
  const requestId = typeof shaped.request_id === 'string' ? shaped.request_id : undefined;
  return new AdminApiError(status, code, message, requestId);
}
