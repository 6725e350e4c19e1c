/**
 * Counters an alert takes rate() or increase() of must exist at 0 from the start: a series born at 1 has
 * no earlier sample, so a pod's first failed job or first storage error never showed in them (red team).
 * Checked on what `serve` exports before anything has run or failed. PGlite + local disk.
 */
import { STORAGE_OPERATIONS } from '../../api-server/src/storage/counted.blob-store';
import { HASH_BLOB_JOB } from '../../api-server/src/modules/uploads/blob-hashing';
import { startTestServer, type TestServer } from '../support/test-server';

describe('the counters /metrics starts with', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
  });
  afterAll(() => server?.stop());

  it('has every job kind and every storage operation at 0 before anything failed', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain(`openpds_jobs_failed_total{kind="${HASH_BLOB_JOB}"} 0`);
    expect(text).toContain(`openpds_jobs_lost_lease_total{kind="${HASH_BLOB_JOB}"} 0`);
    for (const operation of STORAGE_OPERATIONS) expect(text).toContain(`openpds_storage_errors_total{operation="${operation}",store="local"} 0`);
  });
});
