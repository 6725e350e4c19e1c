/** Prometheus metrics of the data plane, on a registry owned by the app (no global state). */
import client from 'prom-client';

export interface Metrics {
  registry: client.Registry;
  httpDuration: client.Histogram<'route' | 'method' | 'status'>;
  uploadBytes: client.Counter;
  rapidUpload: client.Counter<'result'>;
  blobGc: client.Counter<'kind'>;
  storageErrors: client.Counter<'operation' | 'store'>;
}

/** The methods routes answer; anything else a client sends (Node accepts some 30) is labelled `other`. */
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
export const httpMethodLabel = (method: string): string => (HTTP_METHODS.has(method) ? method : 'other');

export function createMetrics(): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new client.Histogram({
      name: 'openpds_http_request_duration_seconds',
      help: 'HTTP request duration by route (its declared path; unmatched for a path no route has), method and status',
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
      help: 'Rapid upload attempts by result: hit, miss, proof_rejected, pre_hash_matched, challenged (a proof v2 challenge issued), lost_to_gc',
      labelNames: ['result'],
      registers: [registry],
    }),
    blobGc: new client.Counter({
      name: 'openpds_blob_gc_deleted_total',
      help: 'Objects deleted by the blob GC, by kind: blob, upload, orphan, deferred',
      labelNames: ['kind'],
      registers: [registry],
    }),
    storageErrors: createStorageErrorsCounter(registry),
  };
}

/**
 * Blob store operations that failed for a reason other than an answer such as "not found" (see
 * storage/counted.blob-store.ts). Its own function because `openpds worker`, which has no HTTP metrics,
 * registers it too: the OpenPDSStorageErrors alert reads API and worker pods alike.
 */
export function createStorageErrorsCounter(registry: client.Registry): client.Counter<'operation' | 'store'> {
  return new client.Counter({
    name: 'openpds_storage_errors_total',
    help: 'Blob store operations that failed, by operation (put, get, head, delete, copy, list, multipart steps, URLs, ping) and store (s3, local); a missing key is an answer, not an error',
    labelNames: ['operation', 'store'],
    registers: [registry],
  });
}
