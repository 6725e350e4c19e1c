/**
 * The GC loop of `openpds serve`: one run every `intervalMs`, never two at once, and a stop that does not
 * wait for a slow run without bound.
 *
 * A tick that comes while a run is still going is skipped: setInterval started a second, overlapping run
 * when one outlasted the interval (a stalled store). stop() aborts the run in flight (it ends before its
 * next store delete, blob-gc.service.ts) and waits for it at most `graceMs`: a store delete already sent
 * can take the SDK's three attempts (~90 s when S3 stalls), and Kubernetes kills the pod 30 s after
 * SIGTERM. A run left behind then fails on the closed database; what it had deleted from the database but
 * not yet from the store is an orphan a later run's sweep collects.
 */
import type { Logger } from 'pino';

export interface GcSchedule {
  /** Whether a run is in flight (tests). */
  readonly running: boolean;
  /** No further runs; the one in flight is aborted and waited for at most `graceMs`. */
  stop(graceMs: number): Promise<void>;
}

export function startGcSchedule(
  run: (signal: AbortSignal) => Promise<unknown>,
  options: { intervalMs: number; logger: Pick<Logger, 'error' | 'warn'>; afterRun?: () => Promise<unknown> },
): GcSchedule {
  const abort = new AbortController();
  let inFlight: Promise<void> | undefined;
  const tick = () => {
    if (inFlight || abort.signal.aborted) return;
    inFlight = run(abort.signal)
      .catch((err: unknown) => {
        if (!abort.signal.aborted) options.logger.error({ err }, 'blob gc failed');
      })
      .then(() => (abort.signal.aborted ? undefined : options.afterRun?.()))
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => (inFlight = undefined));
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return {
    get running() {
      return inFlight !== undefined;
    },
    async stop(graceMs) {
      clearInterval(timer);
      abort.abort(new Error('the server is shutting down'));
      const current = inFlight;
      if (!current) return;
      let timeout: NodeJS.Timeout | undefined;
      const gaveUp = await Promise.race([current.then(() => false), new Promise<boolean>((resolve) => (timeout = setTimeout(() => resolve(true), graceMs)))]);
      clearTimeout(timeout);
      if (gaveUp) options.logger.warn({ grace_ms: graceMs }, 'blob gc still running at close; left to end on its own');
    },
  };
}
