/**
 * The operator's Prometheus metrics, on a registry of its own (no prom-client global state, so two
 * operators in one test process do not collide): reconcile duration and errors per kind, queue depth
 * per kind read at scrape time, and drift (changes made by hand in a data plane) corrected per kind and field.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ControllerMetrics, ReconcileResult } from './kube/controller';

/** What a reconciler of data-plane objects (Drive, UserSystem, OAuthApp) reports besides the controller's figures. */
export interface DriftMetrics {
  /** A hand-made change of `field` was found on an object of `kind` and undone (a deleted object re-created: field "deleted"). */
  driftCorrected(kind: string, field: string): void;
}

export interface OperatorMetrics extends ControllerMetrics, DriftMetrics {
  registry: Registry;
  /** Registers a queue-depth reader for a kind (the gauge asks it at each scrape). */
  trackQueueDepth(kind: string, depth: () => number): void;
  /** Registers the reader of how many Domains the rollout budget holds back (asked at each scrape). */
  trackQueuedRollouts(queued: () => number): void;
}

export function createOperatorMetrics(options: { defaultMetrics?: boolean } = {}): OperatorMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'openpds_operator_' });
  const duration = new Histogram({
    name: 'openpds_operator_reconcile_duration_seconds',
    help: 'Time of one reconcile, by kind and result (success, requeue: waiting for something, error).',
    labelNames: ['kind', 'result'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'openpds_operator_reconcile_errors_total',
    help: 'Reconciles that failed with an error (retried with backoff), by kind.',
    labelNames: ['kind'],
    registers: [registry],
  });
  const drift = new Counter({
    name: 'openpds_operator_drift_corrected_total',
    help: 'Changes made by hand in a data plane that the operator found and corrected, by kind and field (deleted: the object was re-created).',
    labelNames: ['kind', 'field'],
    registers: [registry],
  });
  const depths = new Map<string, () => number>();
  new Gauge({
    name: 'openpds_operator_queue_depth',
    help: 'Keys waiting in the work queue, by kind.',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      for (const [kind, depth] of depths) this.set({ kind }, depth());
    },
  });
  let queuedRollouts: () => number = () => 0;
  new Gauge({
    name: 'openpds_operator_rollouts_queued',
    help: 'Domains whose operator-driven rollout (a pod template change their spec did not ask for) waits for --max-concurrent-rollouts.',
    registers: [registry],
    collect() {
      this.set(queuedRollouts());
    },
  });
  return {
    registry,
    observeReconcile(kind: string, result: ReconcileResult, seconds: number) {
      duration.observe({ kind, result }, seconds);
      if (result === 'error') errors.inc({ kind });
    },
    driftCorrected(kind, field) {
      drift.inc({ kind, field });
    },
    trackQueuedRollouts(queued) {
      queuedRollouts = queued;
    },
    trackQueueDepth(kind, depth) {
      depths.set(kind, depth);
      errors.inc({ kind }, 0); // the series exists (at 0) before the first error, so rate() works
    },
  };
}
