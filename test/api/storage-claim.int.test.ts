/**
 * The storage claim end to end (storage-claim.ts), on local disk and on radosgw S3: data planes that share
 * one store but not one database must not both serve it, since each one's blob GC deletes whatever its own
 * database does not know. On local disk "one store" is a blob directory two data dirs share (a symlink here;
 * a shared volume in life); on S3 the same bucket and prefix. The databases are PostgreSQL's: these tests
 * start some twenty data planes on fresh databases, a PGlite one costs seconds to create, and the claim
 * reads its database through the same SQL either way (migration 007 runs on PGlite at every PGlite start of
 * the other suites).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { startServer, type RunningServer } from '../../api-server/src/main';
import type { BlobStore } from '../../api-server/src/storage/blob-store';
import { CLAIM_KEY, StorageClaimError, type ClaimRecord } from '../../api-server/src/storage/storage-claim';
import { STORAGE_CLAIM_ANNOTATION } from '../../operator/src/charts/storage-claim';
import { ADMIN_PASSWORD, closeDroppingIdle, createApiClient, testServerEnv, type ApiClient } from '../support/test-server';

const ROOT = path.join(__dirname, '../..');

async function readClaim(store: BlobStore): Promise<ClaimRecord> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(CLAIM_KEY)) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as ClaimRecord;
}

async function instanceIdOf(server: RunningServer): Promise<string> {
  const [row] = await server.deps.db.query<{ value: string }>(`SELECT value FROM instance_settings WHERE name = 'instance_id'`);
  return row!.value;
}

/** Uploads a small file as admin and lets its hashing job run; resolves to what a download needs. */
async function uploadFile(server: RunningServer, api: ApiClient, name: string) {
  const admin = await api.login('admin', ADMIN_PASSWORD);
  const content = randomBytes(1000);
  const created = await api.ok(
    '/v2/file/create',
    { drive_id: admin.default_drive_id, parent_file_id: 'root', name, type: 'file', size: content.length, part_info_list: [{ part_number: 1 }] },
    admin.access_token,
  );
  const put = await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content });
  expect(put.ok).toBe(true);
  await api.ok('/v2/file/complete', { drive_id: admin.default_drive_id, file_id: created.file_id, upload_id: created.upload_id }, admin.access_token);
  await server.services.jobs.drain();
  return { content, driveId: admin.default_drive_id, fileId: created.file_id as string, token: admin.access_token };
}

async function download(api: ApiClient, file: { driveId: string; fileId: string; token: string }): Promise<Buffer> {
  const link = await api.ok('/v2/file/get_download_url', { drive_id: file.driveId, file_id: file.fileId }, file.token);
  const res = await fetch(link.url);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** The GC with no grace period, so everything its database does not know is fair game. */
async function collectEverything(server: RunningServer) {
  await new Promise((r) => setTimeout(r, 5));
  return server.services.gc.run({ graceSeconds: 0 });
}

describe.each([
  ['pg', 'local'],
  ['pg', 's3'],
] as const)('storage claim on %s + %s', (dbKind, storeKind) => {
  const dataDirs: string[] = [];
  const running = new Set<RunningServer>();
  const prefix = `claim-${randomBytes(5).toString('hex')}/`;

  /** A data plane's environment: its own database and data dir, on the store this suite shares. */
  async function planeEnv(extra: Record<string, string> = {}, sharedBlobDir?: string) {
    const { env, dataDir } = await testServerEnv(dbKind, storeKind, { ...(storeKind === 's3' ? { OPENPDS_S3_PREFIX: prefix } : {}), ...extra });
    dataDirs.push(dataDir);
    if (storeKind === 'local' && sharedBlobDir) symlinkSync(sharedBlobDir, path.join(dataDir, 'blobs'));
    return { env, dataDir };
  }

  async function start(env: Record<string, string>) {
    const server = await startServer(env);
    running.add(server);
    return { server, api: createApiClient(server.url) };
  }

  /** Closed without waiting out the shutdown grace for a download's keep-alive connection (closeDroppingIdle). */
  async function stop(server: RunningServer) {
    running.delete(server);
    await closeDroppingIdle(server, () => server.close());
  }

  afterAll(async () => {
    for (const server of running) await closeDroppingIdle(server, () => server.close());
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  // The data plane that owns the store; each test below starts from where the one before left it.
  let owner: Awaited<ReturnType<typeof planeEnv>>;
  let ownerId: string;
  let sharedBlobDir: string | undefined;
  let ownerFile: Awaited<ReturnType<typeof uploadFile>>;

  test('a fresh store is claimed for this database\'s instance, and /readyz says so', async () => {
    owner = await planeEnv({ OPENPDS_DOMAIN_ID: 'owner' });
    sharedBlobDir = storeKind === 'local' ? path.join(owner.dataDir, 'blobs') : undefined;
    if (sharedBlobDir) mkdirSync(sharedBlobDir, { recursive: true });
    const { server, api } = await start(owner.env);
    ownerId = await instanceIdOf(server);
    expect(ownerId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await readClaim(server.deps.store)).toMatchObject({ kind: 'openpds-storage-claim', instance_id: ownerId, domain_id: 'owner' });
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', storage_claim: 'ok' });
    ownerFile = await uploadFile(server, api, 'owned.bin');
    await stop(server);
  });

  test('a restart of the same instance keeps serving its store', async () => {
    const { server, api } = await start(owner.env);
    expect(await instanceIdOf(server)).toBe(ownerId);
    expect(await readClaim(server.deps.store)).toMatchObject({ instance_id: ownerId });
    expect(await download(api, ownerFile)).toEqual(ownerFile.content);
    await stop(server);
  });

  test('a second data plane on the store is refused, and the first one\'s blobs survive its GC', async () => {
    const { server, api } = await start(owner.env);
    const second = await planeEnv({ OPENPDS_DOMAIN_ID: 'second' }, sharedBlobDir);
    const refused = startServer(second.env);
    await expect(refused).rejects.toBeInstanceOf(StorageClaimError);
    await expect(refused).rejects.toMatchObject({ reason: 'HeldByOther', holder: { instance_id: ownerId, domain_id: 'owner' } });
    await expect(refused).rejects.toThrow(/claimed by instance .* of domain "owner".*different store.*OPENPDS_STORAGE_CLAIM=takeover/s);
    // The remedy as a Domain run by the operator takes it (operator/src/charts/storage-claim.ts).
    await expect(refused).rejects.toThrow(`kubectl annotate domain NAME ${STORAGE_CLAIM_ANNOTATION}=takeover`);
    // The refused one left the claim alone; the owner's GC keeps what its database knows.
    expect(await readClaim(server.deps.store)).toMatchObject({ instance_id: ownerId });
    const report = await collectEverything(server);
    expect(report.orphan_objects).toBe(0);
    expect(await download(api, ownerFile)).toEqual(ownerFile.content);
    await stop(server);
  });

  test('`openpds serve` on a store another instance claims exits 1 and says who holds it', async () => {
    const second = await planeEnv({ OPENPDS_DOMAIN_ID: 'second', OPENPDS_LOG_LEVEL: 'error' }, sharedBlobDir);
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/openpds.js'), 'serve'], { env: { ...process.env, ...second.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    // One JSON line (level 60) with a stable code, as every failed start prints.
    const fatal = output.split('\n').flatMap((line) => {
      try {
        return [JSON.parse(line) as { level?: number; msg?: string; code?: string }];
      } catch {
        return [];
      }
    }).find((line) => line.level === 60);
    expect(fatal?.code).toBe('StorageClaim.HeldByOther');
    expect(fatal?.msg).toContain(`the blob store`);
    expect(fatal?.msg).toContain(`claimed by instance ${ownerId} of domain "owner"`);
  }, 60_000);

  test('an empty database on an unclaimed store with blobs is refused; the owning database claims it back', async () => {
    // An installation from before claims: blobs, no claim object.
    {
      const { server } = await start(owner.env);
      await server.deps.store.delete(CLAIM_KEY);
      await stop(server);
    }
    const empty = await planeEnv({ OPENPDS_DOMAIN_ID: 'empty' }, sharedBlobDir);
    const refused = startServer(empty.env);
    await expect(refused).rejects.toMatchObject({ name: 'StorageClaimError', reason: 'UnknownBlobs' });
    await expect(refused).rejects.toThrow(/knows none of them.*empty database/s);

    const { server, api } = await start(owner.env);
    expect(await readClaim(server.deps.store)).toMatchObject({ instance_id: ownerId, domain_id: 'owner' });
    expect(await download(api, ownerFile)).toEqual(ownerFile.content);
    await stop(server);
  });

  test('a copy of the owner\'s database (same instance id) serving another domain on its store is refused: CopiedDatabase', async () => {
    // A restored backup started as "staging", pointed at production's store: its database carries the
    // owner's instance id. Made here by giving a fresh database that id, then starting it on the store.
    const copy = await planeEnv({ OPENPDS_DOMAIN_ID: 'staging', ...(storeKind === 's3' ? { OPENPDS_S3_PREFIX: `claim-${randomBytes(5).toString('hex')}/` } : {}) });
    {
      const { server } = await start(copy.env); // its own fresh store: claims that one
      await server.deps.db.query(`UPDATE instance_settings SET value = $1 WHERE name = 'instance_id'`, [ownerId]);
      await stop(server);
    }
    const onOwnersStore = { ...copy.env, ...(storeKind === 's3' ? { OPENPDS_S3_PREFIX: prefix } : {}) };
    if (storeKind === 'local') {
      rmSync(path.join(copy.dataDir, 'blobs'), { recursive: true, force: true });
      symlinkSync(sharedBlobDir!, path.join(copy.dataDir, 'blobs'));
    }
    const refused = startServer(onOwnersStore);
    await expect(refused).rejects.toMatchObject({ name: 'StorageClaimError', reason: 'CopiedDatabase' });
    await expect(refused).rejects.toThrow(/claimed by this database's instance .* for domain "\w+".*serves domain "staging".*a copy/s);
  });

  test('OPENPDS_STORAGE_CLAIM=takeover claims the store; the old owner\'s GC then deletes nothing and it stops serving', async () => {
    const { server: old, api: oldApi } = await start(owner.env);
    const taker = await planeEnv({ OPENPDS_DOMAIN_ID: 'taker', OPENPDS_STORAGE_CLAIM: 'takeover' }, sharedBlobDir);
    const { server, api } = await start(taker.env);
    const takerId = await instanceIdOf(server);
    expect(await readClaim(server.deps.store)).toMatchObject({ instance_id: takerId, domain_id: 'taker' });
    const takerFile = await uploadFile(server, api, 'taken.bin');

    // The old owner, still running, re-checks the claim before its GC deletes anything.
    await expect(collectEverything(old)).rejects.toMatchObject({ reason: 'HeldByOther', holder: { instance_id: takerId } });
    expect(await download(api, takerFile)).toEqual(takerFile.content);
    const ready = await fetch(`${oldApi.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { storage_claim: string }).storage_claim).toContain(`claimed by instance ${takerId} of domain "taker"`);
    expect(await oldApi.call('/v2/account/login', { username: 'admin', password: ADMIN_PASSWORD })).toMatchObject({
      status: 503,
      body: { code: 'ServiceUnavailable.StorageClaimed' },
    });
    await stop(old);
    await expect(startServer(owner.env)).rejects.toMatchObject({ reason: 'HeldByOther' });

    // With takeover still set, a restart is an ordinary one.
    await stop(server);
    const again = await start(taker.env);
    expect(await readClaim(again.server.deps.store)).toMatchObject({ instance_id: takerId });
    expect(await download(again.api, takerFile)).toEqual(takerFile.content);
    await stop(again.server);
  });

  test('two data planes starting at once on a fresh store: one claims it, the other is refused', async () => {
    const store: Record<string, string> = storeKind === 's3' ? { OPENPDS_S3_PREFIX: `claim-${randomBytes(5).toString('hex')}/` } : {};
    const a = await planeEnv({ ...store, OPENPDS_DOMAIN_ID: 'racer-a' });
    const sharedDir = storeKind === 'local' ? path.join(a.dataDir, 'blobs') : undefined;
    if (sharedDir) mkdirSync(sharedDir, { recursive: true });
    const b = await planeEnv({ ...store, OPENPDS_DOMAIN_ID: 'racer-b' }, sharedDir);
    const results = await Promise.allSettled([startServer(a.env), startServer(b.env)]);
    const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    for (const server of started) running.add(server);
    const refusals = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as StorageClaimError] : []));
    expect(started).toHaveLength(1);
    expect(refusals).toMatchObject([{ reason: 'HeldByOther' }]);
    expect(await readClaim(started[0]!.deps.store)).toMatchObject({ instance_id: await instanceIdOf(started[0]!) });
    await stop(started[0]!);
  });

  test('a claim that is not an OpenPDS claim is refused', async () => {
    // A store of its own (local: its own data dir; S3: a prefix of its own).
    const own = await planeEnv(storeKind === 's3' ? { OPENPDS_S3_PREFIX: `claim-${randomBytes(5).toString('hex')}/` } : {});
    const first = await start(own.env);
    await first.server.deps.store.put(CLAIM_KEY, Readable.from([Buffer.from('not json')]));
    await stop(first.server);
    await expect(startServer(own.env)).rejects.toMatchObject({ reason: 'Unreadable' });
  });
});

describe('storage claim re-checked by the GC', () => {
  test('a store failing for a moment aborts that GC run but leaves the API serving; a refusal would not', async () => {
    const { env, dataDir } = await testServerEnv('pg', 'local');
    const server = await startServer(env);
    try {
      const store = server.deps.store;
      const get = store.get.bind(store);
      store.get = (async () => {
        throw new Error('store unreachable for a moment');
      }) as typeof store.get;
      await expect(server.services.gc.run({ graceSeconds: 0 })).rejects.toThrow('store unreachable for a moment');
      store.get = get;
      expect(server.deps.storageClaim?.problem()).toBeUndefined();
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      await createApiClient(server.url).login('admin', ADMIN_PASSWORD);
    } finally {
      await closeDroppingIdle(server, () => server.close());
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('storage claim while the store cannot be reached at start', () => {
  test('the API answers 503 and jobs wait until a retry can check the claim; then it serves', async () => {
    const { env, dataDir } = await testServerEnv('pg', 'local');
    // The blobs directory is a file: nothing can be read or written until it is moved away.
    writeFileSync(path.join(dataDir, 'blobs'), 'not a directory');
    const server = await startServer(env);
    try {
      const api = createApiClient(server.url);
      expect(await api.call('/v2/account/login', { username: 'admin', password: ADMIN_PASSWORD })).toMatchObject({
        status: 503,
        body: { code: 'ServiceUnavailable.StorageClaimUnchecked' },
      });
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { storage_claim: string }).storage_claim).toMatch(/^the blob store claim could not be checked: /);

      rmSync(path.join(dataDir, 'blobs'));
      const deadline = Date.now() + 20_000;
      while ((await fetch(`${server.url}/readyz`)).status !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      expect(await readClaim(server.deps.store)).toMatchObject({ instance_id: await instanceIdOf(server) });
      await api.login('admin', ADMIN_PASSWORD);
    } finally {
      await closeDroppingIdle(server, () => server.close());
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
