/**
 * The one error type of the API server. Codes follow PDS (`NotFound.File`, `InvalidParameter.Name`, …);
 * features create their errors through small factories so that every code is spelled in one place.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** `reason`: why a 503 ServiceUnavailable.Busy was answered, for openpds_busy_answers_total (never in the body). */
    readonly options: { cause?: unknown; headers?: Record<string, string>; data?: Record<string, unknown>; reason?: string } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

export const badRequest = (code: string, message: string, data?: Record<string, unknown>) =>
  new AppError(code, 400, message, { data });
export const invalidParameter = (field: string, message: string) =>
  new AppError(`InvalidParameter.${pascal(field)}`, 400, message);
export const notFound = (what: string, message = `${what} not found`) => new AppError(`NotFound.${what}`, 404, message);
export const forbidden = (code: string, message: string) => new AppError(`Forbidden.${code}`, 403, message);
export const conflict = (code: string, message: string, data?: Record<string, unknown>) =>
  new AppError(code, 409, message, { data });
export const unauthorized = (code: string, message: string) => new AppError(code, 401, message);

function pascal(field: string): string {
  return field
    .split(/[_.]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
