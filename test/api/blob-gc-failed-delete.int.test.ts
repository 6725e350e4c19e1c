/**
 * One object the store refuses to delete no longer aborts the GC run: it is skipped, counted
 * (report.failed_deletes, a warning) and the run goes on to the other blobs, the deferred objects and the
 * sweeps. Before, the first such key threw out of run(), and as it failed every time, every later step was
 * skipped for good. On PGlite + local disk and PostgreSQL + radosgw S3.
 */
import { BLOB_KEY_FOLDER } from '../../api-server/src/modules/uploads/uploads.repository';
import { startTestServer } from '../support/test-server';

describe.each([
  ['pglite', 'local'],
  ['pg', 's3'],
] as const)('blob GC with a key the store refuses to delete, on %s + %s', (dbKind, storeKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer(dbKind, storeKind);
  });
  afterAll(() => server?.stop());

  it('skips that key, counts it, and collects everything else', async () => {
    const { db, store } = server.deps;
    const key = (name: string) => `${BLOB_KEY_FOLDER}gcfail-${dbKind}-${name}`;
    for (const name of ['stuck', 'blob', 'deferred']) await store.putIfAbsent(key(name), Buffer.from(name));
    // Two unreferenced blobs, the refused one first, and an object kept for links that have expired.
    for (const name of ['stuck', 'blob'])
      await db.query(`INSERT INTO blobs (sha256, sha1, pre_hash, size, storage_key, unreferenced_since) VALUES ($1, 'h', 'p', 4, $1, now() - interval '2 days')`, [key(name)]);
    await db.query(`INSERT INTO deferred_object_deletes (storage_key, delete_after) VALUES ($1, now() - interval '1 minute')`, [key('deferred')]);

    const realDelete = store.delete;
    store.delete = async (k: string) => {
      if (k === key('stuck')) throw Object.assign(new Error('AccessDenied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      return realDelete.call(store, k);
    };
    try {
      const report = await server.services.gc.run({ graceSeconds: 0 });
      expect(report).toMatchObject({ blobs: 1, deferred_objects: 1 });
      // Refused as a blob, and again by this run's orphan sweep (its row is gone).
      expect(report.failed_deletes).toBeGreaterThanOrEqual(1);
    } finally {
      store.delete = realDelete;
    }
    const left: string[] = [];
    for await (const o of store.list(`${BLOB_KEY_FOLDER}gcfail-${dbKind}-`)) left.push(o.key);
    expect(left).toEqual([key('stuck')]);
    expect(await db.query(`SELECT sha256 FROM blobs WHERE sha256 LIKE $1`, [`${BLOB_KEY_FOLDER}gcfail-%`])).toEqual([]);
    // Once the store takes it again, a later run's orphan sweep collects it.
    expect((await server.services.gc.run({ graceSeconds: 0 })).failed_deletes).toBe(0);
    const after: string[] = [];
    for await (const o of store.list(`${BLOB_KEY_FOLDER}gcfail-${dbKind}-`)) after.push(o.key);
    expect(after).toEqual([]);
  });
});
