/** Recognising S3 errors without loading the SDK's exception classes (radosgw returns unmodeled codes too). */

/** True when the SDK error carries one of these S3 error codes (the SDK puts the code in `name`). */
export function hasS3Code(error: unknown, ...codes: string[]): boolean {
  const e = error as { name?: unknown; Code?: unknown } | null;
  return typeof e === 'object' && e !== null && codes.some((code) => e.name === code || e.Code === code);
}

/** S3 returns ETags in double quotes; the BlobStore contract carries them bare. */
export function stripQuotes(etag: string | undefined): string | undefined {
  return etag === undefined || etag === '' ? undefined : etag.replace(/"/g, '');
}
