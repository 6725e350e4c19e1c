/**
 * A data plane pointed at another store than the one its files' blobs are in (red team M5: a Domain's S3
 * bucket edited; here another prefix, or on local disk the blob directory moved away) used to find it
 * empty and unclaimed, claim it and serve: every stored file unreadable, new uploads split across two
 * stores. Now an empty, unclaimed store under a database that records stored blobs is refused, at start
 * and when the claim is first checked later (/readyz), naming the store and the database; pointed back
 * at its blobs it serves again, and `takeover` is the way to serve without them.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startServer, type RunningServer } from '../../api-server/src/main';
import { CLAIM_KEY, StorageClaimError } from '../../api-server/src/storage/storage-claim';
import { startTcpProxy } from '../support/tcp-proxy';
import { ADMIN_PASSWORD, createApiClient, testServerEnv, type ApiClient } from '../support/test-server';

async function uploadFile(server: RunningServer, api: ApiClient) {
  const admin = await api.login('admin', ADMIN_PASSWORD);
  const content = randomBytes(1000);
  const created = await api.ok(
    '/v2/file/create',
    { drive_id: admin.default_drive_id, parent_file_id: 'root', name: 'kept.bin', type: 'file', size: content.length, part_info_list: [{ part_number: 1 }] },
    admin.access_token,
  );
  expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content })).ok).toBe(true);
  await api.ok('/v2/file/complete', { drive_id: admin.default_drive_id, file_id: created.file_id, upload_id: created.upload_id }, admin.access_token);
  await server.services.jobs.drain();
  return { content, driveId: admin.default_drive_id, fileId: created.file_id as string };
}

async function download(api: ApiClient, file: { driveId: string; fileId: string }): Promise<Buffer> {
  const admin = await api.login('admin', ADMIN_PASSWORD);
  const link = await api.ok('/v2/file/get_download_url', { drive_id: file.driveId, file_id: file.fileId }, admin.access_token);
  const res = await fetch(link.url);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe.each([
  ['pglite', 'local'],
  ['pg', 'local'],
  ['pg', 's3'],
] as const)('a data plane on %s + %s pointed at an empty store while its database records blobs', (dbKind, storeKind) => {
  let env: Record<string, string>;
  let dataDir: string;
  let file: Awaited<ReturnType<typeof uploadFile>>;
  const blobsDir = () => path.join(dataDir, 'blobs');
  /** Another store: on S3 another prefix (a bucket edit is the same to the data plane), on disk the blobs moved away. */
  const moveStore = () => {
    if (storeKind === 's3') return { ...env, OPENPDS_S3_PREFIX: `moved-${randomBytes(5).toString('hex')}/` };
    renameSync(blobsDir(), `${blobsDir()}-old`);
    return env;
  };
  const moveBack = () => {
    if (storeKind === 'local') renameSync(`${blobsDir()}-old`, blobsDir());
  };

  beforeAll(async () => {
    ({ env, dataDir } = await testServerEnv(dbKind, storeKind));
    const server = await startServer(env);
    try {
      file = await uploadFile(server, createApiClient(server.url));
    } finally {
      await server.close();
    }
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  test('refuses to start, naming the store and the database, and claims nothing; pointed back, it serves the files', async () => {
    const moved = moveStore();
    const refused = startServer(moved);
    await expect(refused).rejects.toBeInstanceOf(StorageClaimError);
    await expect(refused).rejects.toMatchObject({ reason: 'MissingBlobs' });
    const store = storeKind === 's3' ? `s3://${env.OPENPDS_S3_BUCKET}/${moved.OPENPDS_S3_PREFIX}` : `${blobsDir()} (local disk)`;
    await expect(refused).rejects.toThrow(`the blob store ${store}`);
    await expect(refused).rejects.toThrow(/is empty and has no claim .* but this database \(instance [0-9a-f-]{36}, domain "default"\) records 1 stored blob\(s\).*point it back at the store that holds the blobs/s);
    if (storeKind === 'local') expect(existsSync(path.join(blobsDir(), CLAIM_KEY))).toBe(false);

    moveBack();
    const server = await startServer(env);
    try {
      expect(await download(createApiClient(server.url), file)).toEqual(file.content);
    } finally {
      await server.close();
    }
  }, 60_000);

  test('OPENPDS_STORAGE_CLAIM=takeover serves the empty store anyway, for O&M who know the blobs are gone', async () => {
    const moved = moveStore();
    try {
      const server = await startServer({ ...moved, OPENPDS_STORAGE_CLAIM: 'takeover' });
      try {
        expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      } finally {
        await server.close();
      }
    } finally {
      if (storeKind === 'local') {
        rmSync(blobsDir(), { recursive: true, force: true });
        moveBack();
      }
    }
  }, 60_000);

  if (storeKind === 's3') {
    test('a store unreachable at start and found empty at the retry: /readyz answers 503 naming both, never claimed', async () => {
      // radosgw behind a proxy that resets every connection until the data plane is up.
      const proxy = await startTcpProxy(new URL(env.OPENPDS_S3_ENDPOINT!));
      proxy.mode = 'reset';
      const server = await startServer({ ...moveStore(), OPENPDS_S3_ENDPOINT: proxy.url });
      try {
        expect(await (await fetch(`${server.url}/readyz`)).json()).toMatchObject({ storage_claim: expect.stringMatching(/^the blob store claim could not be checked/) });
        proxy.mode = 'pass';
        let body: { storage_claim?: string } = {};
        const deadline = Date.now() + 20_000;
        while (!body.storage_claim?.includes('is empty') && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 250));
          const res = await fetch(`${server.url}/readyz`);
          expect(res.status).toBe(503);
          body = (await res.json()) as typeof body;
        }
        expect(body.storage_claim).toMatch(/^the blob store s3:\/\/.* is empty and has no claim .* this database \(instance .*\) records 1 stored blob\(s\)/);
        expect(server.deps.storageClaim?.problem()).toMatchObject({ code: 'ServiceUnavailable.StorageClaimed' });
        expect(await server.deps.store.head(CLAIM_KEY)).toBeNull();
      } finally {
        await server.close();
        await proxy.close();
      }
    }, 60_000);
  }
});
