/** Prometheus metrics of the data plane, on a registry owned by the app (no global state). */
import client from 'prom-client';
import { STORAGE_OPERATIONS } from '../storage/counted.blob-store';

export interface Metrics {
  registry: client.Registry;
  httpDuration: client.Histogram<'route' | 'method' | 'status'>;
  uploadBytes: client.Counter;
  rapidUpload: client.Counter<'result'>;
  blobGc: client.Counter<'kind'>;
  storageErrors: client.Counter<'operation' | 'store'>;
  schemaUnknownMigrations: client.Gauge;
  busyAnswers: client.Counter<'reason'>;
  connectionsDropped: client.Counter;
}

/** The methods routes answer; anything else a client sends (Node accepts some 30) is labelled `other`. */
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
export const httpMethodLabel = (method: string): string => (HTTP_METHODS.has(method) ? method : 'other');

/**
 * Label values, each named in its metric's HELP (whoever writes a query or an alert should not have to read
 * the code to learn that a result exists) and each series started at 0.
 */
export const RAPID_UPLOAD_RESULTS: readonly string[] = ['hit', 'miss', 'proof_rejected', 'pre_hash_matched', 'challenged', 'challenge_limited', 'lost_to_gc'];
export const BLOB_GC_KINDS: readonly string[] = ['blob', 'upload', 'orphan', 'deferred'];
/** Why a request was answered 503 ServiceUnavailable.Busy (AppError options.reason). */
export const BUSY_REASONS = ['password_checks'] as const;
export type BusyReason = (typeof BUSY_REASONS)[number];

export function createMetrics(): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const metrics: Metrics = {
    registry,
    httpDuration: new client.Histogram({
      name: 'openpds_http_request_duration_seconds',
      help: `HTTP request duration by route (its declared path; unmatched for a path no route has), method (${[...HTTP_METHODS].join(', ')}, other) and status (the HTTP status code)`,
      labelNames: ['route', 'method', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    uploadBytes: new client.Counter({
      name: 'openpds_upload_bytes_total',
      help: 'Bytes of file content completed through uploads (rapid uploads count nothing)',
      registers: [registry],
    }),
    rapidUpload: new client.Counter({
      name: 'openpds_rapid_upload_total',
      help:
        'Rapid upload attempts at file/create by result: hit (stored content linked), miss (not stored, or stored but not readable by the caller: both open a normal upload), ' +
        'proof_rejected (a wrong proof v1 from a caller who can read the content, or a wrong proof v2 answer at file/complete), pre_hash_matched (pre_hash known: the client is asked for the full hash), ' +
        'challenged (a proof v2 challenge issued), challenge_limited (proof v2 asked with no challenges left this hour: a normal upload), lost_to_gc (the content was collected meanwhile: a normal upload)',
      labelNames: ['result'],
      registers: [registry],
    }),
    blobGc: new client.Counter({
      name: 'openpds_blob_gc_deleted_total',
      help: 'Objects deleted by the blob GC, by kind: blob (unreferenced content), upload (expired upload sessions and their store uploads), orphan (objects no row knows), deferred (objects kept for download links, deleted once those expired)',
      labelNames: ['kind'],
      registers: [registry],
    }),
    storageErrors: createStorageErrorsCounter(registry),
    schemaUnknownMigrations: createSchemaUnknownMigrationsGauge(registry),
    busyAnswers: new client.Counter({
      name: 'openpds_busy_answers_total',
      help:
        'Requests answered 503 ServiceUnavailable.Busy (with Retry-After) by reason: password_checks (every password-check slot taken and its queue full: ' +
        'logins, password changes and resets, user creation). Steady growth: a login or reset storm, or too many replicas too few',
      labelNames: ['reason'],
      registers: [registry],
    }),
    connectionsDropped: new client.Counter({
      name: 'openpds_connections_dropped_total',
      help: 'Connections closed unanswered as they arrived because the server already held OPENPDS_MAX_CONNECTIONS (a client holding many, or too low a limit)',
      registers: [registry],
    }),
  };
  // Series at 0 from the start, so rate() and increase() see the first one.
  for (const result of RAPID_UPLOAD_RESULTS) metrics.rapidUpload.inc({ result }, 0);
  for (const kind of BLOB_GC_KINDS) metrics.blobGc.inc({ kind }, 0);
  for (const reason of BUSY_REASONS) metrics.busyAnswers.inc({ reason }, 0);
  metrics.connectionsDropped.inc(0);
  return metrics;
}

/**
 * Blob store operations that failed for a reason other than an answer such as "not found" (see
 * storage/counted.blob-store.ts). Its own function because `openpds worker`, which has no HTTP metrics,
 * registers it too: the OpenPDSStorageErrors alert reads API and worker pods alike.
 */
export function createStorageErrorsCounter(registry: client.Registry): client.Counter<'operation' | 'store'> {
  return new client.Counter({
    name: 'openpds_storage_errors_total',
    help: `Blob store operations that failed, by operation (${STORAGE_OPERATIONS.join(', ')}) and store (s3, local); a missing key is an answer, not an error`,
    labelNames: ['operation', 'store'],
    registers: [registry],
  });
}

/**
 * Migrations the database holds that this process's version does not know, read at its start: above 0, a
 * newer OpenPDS migrated it (an image rolled back) and the process is not ready unless
 * OPENPDS_ALLOW_NEWER_SCHEMA is set (db/migrate-schema-check.ts). `serve` and `worker` both register it.
 */
export function createSchemaUnknownMigrationsGauge(registry: client.Registry): client.Gauge {
  return new client.Gauge({
    name: 'openpds_schema_unknown_migrations',
    help: 'Migrations applied to the database that this version does not know, read at start (above 0: a newer OpenPDS migrated it; not ready unless OPENPDS_ALLOW_NEWER_SCHEMA=true)',
    registers: [registry],
  });
}
