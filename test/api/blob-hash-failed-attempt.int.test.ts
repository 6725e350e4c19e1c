/**
 * A hash attempt that fails after sealing its copy (the store reset the read) leaves neither the copy nor
 * its in-flight reservation behind: each failed attempt kept a full copy of the upload for 24 h. And a
 * hash run whose claim was superseded (its lease lapsed, another runner claimed the job) does not delete
 * the job row that runner now holds. On PGlite + local disk and PostgreSQL + radosgw S3.
 */
import { randomBytes } from 'node:crypto';
import { createBlobHashing } from '../../api-server/src/modules/uploads/blob-hashing';
import type { BlobStore } from '../../api-server/src/storage/blob-store';
import { type ApiClient, type LoggedInUser, serverWithUser, type TestServer, withJobsHeld } from '../support/test-server';

describe.each([
  ['pglite', 'local'],
  ['pg', 's3'],
] as const)('a failed or superseded hash attempt, on %s + %s', (dbKind, storeKind) => {
  let server: TestServer;
  let api: ApiClient;
  let user: LoggedInUser;
  serverWithUser(dbKind, storeKind, 'hashfail', (ready) => ({ server, api, user } = ready));

  /**
   * A one-part upload completed without a content hash: its job is left queued. Called with the server's
   * job runner held (heldJobs) for the whole test: started again, the runner ran the job alongside the
   * test's own runs, and its copy's reservation was there when the test looked (a flaky test under load).
   */
  async function uploadUnhashed(name: string) {
    const content = randomBytes(20_000);
    const d = user.default_drive_id;
    const created = await api.ok('/v2/file/create', { drive_id: d, name, type: 'file', size: content.length, check_name_mode: 'auto_rename' }, user.access_token);
    expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content })).status).toBe(200);
    const file = await api.ok('/v2/file/complete', { drive_id: d, file_id: created.file_id, upload_id: created.upload_id }, user.access_token);
    expect(file.content_hash).toBe('');
    const [job] = await server.deps.db.query<{ job_id: number; payload: Record<string, unknown>; claims: number }>(
      `SELECT j.job_id, j.payload, j.claims FROM jobs j JOIN file_revisions r ON r.blob_sha256 = j.payload->>'blob' WHERE r.file_id = $1`,
      [file.file_id],
    );
    return { file, job: job! };
  }
  const heldJobs = (fn: () => Promise<void>) => () => withJobsHeld(server, fn);
  const sealedObjects = async () => {
    const keys: string[] = [];
    for await (const o of server.deps.store.list('')) if (o.key.includes('.sealed-')) keys.push(o.key);
    return keys;
  };

  it('drops its sealed copy and ends its reservation when the read fails', heldJobs(async () => {
    const before = await sealedObjects();
    const { job } = await uploadUnhashed('reset.bin');
    const real = server.deps.store;
    const store: BlobStore = Object.assign(Object.create(real) as BlobStore, {
      async get(key: string, ...rest: unknown[]) {
        if (key.includes('.sealed-')) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
        return (real.get as (...a: unknown[]) => unknown)(key, ...rest);
      },
    });
    const hashing = createBlobHashing({ ...server.deps, store });
    for (let i = 0; i < 3; i++) await expect(hashing.run(job.payload, job)).rejects.toThrow('ECONNRESET');
    expect(await sealedObjects()).toEqual(before);
    expect(await server.deps.db.query(`SELECT storage_key FROM deferred_object_deletes WHERE storage_key LIKE '%.sealed-%'`)).toEqual([]);
    // The store answers again: the job links a copy of its own.
    expect(await createBlobHashing(server.deps).run(job.payload, job)).toBe('finished');
    expect((await sealedObjects()).length).toBe(before.length + 1);
  }));

  it('a run whose claim was superseded leaves the job row to its new holder and says so', heldJobs(async () => {
    const { file, job } = await uploadUnhashed('superseded.bin');
    await server.deps.db.query(`UPDATE jobs SET claims = claims + 1 WHERE job_id = $1`, [job.job_id]); // claimed again meanwhile
    expect(await createBlobHashing(server.deps).run(job.payload, job)).toBe('lost');
    expect(await server.deps.db.query(`SELECT claims FROM jobs WHERE job_id = $1`, [job.job_id])).toEqual([{ claims: job.claims + 1 }]);
    // The work itself is done (and right): the holder's run finds it so and finishes the job.
    expect((await api.ok('/v2/file/get', { drive_id: user.default_drive_id, file_id: file.file_id }, user.access_token)).content_hash).not.toBe('');
    expect(await createBlobHashing(server.deps).run(job.payload, { job_id: job.job_id, claims: job.claims + 1 })).toBe('finished');
    expect(await server.deps.db.query(`SELECT 1 FROM jobs WHERE job_id = $1`, [job.job_id])).toEqual([]);
  }));
});
