/**
 * A store that is down ends the GC run at its first failed delete: each key costs the SDK's three attempts
 * (~90 s when S3 stalls), and skipping on through every key (as for a key the store refuses,
 * blob-gc-failed-delete.int.test.ts) made one run with 500 dead blobs take hours and overrun shutdown.
 */
import { BLOB_KEY_FOLDER } from '../../api-server/src/modules/uploads/uploads.repository';
import { startTestServer } from '../support/test-server';

describe('blob GC while the store is down', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
  });
  afterAll(() => server?.stop());

  it('ends the run at the first delete that fails with an outage', async () => {
    const { db, store } = server.deps;
    const key = (name: string) => `${BLOB_KEY_FOLDER}gcdown-${name}`;
    for (const name of ['a', 'b', 'c']) {
      await store.putIfAbsent(key(name), Buffer.from(name));
      await db.query(`INSERT INTO blobs (sha256, sha1, pre_hash, size, storage_key, unreferenced_since) VALUES ($1, 'h', 'p', 1, $1, now() - interval '2 days')`, [key(name)]);
    }
    const realDelete = store.delete;
    let deletes = 0;
    store.delete = async () => {
      deletes++;
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    };
    try {
      await expect(server.services.gc.run({ graceSeconds: 0 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      store.delete = realDelete;
    }
    expect(deletes).toBe(1);
    // The two blobs not reached keep their rows; the first one's object is an orphan the next run collects.
    expect((await db.query(`SELECT sha256 FROM blobs WHERE sha256 LIKE $1`, [`${BLOB_KEY_FOLDER}gcdown-%`])).length).toBe(2);
    expect(await server.services.gc.run({ graceSeconds: 0 })).toMatchObject({ failed_deletes: 0 });
    const left: string[] = [];
    for await (const o of store.list(`${BLOB_KEY_FOLDER}gcdown-`)) left.push(o.key);
    expect(left).toEqual([]);
  });

  it('stops before its next delete once aborted', async () => {
    const abort = new AbortController();
    abort.abort(new Error('shutting down'));
    await expect(server.services.gc.run({ graceSeconds: 0, signal: abort.signal })).rejects.toThrow('shutting down');
  });
});
