/** get_download_url's longest expire_sec (32 h, as PDS allows). */
export const MAX_EXPIRE_SEC = 115_200;

/** Headroom for clocks: S3 checks a presigned URL's expiry against its own clock, not this server's. */
const CLOCK_SKEW_SECONDS = 900;

/**
 * How long a download URL handed out now may still be used: the longest expire_sec, or the configured
 * default when that is longer. An object some link may name is kept at least this long after the last
 * link to it could have been made (see deferred-deletes.repository.ts).
 */
export function longestLinkSeconds(config: { downloadUrlTtl: number }): number {
  return Math.max(MAX_EXPIRE_SEC, config.downloadUrlTtl) + CLOCK_SKEW_SECONDS;
}
