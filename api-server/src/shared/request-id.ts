/**
 * The request id a response carries (X-Request-Id) and every log line of the request names. A caller's id
 * is kept when it is a plain token, so a proxy's or client's id (a UUID, `req-42`, a trace id such as
 * `00-4bf9…-01`, `host:1234.5`) ties their logs to ours; anything else gets a fresh UUID. Any string used to
 * be echoed (sliced to 128 characters): tabs, quotes, latin-1 bytes and escape sequences went back in the
 * header and into every log line that quoted it (red team, session 15).
 */
import { randomUUID } from 'node:crypto';

export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export function acceptRequestId(header: string | string[] | undefined, generate: () => string = randomUUID): string {
  return typeof header === 'string' && REQUEST_ID_PATTERN.test(header) ? header : generate();
}
