/**
 * Content-Disposition with a file name any browser decodes: an ASCII fallback in `filename` and the
 * exact UTF-8 name in `filename*` (RFC 6266 §4.3, RFC 8187 ext-value). Used by the local download route
 * and passed to S3 as ResponseContentDisposition, so both stores send the same header.
 */
export function contentDisposition(disposition: 'inline' | 'attachment', fileName?: string): string {
  if (fileName === undefined || fileName === '') return disposition;
  const fallback = fileName.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return `${disposition}; filename="${fallback}"; filename*=UTF-8''${encodeRfc8187(fileName)}`;
}

/** Percent-encodes everything outside RFC 8187's attr-char (encodeURIComponent leaves ' ( ) * alone). */
function encodeRfc8187(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
