/**
 * A sealing whose copy stalls (blob-sealing.ts) on PostgreSQL + radosgw: it fails with 503 once its copy
 * timeout passes and ends its claim; later asks answer 503 at once without starting another copy while the
 * abandoned one still runs, and the first ask after it settled copies afresh and links, instead of every
 * later ask waiting on the stalled copy forever. Then the red team's case end to end: S3 goes silent behind a proxy
 * while a link is asked for, then comes back.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { startServer, type RunningServer } from '../../api-server/src/main';
import { createBlobSealing } from '../../api-server/src/modules/uploads/blob-sealing';
import { isAppError } from '../../api-server/src/shared/errors';
import type { BlobStore } from '../../api-server/src/storage/blob-store';
import { startTcpProxy } from '../support/tcp-proxy';
import { createApiClient, createLoggedInUser, serverWithUser, testServerEnv, withJobsHeld, type ApiClient, type LoggedInUser, type TestServer } from '../support/test-server';

type Blob = { sha256: string; storage_key: string; size: number };

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Uploads a one-part file (not hashed while the jobs are held); its file id and placeholder blob. */
async function uploadOnePart(server: Pick<RunningServer, 'deps'>, api: ApiClient, user: { access_token: string; default_drive_id: string }, content: Buffer) {
  const d = user.default_drive_id;
  const created = await api.ok('/v2/file/create', { drive_id: d, name: 'stall.bin', type: 'file', size: content.length, check_name_mode: 'auto_rename', part_info_list: [{ part_number: 1 }] }, user.access_token);
  expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content })).status).toBe(200);
  await api.ok('/v2/file/complete', { drive_id: d, file_id: created.file_id, upload_id: created.upload_id }, user.access_token);
  const [blob] = await server.deps.db.query<Blob>(
    `SELECT b.sha256, b.storage_key, b.size FROM files f JOIN file_revisions r ON r.revision_id = f.revision_id JOIN blobs b ON b.sha256 = r.blob_sha256 WHERE f.file_id = $1`,
    [created.file_id],
  );
  return { fileId: created.file_id as string, blob: blob! };
}

describe('a sealing whose copy stalls', () => {
  let server: TestServer;
  let api: ApiClient;
  let user: LoggedInUser;
  serverWithUser('pg', 's3', 'stall', (ready) => ({ server, api, user } = ready));

  it('fails with 503 after its copy timeout, ends its claim, answers 503 without copying until the abandoned copy settles, then seals afresh', async () => {
    const content = randomBytes(5000);
    await withJobsHeld(server, async () => {
      const { fileId, blob } = await uploadOnePart(server, api, user, content);
      // The first copy hangs until the test ends (as on an S3 that stopped answering); later ones work.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const stalledKeys: string[] = [];
      const copies: string[] = [];
      const real = server.deps.store;
      const store: BlobStore = Object.assign(Object.create(real) as BlobStore, {
        async copy(from: string, to: string) {
          copies.push(to);
          if (stalledKeys.length === 0) {
            stalledKeys.push(to);
            await released;
          }
          return real.copy(from, to);
        },
      });
      const sealing = createBlobSealing({ ...server.deps, store }, { copyTimeoutMs: () => 500 });
      const answer = (p: Promise<void>) => p.then(() => null, (e: unknown) => (isAppError(e) ? [e.status, e.code, e.options.headers?.['Retry-After']] : e));
      try {
        expect(await within(answer(sealing.seal(blob)), 5000, 'the stalled sealing')).toEqual([503, 'ServiceUnavailable', '5']);
        // Its claim is gone: no ask waits for it to go stale (60 s).
        expect(await server.deps.db.query(`SELECT 1 FROM deferred_object_deletes WHERE storage_key = $1`, [stalledKeys[0]])).toEqual([]);
        // While the abandoned copy runs, asks answer the same 503 at once and start no other copy.
        for (let i = 0; i < 3; i++) expect(await within(answer(sealing.seal(blob)), 1000, 'an ask during the abandoned copy')).toEqual([503, 'ServiceUnavailable', '5']);
        expect(copies).toEqual(stalledKeys);
      } finally {
        release();
      }
      // Once it settled (its copy done, then deleted: it is no blob's), the next ask copies afresh.
      await within(
        (async () => {
          for (;;) {
            const outcome = await answer(sealing.seal(blob));
            if (outcome === null) return;
            expect(outcome).toEqual([503, 'ServiceUnavailable', '5']);
            await new Promise((r) => setTimeout(r, 50));
          }
        })(),
        5000,
        'the sealing after the abandoned copy settled',
      );
      expect(copies).toHaveLength(2);
      const [row] = await server.deps.db.query<{ storage_key: string; client_writable: boolean }>(`SELECT storage_key, client_writable FROM blobs WHERE sha256 = $1`, [blob.sha256]);
      expect(row!.client_writable).toBe(false);
      expect(row!.storage_key).not.toBe(stalledKeys[0]);
      const { url } = await api.ok('/v2/file/get_download_url', { drive_id: user.default_drive_id, file_id: fileId }, user.access_token);
      expect(Buffer.from(await (await fetch(url as string)).arrayBuffer())).toEqual(content);
      // The abandoned copy, released, finishes and is deleted: it is no blob's.
      await within(
        (async () => {
          while (await real.head(stalledKeys[0]!)) await new Promise((r) => setTimeout(r, 50));
        })(),
        5000,
        'the abandoned copy deleted',
      );
    });
  });

  it('S3 silent while a link is asked for: 503 within seconds; once S3 is back the same file gets its link', async () => {
    const base = await testServerEnv('pg', 's3');
    const proxy = await startTcpProxy(new URL(base.env.OPENPDS_S3_ENDPOINT!));
    const running = await startServer({ ...base.env, OPENPDS_S3_ENDPOINT: proxy.url, OPENPDS_S3_CONNECT_TIMEOUT_SECONDS: '1', OPENPDS_S3_IDLE_TIMEOUT_SECONDS: '1' });
    const stalledApi = createApiClient(running.url);
    try {
      const owner = await createLoggedInUser(stalledApi, 'silent');
      await withJobsHeld(running, async () => {
        const content = randomBytes(4000);
        const { fileId } = await uploadOnePart(running, stalledApi, owner, content);
        const link = () =>
          fetch(`${running.url}/v2/file/get_download_url`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.access_token}` },
            body: JSON.stringify({ drive_id: owner.default_drive_id, file_id: fileId }),
            signal: AbortSignal.timeout(15_000),
          });
        proxy.mode = 'silent';
        const during = await link();
        expect([during.status, ((await during.json()) as { code: string }).code]).toEqual([503, 'ServiceUnavailable']);
        proxy.mode = 'pass';
        const after = await link();
        expect(after.status).toBe(200);
        const { url } = (await after.json()) as { url: string };
        expect(Buffer.from(await (await fetch(url)).arrayBuffer())).toEqual(content);
      });
    } finally {
      proxy.mode = 'pass';
      await running.close();
      await proxy.close();
      rmSync(base.dataDir, { recursive: true, force: true });
    }
  });
});
