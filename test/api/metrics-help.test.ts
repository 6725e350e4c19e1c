/**
 * Every HELP names the values its labels take: `lost` (job duration) and `challenge_limited` (rapid upload)
 * were missing, so a query or an alert on them had to be written from the code (red team). Checked on the
 * registries `serve` and `openpds worker` build, against the values the code uses.
 */
import pino from 'pino';
import client from 'prom-client';
import type { Db } from '../../api-server/src/db/db';
import { createJobRunner } from '../../api-server/src/modules/jobs/job-runner';
import { BLOB_GC_KINDS, createMetrics, RAPID_UPLOAD_RESULTS } from '../../api-server/src/shared/metrics';
import { STORAGE_OPERATIONS } from '../../api-server/src/storage/counted.blob-store';

const helpOf = async (registry: client.Registry, name: string): Promise<string> => {
  const m = new RegExp(`^# HELP ${name} (.*)$`, 'm').exec(await registry.getSingleMetricAsString(name));
  return m?.[1] ?? '';
};
const named = (help: string, values: readonly string[]) => values.filter((v) => !new RegExp(`\\b${v}\\b`).test(help));

describe('HELP texts', () => {
  it('name every label value of the data plane metrics', async () => {
    const { registry } = createMetrics();
    expect(named(await helpOf(registry, 'openpds_rapid_upload_total'), RAPID_UPLOAD_RESULTS)).toEqual([]);
    expect(RAPID_UPLOAD_RESULTS).toEqual(expect.arrayContaining(['challenge_limited', 'lost_to_gc', 'proof_rejected']));
    expect(named(await helpOf(registry, 'openpds_blob_gc_deleted_total'), BLOB_GC_KINDS)).toEqual([]);
    expect(named(await helpOf(registry, 'openpds_storage_errors_total'), [...STORAGE_OPERATIONS, 's3', 'local'])).toEqual([]);
    expect(named(await helpOf(registry, 'openpds_http_request_duration_seconds'), ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'other', 'unmatched'])).toEqual([]);
  });

  it('name every result of a job run', async () => {
    const registry = new client.Registry();
    const db = { dialect: 'pglite', query: async () => [], exec: async () => undefined, transaction: async () => undefined, close: async () => undefined } as unknown as Db;
    const runner = createJobRunner({ db, logger: pino({ level: 'silent' }), registry }, { 'blob.hash': async () => undefined });
    try {
      expect(named(await helpOf(registry, 'openpds_job_duration_seconds'), ['ok', 'retry', 'failed', 'lost'])).toEqual([]);
    } finally {
      await runner.close();
    }
  });
});
