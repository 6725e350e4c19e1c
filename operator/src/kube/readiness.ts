/**
 * Readiness signals a reconciler waits on: a Deployment that has rolled out its current spec, and an
 * HTTP health endpoint that answers 2xx.
 */
import type { KubeObject } from './kube-client';

interface DeploymentLike extends KubeObject {
  spec?: { replicas?: number };
  status?: { observedGeneration?: number; replicas?: number; availableReplicas?: number; updatedReplicas?: number; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

export interface DeploymentReadiness {
  ready: boolean;
  /**
   * The rollout will not finish by itself: the Deployment controller gave up on it (its Progressing
   * condition says ProgressDeadlineExceeded: image that does not pull, pods that crash, no room to
   * schedule). `kubectl rollout status` exits with an error then.
   */
  failed?: boolean;
  available: number;
  desired: number;
  message: string;
}

/**
 * Rolled out as `kubectl rollout status` means it (and with its messages): the Deployment controller has
 * observed the current generation (otherwise its status describes the previous spec), every desired
 * replica runs the current template, no old replica is left (one would still serve the previous image
 * or config), and enough replicas are available. Available replicas alone were not enough: during a
 * rolling update the old pods count as available. A missing `spec.replicas` (left to an HPA) means the
 * apiserver's default of 1.
 */
export function deploymentReadiness(deployment: DeploymentLike | undefined): DeploymentReadiness {
  if (!deployment) return { ready: false, available: 0, desired: 0, message: 'Deployment not found' };
  const name = deployment.metadata?.name;
  const desired = deployment.spec?.replicas ?? 1;
  const status = deployment.status ?? {};
  const available = status.availableReplicas ?? 0;
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const waiting = (detail: string) => ({ ready: false, available, desired, message: `Waiting for deployment ${name} rollout to finish: ${detail}` });
  if ((status.observedGeneration ?? 0) < (deployment.metadata?.generation ?? 0)) {
    return { ready: false, available, desired, message: `Waiting for deployment ${name} spec update to be observed (generation ${deployment.metadata?.generation})` };
  }
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return { ready: false, failed: true, available, desired, message: `deployment ${name} exceeded its progress deadline${progressing.message ? `: ${progressing.message}` : ''}` };
  }
  if (updated < desired) return waiting(`${updated} out of ${desired} new replicas have been updated`);
  if (total > updated) return waiting(`${total - updated} old replicas are pending termination`);
  if (available < desired) return waiting(`${available} of ${desired} updated replicas are available`);
  return { ready: true, available, desired, message: `deployment ${name} successfully rolled out: ${available}/${desired} replicas available` };
}

export type FetchFn = (url: string, init: { signal: AbortSignal }) => Promise<{ ok: boolean; status: number; text?: () => Promise<string>; header?: (name: string) => string | undefined }>;

/** The bounds put on a data plane's Retry-After: at least 1 s, at most 30 s (the replicas poll). */
export const RETRY_AFTER_MIN_MS = 1000;
export const RETRY_AFTER_MAX_MS = 30_000;

/**
 * A 503's Retry-After (delay-seconds or an HTTP-date, RFC 9110 §10.2.3) in ms, within the bounds above;
 * undefined when there is none or it cannot be read. A data plane that is starting (migrations) answers
 * 503 ServiceUnavailable.Starting with Retry-After: 1, a wait measured in seconds: the error backoff had
 * grown to 30 s by the time it was ready, and `kubectl wait` on a new Domain took 52 s instead of ~20.
 */
export function retryAfterMs(value: string | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  // Date.parse alone would read "1.5" or "-5" as dates: only the IMF-fixdate form HTTP servers send.
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(trimmed) ? Date.parse(trimmed) - now : NaN;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(RETRY_AFTER_MAX_MS, Math.max(RETRY_AFTER_MIN_MS, ms));
}

/**
 * How long the operator waits for /readyz. Longer than the data plane takes to answer for itself: each of
 * its checks gives up after ~2 s (OPENPDS_READINESS_TIMEOUT_SECONDS) and /readyz then answers 503 naming
 * the check. At 2 s here the operator gave up first, on every probe of a frozen database, and the Domain
 * said "The operation was aborted due to timeout" instead of "database: timeout".
 */
export const READYZ_TIMEOUT_MS = 5000;

/** The most of the data plane's answer a condition message carries (it is shown on one line by kubectl). */
export const MAX_ANSWER_CHARS = 300;

/**
 * GET `${baseUrl}/readyz`; never throws. Not ready comes with the reason: the status and the failing checks
 * the data plane named, a timeout said as such, or the connection's error code (ECONNREFUSED, ENOTFOUND).
 */
export async function probeReadyz(fetchFn: FetchFn, baseUrl: string, timeoutMs = READYZ_TIMEOUT_MS): Promise<{ ready: boolean; message: string; retryAfterMs?: number }> {
  const url = `${baseUrl.replace(/\/$/, '')}/readyz`;
  try {
    const res = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.ok) return { ready: true, message: `${url} answered ${res.status}` };
    const why = notReadyBecause(await res.text?.().catch(() => undefined));
    const retryAfter = res.status === 503 ? retryAfterMs(res.header?.('retry-after')) : undefined;
    return { ready: false, message: `${url} answered ${res.status}${why ? `: ${why}` : ''}`, ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}) };
  } catch (error) {
    // AbortSignal.timeout rejects with a DOMException named TimeoutError, whose message names no URL or limit.
    if ((error as { name?: unknown }).name === 'TimeoutError') return { ready: false, message: `${url} timed out: no answer within ${timeoutMs / 1000} s` };
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { ready: false, message: `${url} unreachable: ${cause ?? oneLine((error as Error).message, MAX_ANSWER_CHARS)}` };
  }
}

/** Text from the network, fit for a condition message: one line, control characters gone, at most `max` characters. */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * What an OpenPDS data plane's /readyz body says is wrong (`{"status": "not ready", "database": "timeout",
 * "storage": "ok", "storage_claim": "…"}`: each check that is not "ok", as `check: result`), so the Domain's
 * condition names it (a frozen database, a store another data plane claims) instead of a bare 503. At
 * most MAX_ANSWER_CHARS: the body comes from the network. Undefined for any other body.
 */
export function notReadyBecause(body: string | undefined): string | undefined {
  if (!body) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const problems = Object.entries(parsed as Record<string, unknown>)
    // request_id (an error body's) differs on every probe: kept, each probe would rewrite the condition.
    .filter(([key, value]) => key !== 'status' && key !== 'request_id' && typeof value === 'string' && value !== 'ok')
    .map(([key, value]) => `${oneLine(key, 40)}: ${oneLine(value as string, MAX_ANSWER_CHARS)}`);
  return problems.length ? oneLine(problems.join('; '), MAX_ANSWER_CHARS) : undefined;
}
