/**
 * How long S3 may keep a request waiting. Without them a radosgw or load balancer that accepts and never
 * answers (or stops sending a body half-way) held requests, jobs and shutdown forever.
 * - connectMs: to open a TCP (and TLS) connection; a live endpoint does it in milliseconds. Time queued for a
 *   free socket in the pool is not counted (s3-agents.ts): a request behind long transfers waits its turn.
 * - idleMs: the longest a connection may carry no byte either way, from sending the request to the last
 *   byte of the answer, streamed GET bodies included (their stream then errors with a TimeoutError). Only
 *   idleness: a 5 GiB PUT or GET that keeps moving is never cut. AWS keeps a long CopyObject's connection busy
 *   with whitespace, radosgw with progress reports (rgw_copy_obj_progress, on by default). A downloader that stops reading for
 *   this long stalls the connection too and ends its download: tens of seconds, as AWS's own SDKs.
 * A timed-out attempt is retried by the SDK like any network error (3 attempts), so a dead endpoint fails a
 * call after about 3 × idleMs; the error middleware answers it 503 ServiceUnavailable, and a job retries.
 */
export interface S3Timeouts {
  connectMs: number;
  idleMs: number;
}
export const S3_TIMEOUTS: S3Timeouts = { connectMs: 5_000, idleMs: 30_000 };
