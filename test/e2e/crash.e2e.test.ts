/**
 * Crash safety of uploads, against the real CLI: `openpds serve` is killed with SIGKILL while part PUTs
 * are in flight, restarted on the same database, store and data dir, and every upload resumes from
 * `file/list_uploaded_parts`. A part cut mid-transfer must never be listed as uploaded (for local disk
 * the server itself receives the part and dies mid-body; for S3 the part goes straight to radosgw, so the
 * client's connection is cut at the same moment, as when the machine running the client dies).
 * Then an abandoned upload is collected by the GC and the store is checked for orphans both ways.
 * Runs on PostgreSQL + radosgw S3 and on the embedded default, PGlite + local disk (PGlite's data
 * directory is reopened after the crash, which exercises its recovery).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { ListMultipartUploadsCommand, S3Client, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import pg from 'pg';
import { createPgliteDb } from '../../api-server/src/db/pglite.db';
import { ADMIN_PASSWORD, createApiClient, testServerEnv, type ApiClient } from '../support/test-server';
import { freePort, killAllChildServers, startChildServer, withServerOutput, type ChildServer } from './support/child-server';
import { MiB, downloadSha1, randomContent, type Content } from './support/content';

jest.setTimeout(90_000);

const PART_SIZE = 5 * MiB;
const PARTS = 4;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

interface Upload {
  name: string;
  content: Content;
  fileId: string;
  uploadId: string;
  /** Parts fully uploaded before the crash. */
  done: number[];
  /** The part whose PUT is cut by the crash. */
  cut: number;
}

const partOf = (content: Content, n: number) => content.slice((n - 1) * PART_SIZE, n * PART_SIZE);

async function putPart(url: string, body: Buffer): Promise<void> {
  const res = await fetch(url, { method: 'PUT', body });
  if (!res.ok) throw new Error(`PUT part: ${res.status} ${await res.text()}`);
}

/**
 * Starts a PUT with the full Content-Length, sends the first half of the body and then stalls, so the
 * request is still in flight when the server dies. `sent` resolves once the half has left this process;
 * `result` settles when the request ends (it must fail: its body was never finished).
 */
function stalledPut(url: string, body: Buffer) {
  const req = request(url, { method: 'PUT', headers: { 'content-length': String(body.length) } });
  const result = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
  const sent = new Promise<void>((resolve, reject) => req.write(body.subarray(0, body.length / 2), (err) => (err ? reject(err) : resolve())));
  return { sent, result, cut: () => req.destroy() };
}

const SETUPS = [
  ['pg', 's3'],
  ['pglite', 'local'],
] as const;

/**
 * Each block's first server, started with the suite: the PGlite one (3-4 s to start, most of it compiling
 * PostgreSQL's WebAssembly) gets ready while the PostgreSQL block runs instead of after it. A block's
 * servers are its own to stop; the suite stops whatever is left.
 */
const firstServers = new Map<string, { setup: Promise<{ env: Record<string, string>; dataDir: string; port: number }>; server: Promise<ChildServer> }>();
beforeAll(() => {
  for (const [dbKind, storeKind] of SETUPS) {
    const setup = (async () => {
      const { env, dataDir } = await testServerEnv(dbKind, storeKind, { OPENPDS_LOG_LEVEL: 'warn' });
      // One port for every restart: a resuming client reconnects to the same address.
      return { env, dataDir, port: await freePort() };
    })();
    const server = setup.then(({ env, port }) => startChildServer(env, port));
    for (const started of [setup, server]) started.catch(() => undefined); // reported by the block's beforeAll
    firstServers.set(dbKind, { setup, server });
  }
});
afterAll(() => killAllChildServers());

describe.each(SETUPS)('kill -9 during uploads on %s + %s', (dbKind, storeKind) => {
  let env: Record<string, string>;
  let dataDir: string;
  let port: number;
  let server: ChildServer | undefined;
  let api: ApiClient;
  let token: string;
  let driveId: string;
  const uploads: Upload[] = [];
  const localStore = () => path.join(dataDir, 'blobs');

  beforeAll(async () => {
    const first = firstServers.get(dbKind)!;
    ({ env, dataDir, port } = await first.setup);
    server = await first.server;
    api = createApiClient(server.url);
  });
  afterAll(async () => {
    await server?.kill9();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const step = (name: string, fn: () => Promise<void>) => it(name, () => withServerOutput(server, fn));

  step('kills the server while part PUTs are in flight', async () => {
    const session = await api.login('admin', ADMIN_PASSWORD);
    token = session.access_token;
    driveId = session.default_drive_id;
    // A: parts 1-2 done, 3 cut. B: part 1 done, 2 cut. C: nothing done, 1 cut. Last parts are short.
    const plans: [string, number[], number][] = [['a.bin', [1, 2], 3], ['b.bin', [1], 2], ['c.bin', [], 1]];
    const stalled: ReturnType<typeof stalledPut>[] = [];
    for (const [name, done, cut] of plans) {
      const content = randomContent((PARTS - 1) * PART_SIZE + MiB + 321);
      const created = await api.ok('/v2/file/create', {
        drive_id: driveId, parent_file_id: 'root', name, type: 'file', size: content.size,
        part_info_list: Array.from({ length: PARTS }, (_, i) => ({ part_number: i + 1 })),
      }, token);
      const urls = new Map<number, string>(created.part_info_list.map((p: { part_number: number; upload_url: string }) => [p.part_number, p.upload_url]));
      for (const n of done) await putPart(urls.get(n)!, partOf(content, n));
      uploads.push({ name, content, fileId: created.file_id, uploadId: created.upload_id, done, cut });
      stalled.push(stalledPut(urls.get(cut)!, partOf(content, cut)));
    }
    await Promise.all(stalled.map((s) => s.sent));
    if (storeKind === 'local') {
      // Wait until the server is writing each cut part into its upload directory.
      await waitFor(() => uploads.every((u) => readdirSync(path.join(localStore(), 'uploads', storeUploadIdOf(u))).some((f) => f.startsWith('.tmp-') && statSync(path.join(localStore(), 'uploads', storeUploadIdOf(u), f)).size > 0)), 'part temp files');
    } else {
      await new Promise((r) => setTimeout(r, 300)); // let radosgw receive the first half
    }
    let settledBeforeKill = 0;
    for (const s of stalled) void s.result.then(() => settledBeforeKill++, () => settledBeforeKill++);
    await new Promise((r) => setImmediate(r));
    // Still in flight at the moment of the kill: none of the cut PUTs has had an answer.
    expect(settledBeforeKill).toBe(0);
    await server!.kill9();
    stalled.forEach((s) => s.cut());
    const outcomes = await Promise.allSettled(stalled.map((s) => s.result));
    // No cut PUT may have been acknowledged as a success.
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value < 300 : false))).toEqual([false, false, false]);
  });

  step('restarts on the same database and store; resumes each upload from list_uploaded_parts', async () => {
    server = await startChildServer(env, port);
    // Tokens are signed with the configured secret: a client's session survives the restart.
    for (const u of uploads) {
      const ref = { drive_id: driveId, file_id: u.fileId, upload_id: u.uploadId };
      const listed = await api.ok('/v2/file/list_uploaded_parts', ref, token);
      // Exactly the parts that finished before the kill, each with the size and MD5 ETag of the bytes sent.
      expect(listed.uploaded_parts.map((p: { part_number: number; part_size: number; etag: string }) => [p.part_number, p.part_size, p.etag.replace(/"/g, '')]))
        .toEqual(u.done.map((n) => [n, PART_SIZE, md5(partOf(u.content, n))]));
      const have = new Set<number>(listed.uploaded_parts.map((p: { part_number: number }) => p.part_number));
      const missing = Array.from({ length: PARTS }, (_, i) => i + 1).filter((n) => !have.has(n));
      expect(missing).toContain(u.cut);
      const fresh = await api.ok('/v2/file/get_upload_url', { ...ref, part_info_list: missing.map((n) => ({ part_number: n })) }, token);
      await Promise.all(fresh.part_info_list.map((p: { part_number: number; upload_url: string }) => putPart(p.upload_url, partOf(u.content, p.part_number))));
      const file = await api.ok('/v2/file/complete', ref, token);
      expect(file).toMatchObject({ status: 'available', size: u.content.size });
    }
    // No content_hash was declared: the server's job hashes each upload moments after complete.
    for (const u of uploads) {
      await waitFor(async () => (await api.ok('/v2/file/get', { drive_id: driveId, file_id: u.fileId }, token)).content_hash === u.content.sha1(), `content_hash of ${u.name}`);
    }
    for (const u of uploads) {
      const { url } = await api.ok('/v2/file/get_download_url', { drive_id: driveId, file_id: u.fileId }, token);
      expect(await downloadSha1(url)).toEqual({ status: 200, sha1: u.content.sha1(), size: u.content.size });
    }
    expect((await api.ok('/v2/drive/get', { drive_id: driveId }, token)).used_size).toBe(uploads.reduce((s, u) => s + u.content.size, 0));
  });

  step('collects an abandoned upload: no orphan parts or objects, every blob row has its object', async () => {
    const content = randomContent(PART_SIZE + 1000);
    const abandoned = await api.ok('/v2/file/create', {
      drive_id: driveId, parent_file_id: 'root', name: 'abandoned.bin', type: 'file', size: content.size, part_info_list: [{ part_number: 1 }, { part_number: 2 }],
    }, token);
    await putPart(abandoned.part_info_list[0].upload_url, partOf(content, 1));

    // There is no HTTP endpoint for the GC, so it runs the way production runs it: inside `openpds serve`,
    // on its timer, with its default grace (a shorter one than the upload URLs' lifetime is refused at
    // start): the session is aged past it instead, while the server is down. Doing it through a restart
    // (rather than importing the GC service) also keeps a single process on PGlite's data dir, which only
    // one process may open.
    await server!.kill9();
    await queryDb(`UPDATE upload_sessions SET updated_at = now() - interval '2 days' WHERE upload_id = '${abandoned.upload_id}'`);
    server = await startChildServer({ ...env, OPENPDS_GC_INTERVAL_SECONDS: '1' }, port);
    await waitFor(async () => (await gcDeleted('upload')) >= 1, 'a GC run that collected the abandoned upload');

    expect((await api.call('/v2/file/list_uploaded_parts', { drive_id: driveId, file_id: abandoned.file_id, upload_id: abandoned.upload_id }, token)).status).toBe(404);
    expect((await api.call('/v2/file/get', { drive_id: driveId, file_id: abandoned.file_id }, token)).status).toBe(404);
    // The GC never takes a referenced blob: every completed file still downloads whole.
    for (const u of uploads) {
      const { url } = await api.ok('/v2/file/get_download_url', { drive_id: driveId, file_id: u.fileId }, token);
      expect((await downloadSha1(url)).sha1).toBe(u.content.sha1());
    }

    // Stop the server before reading the database: PGlite's directory must not be opened by two processes.
    await server!.kill9();
    const [rows, openSessions] = await queryDb('SELECT storage_key FROM blobs ORDER BY storage_key', `SELECT upload_id FROM upload_sessions WHERE status <> 'completed'`);
    const keys = rows!.map((r) => r.storage_key as string);
    expect(keys).toHaveLength(uploads.length);
    expect(openSessions).toEqual([]);
    const store = await listStore();
    expect(store.multipartUploads).toEqual([]);
    expect(store.objects.sort()).toEqual(keys);
    expect(store.stray).toEqual([]);
  });

  function storeUploadIdOf(u: Upload): string {
    // The local store's upload directory is the one whose record names this session's storage key.
    const dir = path.join(localStore(), 'uploads');
    const found = readdirSync(dir).find((id) => {
      const record = path.join(dir, id, 'upload.json');
      return existsSync(record) && readFileSync(record, 'utf8').includes(`blobs/${u.uploadId}`);
    });
    if (!found) throw new Error(`no local multipart upload for ${u.uploadId}`);
    return found;
  }

  async function gcDeleted(kind: string): Promise<number> {
    const text = await (await fetch(`${server!.url}/metrics`)).text();
    const match = new RegExp(`^openpds_blob_gc_deleted_total\\{kind="${kind}"\\} (\\d+)`, 'm').exec(text);
    return match ? Number(match[1]) : 0;
  }

  /**
   * Each statement's rows, in order, over one connection (PGlite: one open of the directory). Opened as
   * `openpds admin` opens it (shortLived: V8's Liftoff compiles PostgreSQL's WebAssembly) for a few
   * statements: as `serve` opens it, TurboFan alone, the first open in this process took 3 s.
   */
  async function queryDb(...statements: string[]): Promise<Record<string, unknown>[][]> {
    const results: Record<string, unknown>[][] = [];
    if (dbKind === 'pg') {
      const client = new pg.Client({ connectionString: env.OPENPDS_DATABASE_URL });
      await client.connect();
      try {
        for (const sql of statements) results.push((await client.query(sql)).rows);
        return results;
      } finally {
        await client.end();
      }
    }
    const db = await createPgliteDb(path.join(dataDir, 'db'), { shortLived: true });
    try {
      for (const sql of statements) results.push(await db.query(sql));
      return results;
    } finally {
      await db.close();
    }
  }

  /**
   * Store keys (without the store's own prefix), open multipart uploads, and anything else left behind. The
   * store's claim (`openpds-claim.json`, which names the data plane that owns it) is no leftover: it must be
   * there, and is left out of the lists.
   */
  async function listStore(): Promise<{ objects: string[]; multipartUploads: string[]; stray: string[] }> {
    const listed = await listStoreWithClaim();
    expect(listed.objects.includes(CLAIM) || listed.stray.includes(CLAIM)).toBe(true);
    const unclaimed = (keys: string[]) => keys.filter((k) => k !== CLAIM);
    return { objects: unclaimed(listed.objects), multipartUploads: listed.multipartUploads, stray: unclaimed(listed.stray) };
  }

  async function listStoreWithClaim(): Promise<{ objects: string[]; multipartUploads: string[]; stray: string[] }> {
    if (storeKind === 'local') {
      const root = localStore();
      const walk = (dir: string, prefix = ''): string[] =>
        existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name), `${prefix}${e.name}/`) : [prefix + e.name])) : [];
      const objects = walk(path.join(root, 'objects'));
      // Part files and the temp files of cut parts live in uploads/; assembling writes through tmp/.
      return { objects, multipartUploads: walk(path.join(root, 'uploads')), stray: walk(path.join(root, 'tmp')) };
    }
    const client = new S3Client({
      endpoint: env.OPENPDS_S3_ENDPOINT,
      region: env.OPENPDS_S3_REGION!,
      forcePathStyle: true,
      credentials: { accessKeyId: env.OPENPDS_S3_ACCESS_KEY_ID!, secretAccessKey: env.OPENPDS_S3_SECRET_ACCESS_KEY! },
    });
    const Bucket = env.OPENPDS_S3_BUCKET!;
    const Prefix = env.OPENPDS_S3_PREFIX!;
    try {
      const all: string[] = [];
      for await (const page of paginateListObjectsV2({ client }, { Bucket, Prefix })) for (const o of page.Contents ?? []) all.push(o.Key!.slice(Prefix.length));
      const mpu = await client.send(new ListMultipartUploadsCommand({ Bucket, Prefix }));
      return {
        objects: all.filter((k) => k.startsWith('blobs/')),
        multipartUploads: (mpu.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`),
        stray: all.filter((k) => !k.startsWith('blobs/')),
      };
    } finally {
      client.destroy();
    }
  }
});

const CLAIM = 'openpds-claim.json';

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
