/**
 * The PDS API end to end in one process, on both database and store combinations the product ships:
 * PGlite + local disk (the embedded default) and PostgreSQL + radosgw S3 (production).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { BlobGc } from '../../api-server/src/modules/gc/blob-gc.service';
import { createBlobHashing } from '../../api-server/src/modules/uploads/blob-hashing';
import { computeProofCode } from '../../api-server/src/modules/uploads/proof';
import { compareBuffersByBytes } from '../support/buffer-equality';
import { ADMIN_PASSWORD, startTestServer, type ApiClient } from '../support/test-server';

// Downloads are checked whole with toEqual: byte for byte, not jest's index by index (seconds each).
compareBuffersByBytes();

/**
 * Runs the GC with no grace period over everything the test did so far. Times it compares are stamped by
 * the database (rounded to the millisecond) and the store (S3: to the second), the cut-off by this
 * process: a few milliseconds' wait keeps "now" from falling inside the last stamp's millisecond.
 */
async function collectEverything(server: { services: { gc: BlobGc } }) {
  await new Promise((r) => setTimeout(r, 5));
  return server.services.gc.run({ graceSeconds: 0 });
}

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
const MiB = 1024 * 1024;

async function putParts(parts: { part_number: number; upload_url: string }[], content: Buffer, partSize: number) {
  await Promise.all(
    parts.map(async (p) => {
      const body = content.subarray((p.part_number - 1) * partSize, p.part_number * partSize);
      const res = await fetch(p.upload_url, { method: 'PUT', body });
      if (!res.ok) throw new Error(`part ${p.part_number}: ${res.status} ${await res.text()}`);
    }),
  );
}

/**
 * Runs the jobs due on the server under test (content hashing after uploads without a declared hash), so
 * what follows sees hashed content. Set per server in beforeAll.
 */
let settleJobs: () => Promise<unknown> = async () => undefined;

/** Uploads content as a new file through create → PUT parts → complete, then lets its hashing run. */
async function upload(api: ApiClient, token: string, driveId: string, name: string, content: Buffer, options: { partSize?: number; parent?: string; mode?: string } = {}) {
  const partSize = options.partSize ?? Math.max(content.length, 1);
  const partCount = Math.max(Math.ceil(content.length / partSize), 1);
  const created = await api.ok('/v2/file/create', {
    drive_id: driveId,
    parent_file_id: options.parent ?? 'root',
    name,
    type: 'file',
    size: content.length,
    check_name_mode: options.mode ?? 'auto_rename',
    part_info_list: Array.from({ length: partCount }, (_, i) => ({ part_number: i + 1 })),
  }, token);
  await putParts(created.part_info_list, content, partSize);
  await api.ok('/v2/file/complete', { drive_id: driveId, file_id: created.file_id, upload_id: created.upload_id }, token);
  await settleJobs();
  return api.ok('/v2/file/get', { drive_id: driveId, file_id: created.file_id }, token);
}

async function download(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

describe.each([
  ['pglite', 'local'],
  ['pg', 's3'],
] as const)('data plane on %s + %s', (dbKind, storeKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let admin: { access_token: string; refresh_token: string; user_id: string; default_drive_id: string };
  // S3 needs parts of at least 5 MiB but the last.
  const partSize = 5 * MiB;

  beforeAll(async () => {
    server = await startTestServer(dbKind, storeKind);
    api = server.api;
    settleJobs = () => server.services.jobs.drain();
    admin = await api.login('admin', ADMIN_PASSWORD);
  });
  afterAll(() => server?.stop());

  /**
   * Until a statement of this database waits on a lock another transaction holds (PostgreSQL): the
   * interleaving a race test sets up, seen instead of assumed after a fixed 300 ms.
   */
  async function waitingOnLock() {
    const waiting = async () =>
      (await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`))[0]!.n;
    for (const deadline = Date.now() + 10_000; (await waiting()) === 0; await new Promise((r) => setTimeout(r, 10))) {
      if (Date.now() > deadline) throw new Error('no statement came to wait on the held lock');
    }
  }

  async function newUser(name: string, totalSize?: number) {
    const user = await api.ok('/v2/user/create', { user_name: name, password: `${name}-password` }, admin.access_token);
    if (totalSize !== undefined) await api.ok('/v2/drive/update', { drive_id: user.default_drive_id, total_size: totalSize }, admin.access_token);
    return api.login(name, `${name}-password`);
  }

  describe('authentication', () => {
    it('refuses calls without a valid token, and wrong passwords', async () => {
      expect((await api.call('/v2/drive/list_my_drives', {})).body).toMatchObject({ code: 'AccessTokenInvalid' });
      expect((await api.call('/v2/drive/list_my_drives', {}, admin.access_token + 'x')).status).toBe(401);
      const wrong = await api.call('/v2/account/login', { username: 'admin', password: 'nope' });
      expect(wrong).toMatchObject({ status: 401, body: { code: 'InvalidParameter.Credentials' } });
      expect(JSON.stringify(wrong.body)).not.toMatch(/at \w+ \(/);
    });

    it('throttles password guessing per user name and address: 429 with Retry-After, even for the right password', async () => {
      await api.ok('/v2/user/create', { user_name: `guessed-${dbKind}`, password: 'the-right-password' }, admin.access_token);
      for (let i = 0; i < 10; i++) expect((await api.call('/v2/account/login', { username: `guessed-${dbKind}`, password: `wrong-${i}` })).status).toBe(401);
      const res = await fetch(`${api.url}/v2/account/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: `GUESSED-${dbKind}`, password: 'the-right-password' }) });
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await res.json()).toMatchObject({ code: 'TooManyRequests.Login' });
      expect((await api.call('/v2/account/login', { username: 'admin', password: ADMIN_PASSWORD })).status).toBe(200);
      // From another address (a proxy on loopback says so) the same user is not locked out.
      const elsewhere = await fetch(`${api.url}/v2/account/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.7' }, body: JSON.stringify({ username: `guessed-${dbKind}`, password: 'the-right-password' }) });
      expect(elsewhere.status).toBe(200);
    });

    it('rotates refresh tokens: each works once', async () => {
      const session = await api.login('admin', ADMIN_PASSWORD);
      const next = await api.ok('/v2/account/token', { refresh_token: session.refresh_token });
      expect(next.access_token).toBeTruthy();
      expect((await api.call('/v2/account/token', { refresh_token: session.refresh_token })).status).toBe(401);
      expect((await api.ok('/v2/user/get', {}, next.access_token)).user_name).toBe('admin');
    });
  });

  describe('users and drives', () => {
    it('gives every new user a default drive and keeps users out of admin calls and others\' drives', async () => {
      const alice = await newUser(`alice-${dbKind}`);
      const drive = await api.ok('/v2/drive/get_default_drive', {}, alice.access_token);
      expect(drive).toMatchObject({ drive_id: alice.default_drive_id, owner: alice.user_id, used_size: 0 });
      expect((await api.call('/v2/user/list', {}, alice.access_token)).status).toBe(403);
      expect((await api.call('/v2/drive/get', { drive_id: admin.default_drive_id }, alice.access_token)).body.code).toBe('NotFound.Drive');
      expect((await api.call('/v2/user/create', { user_name: `alice-${dbKind}` }, admin.access_token)).body.code).toBe('AlreadyExist.User');
      const mine = await api.ok('/v2/drive/list_my_drives', {}, alice.access_token);
      expect(mine.items.map((d: { drive_id: string }) => d.drive_id)).toEqual([alice.default_drive_id]);
    });

    it('guards roles: no escalation by admins or users, the last superadmin stays, disabled users cannot log in', async () => {
      const adminUser = await api.ok('/v2/user/create', { user_name: `ops-${dbKind}`, password: 'ops-password', role: 'admin' }, admin.access_token);
      const ops = await api.login(adminUser.user_name, 'ops-password');
      expect((await api.call('/v2/user/create', { user_name: `x-${dbKind}`, role: 'admin' }, ops.access_token)).body.code).toBe('Forbidden.Role');
      const plain = await newUser(`plain-${dbKind}`);
      expect((await api.call('/v2/user/update', { user_id: plain.user_id, role: 'admin' }, plain.access_token)).status).toBe(403);
      expect((await api.ok('/v2/user/update', { user_id: plain.user_id, nick_name: 'Plain' }, plain.access_token)).nick_name).toBe('Plain');
      expect((await api.call('/v2/user/update', { user_id: admin.user_id, role: 'user' }, admin.access_token)).body.code).toBe('Forbidden.LastSuperadmin');
      expect((await api.call('/v2/user/delete', { user_id: admin.user_id }, admin.access_token)).body.code).toBe('Forbidden.LastSuperadmin');
      await api.ok('/v2/user/update', { user_id: plain.user_id, status: 'disabled' }, ops.access_token);
      expect((await api.call('/v2/account/token', { refresh_token: plain.refresh_token })).status).toBe(401);
      expect((await api.call('/v2/account/login', { username: `plain-${dbKind}`, password: `plain-${dbKind}-password` })).body.code).toBe('Forbidden.UserDisabled');
      await api.ok('/v2/user/delete', { user_id: plain.user_id }, ops.access_token);
      expect((await api.call('/v2/drive/get', { drive_id: plain.default_drive_id }, admin.access_token)).status).toBe(404);
    });

    it('validates bodies: wrong types are 400 with the field named, unknown fields ignored', async () => {
      const r = await api.call('/v2/drive/update', { drive_id: admin.default_drive_id, total_size: 'lots' }, admin.access_token);
      expect(r).toMatchObject({ status: 400, body: { code: 'InvalidParameter.TotalSize' } });
      const ok = await api.call('/v2/drive/get', { drive_id: admin.default_drive_id, surprise: 1 }, admin.access_token);
      expect(ok.status).toBe(200);
      const bad = await fetch(`${api.url}/v2/drive/get`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.access_token}` }, body: '{nope' });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ code: 'InvalidParameter.Body' });
    });
  });

  describe('folders and the tree', () => {
    it('creates, lists with keyset pages, renames, moves, copies and paths', async () => {
      const u = await newUser(`tree-${dbKind}`);
      const d = u.default_drive_id;
      const t = u.access_token;
      const a = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'a', type: 'folder' }, t);
      const b = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: a.file_id, name: 'b', type: 'folder' }, t);
      // mkdir -p semantics under refuse: the existing folder comes back.
      const again = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'a', type: 'folder', check_name_mode: 'refuse' }, t);
      expect(again).toMatchObject({ file_id: a.file_id, exist: true });
      for (let i = 0; i < 7; i++) await api.ok('/v2/file/create', { drive_id: d, parent_file_id: b.file_id, name: `f${i}`, type: 'folder' }, t);

      const names: string[] = [];
      let marker = '';
      do {
        const page = await api.ok('/v2/file/list', { drive_id: d, parent_file_id: b.file_id, limit: 3, marker, order_by: 'name', order_direction: 'DESC' }, t);
        names.push(...page.items.map((f: { name: string }) => f.name));
        marker = page.next_marker;
      } while (marker);
      expect(names).toEqual(['f6', 'f5', 'f4', 'f3', 'f2', 'f1', 'f0']);
      expect((await api.call('/v2/file/list', { drive_id: d, parent_file_id: b.file_id, marker: 'garbage' }, t)).body.code).toBe('InvalidParameter.Marker');

      const path = await api.ok('/v2/file/get_path', { drive_id: d, file_id: b.file_id }, t);
      expect(path.items.map((f: { name: string }) => f.name)).toEqual(['a', 'b']);

      expect((await api.call('/v2/file/move', { drive_id: d, file_id: a.file_id, to_parent_file_id: b.file_id }, t)).body.code).toBe('InvalidParameter.ToParentFileId');
      expect((await api.call('/v2/file/move', { drive_id: d, file_id: a.file_id, to_parent_file_id: a.file_id }, t)).body.code).toBe('InvalidParameter.ToParentFileId');
      const moved = await api.ok('/v2/file/move', { drive_id: d, file_id: b.file_id, to_parent_file_id: 'root', new_name: 'b2' }, t);
      expect(moved).toMatchObject({ parent_file_id: 'root', name: 'b2' });
      expect((await api.call('/v2/file/update', { drive_id: d, file_id: b.file_id, name: 'a' }, t))).toMatchObject({ status: 409, body: { code: 'AlreadyExist.File' } });
      const copy = await api.ok('/v2/file/copy', { drive_id: d, file_id: b.file_id, to_parent_file_id: 'root' }, t);
      expect(copy.name).toBe('b2(1)');
      expect((await api.ok('/v2/file/list', { drive_id: d, parent_file_id: copy.file_id }, t)).items).toHaveLength(7);
      const updated = await api.ok('/v2/file/update', { drive_id: d, file_id: a.file_id, starred: true, labels: ['x'], description: 'hello' }, t);
      expect(updated).toMatchObject({ starred: true, labels: ['x'], description: 'hello' });
    });

    it.each([
      ['empty', '', 'InvalidParameter.Name'],
      ['a slash', 'x/y', 'InvalidParameter.Name'],
      ['..', '..', 'InvalidParameter.Name'],
      ['a NUL', 'n\0ul', 'InvalidParameter.Name'],
      ['1025 bytes', 'a'.repeat(1025), 'InvalidParameter.Name'],
    ])('refuses a name that is %s and creates nothing', async (_label, name, code) => {
      const before = await api.ok('/v2/file/list', { drive_id: admin.default_drive_id }, admin.access_token);
      const r = await api.call('/v2/file/create', { drive_id: admin.default_drive_id, parent_file_id: 'root', name, type: 'folder' }, admin.access_token);
      expect(r).toMatchObject({ status: 400, body: { code } });
      expect(await api.ok('/v2/file/list', { drive_id: admin.default_drive_id }, admin.access_token)).toEqual(before);
    });

    it('applies check_name_mode to uploads: a free name in one statement, clashes renamed, refused, overwritten or ignored', async () => {
      const u = await newUser(`names-${dbKind}`, 100);
      const [t, d] = [u.access_token, u.default_drive_id];
      const folder = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'docs', type: 'folder' }, t);
      const first = await upload(api, t, d, 'a.txt', Buffer.from('one'), { parent: folder.file_id, mode: 'refuse' });
      expect(first).toMatchObject({ name: 'a.txt', parent_file_id: folder.file_id, status: 'available' });
      const create = (name: string, mode: string, parent = folder.file_id) =>
        api.call('/v2/file/create', { drive_id: d, parent_file_id: parent, name, type: 'file', size: 3, check_name_mode: mode, part_info_list: [{ part_number: 1 }] }, t);
      expect(await create('a.txt', 'refuse')).toMatchObject({ status: 409, body: { code: 'AlreadyExist.File', file_id: first.file_id } });
      expect((await upload(api, t, d, 'a.txt', Buffer.from('two'), { parent: folder.file_id, mode: 'auto_rename' })).name).toBe('a(1).txt');
      const overwritten = await upload(api, t, d, 'a.txt', Buffer.from('new'), { parent: folder.file_id, mode: 'overwrite' });
      expect(overwritten).toMatchObject({ file_id: first.file_id, name: 'a.txt', size: 3 });
      expect((await upload(api, t, d, 'a.txt', Buffer.from('dup'), { parent: folder.file_id, mode: 'ignore' })).file_id).not.toBe(first.file_id);
      // Bad names and parents get the same answers as folders do, and leave nothing behind.
      expect((await create('x/y', 'auto_rename')).body.code).toBe('InvalidParameter.Name');
      expect((await create('x', 'auto_rename', first.file_id)).body.code).toBe('InvalidParameter.ParentFileId');
      expect((await create('x', 'auto_rename', 'nope')).body.code).toBe('NotFound.ParentFile');
      const trashed = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'old', type: 'folder' }, t);
      await api.ok('/v2/recyclebin/trash', { drive_id: d, file_id: trashed.file_id }, t);
      expect((await create('x', 'auto_rename', trashed.file_id)).body.code).toBe('NotFound.ParentFile');
      // The drive is checked in the same statement: someone else's drive, and no room for the size.
      const other = await newUser(`names-other-${dbKind}`);
      const intoOther = await api.call('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'z', type: 'file', size: 1 }, other.access_token);
      expect(intoOther).toMatchObject({ status: 404, body: { code: 'NotFound.Drive' } });
      const tooBig = await api.call('/v2/file/create', { drive_id: d, parent_file_id: folder.file_id, name: 'big', type: 'file', size: 101 }, t);
      expect(tooBig).toMatchObject({ status: 403, body: { code: 'QuotaExhausted.Drive' } });
      const byAdmin = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: folder.file_id, name: 'from-admin', type: 'file', size: 1 }, admin.access_token);
      expect(byAdmin.upload_id).toBeTruthy();
      const names = (await api.ok('/v2/file/list', { drive_id: d, parent_file_id: folder.file_id }, t)).items.map((f: { name: string }) => f.name).sort();
      expect(names).toEqual(['a(1).txt', 'a.txt', 'a.txt']);
    });

    it('refuses a parent that is a file or missing, and ids from a drive the caller cannot see', async () => {
      const u = await newUser(`parents-${dbKind}`);
      const f = await upload(api, u.access_token, u.default_drive_id, 'f.txt', Buffer.from('hello'));
      const asParent = await api.call('/v2/file/create', { drive_id: u.default_drive_id, parent_file_id: f.file_id, name: 'x', type: 'folder' }, u.access_token);
      expect(asParent.body.code).toBe('InvalidParameter.ParentFileId');
      expect((await api.call('/v2/file/create', { drive_id: u.default_drive_id, parent_file_id: 'nope', name: 'x', type: 'folder' }, u.access_token)).body.code).toBe('NotFound.ParentFile');
      const other = await newUser(`snoop-${dbKind}`);
      expect((await api.call('/v2/file/get', { drive_id: u.default_drive_id, file_id: f.file_id }, other.access_token)).body.code).toBe('NotFound.Drive');
      expect((await api.call('/v2/file/get', { drive_id: other.default_drive_id, file_id: f.file_id }, other.access_token)).body.code).toBe('NotFound.File');
    });
  });

  describe('upload and download', () => {
    it('uploads in parallel parts, resumes from list_uploaded_parts, downloads with ranges', async () => {
      const u = await newUser(`up-${dbKind}`);
      const content = randomBytes(12 * MiB + 123);
      const created = await api.ok('/v2/file/create', {
        drive_id: u.default_drive_id, parent_file_id: 'root', name: '照片.bin', type: 'file', size: content.length,
        part_info_list: [{ part_number: 1 }, { part_number: 2 }, { part_number: 3 }],
      }, u.access_token);
      expect(created).toMatchObject({ rapid_upload: false, status: 'uploading', file_name: '照片.bin' });
      const ref = { drive_id: u.default_drive_id, file_id: created.file_id, upload_id: created.upload_id };
      await putParts(created.part_info_list.slice(0, 2), content, partSize);

      // Not yet complete: part 3 is missing, the session stays usable.
      expect((await api.call('/v2/file/complete', ref, u.access_token)).body).toMatchObject({ code: 'InvalidParameter.PartMissing', missing_part_numbers: [3] });
      const listed = await api.ok('/v2/file/list_uploaded_parts', ref, u.access_token);
      expect(listed.uploaded_parts.map((p: { part_number: number }) => p.part_number)).toEqual([1, 2]);
      const fresh = await api.ok('/v2/file/get_upload_url', { ...ref, part_info_list: [{ part_number: 3 }] }, u.access_token);
      await putParts(fresh.part_info_list, content, partSize);
      // Uploading files are invisible until complete.
      expect((await api.ok('/v2/file/list', { drive_id: u.default_drive_id }, u.access_token)).items).toHaveLength(0);

      // No content_hash was declared: complete answers once the parts are assembled and their size checked,
      // and a job hashes the content moments later.
      const completed = await api.ok('/v2/file/complete', ref, u.access_token);
      expect(completed).toMatchObject({ status: 'available', size: content.length, content_hash_name: 'sha1', category: 'others' });
      expect((await api.call('/v2/file/complete', ref, u.access_token)).body.code).toBe('UploadCompleted');
      await settleJobs();
      const file = await api.ok('/v2/file/get', { drive_id: u.default_drive_id, file_id: created.file_id }, u.access_token);
      expect(file).toMatchObject({ status: 'available', size: content.length, content_hash: sha1(content) });
      expect((await api.ok('/v2/drive/get', { drive_id: u.default_drive_id }, u.access_token)).used_size).toBe(content.length);

      const link = await api.ok('/v2/file/get_download_url', { drive_id: u.default_drive_id, file_id: file.file_id }, u.access_token);
      const whole = await download(link.url);
      expect(whole.status).toBe(200);
      expect(sha1(whole.body)).toBe(sha1(content));
      expect(whole.headers.get('content-disposition')).toContain(encodeURIComponent('照片.bin'));
      const part = await download(link.url, { range: 'bytes=5242870-5242889' });
      expect(part.status).toBe(206);
      expect(part.body).toEqual(content.subarray(5242870, 5242890));

      // file/download: streamed from local disk; on S3 a 302 to a presigned URL that the client follows with
      // its Range (and without the bearer token, which fetch drops on a cross-origin redirect).
      const downloadPath = `${api.url}/v2/file/download?drive_id=${u.default_drive_id}&file_id=${file.file_id}`;
      const streamed = await download(downloadPath, { authorization: `Bearer ${u.access_token}`, range: 'bytes=-100' });
      expect(streamed.status).toBe(206);
      expect(streamed.body).toEqual(content.subarray(content.length - 100));
      if (storeKind === 'local') expect(streamed.headers.get('etag')).toBe(`"${sha1(content)}"`);
      else {
        const redirect = await fetch(downloadPath, { headers: { authorization: `Bearer ${u.access_token}` }, redirect: 'manual' });
        expect(redirect.status).toBe(302);
        expect(redirect.headers.get('location')).toContain(`${process.env.OPENPDS_TEST_S3_ENDPOINT}/`);
        expect(redirect.headers.get('location')).toContain('X-Amz-Signature=');
        expect(redirect.headers.get('cache-control')).toBe('no-store');
      }
      expect((await download(downloadPath)).status).toBe(401);
    });

    it('says why a download cannot be given: another user\'s drive, a folder, an upload in progress, a trashed file, an unknown revision', async () => {
      const u = await newUser(`dlerr-${dbKind}`);
      const other = await newUser(`dlerr-other-${dbKind}`);
      const d = u.default_drive_id;
      const t = u.access_token;
      const file = await upload(api, t, d, 'a.txt', Buffer.from('content'));
      const folder = await api.ok('/v2/file/create', { drive_id: d, name: 'dir', type: 'folder' }, t);
      const uploading = await api.ok('/v2/file/create', { drive_id: d, name: 'later.bin', type: 'file', size: 10 }, t);
      const code = async (body: Record<string, unknown>, token = t) => (await api.call('/v2/file/get_download_url', body, token)).body.code;
      expect(await code({ drive_id: d, file_id: file.file_id }, other.access_token)).toBe('NotFound.Drive');
      expect(await code({ drive_id: d, file_id: folder.file_id })).toBe('InvalidParameter.FileId');
      expect(await code({ drive_id: d, file_id: uploading.file_id })).toBe('Forbidden.FileStatus');
      expect(await code({ drive_id: d, file_id: file.file_id, revision_id: 'no-such-revision' })).toBe('NotFound.Revision');
      await api.ok('/v2/recyclebin/trash', { drive_id: d, file_id: file.file_id }, t);
      expect(await code({ drive_id: d, file_id: file.file_id })).toBe('NotFound.File');
    });

    it('refuses a tampered or expired signed URL', async () => {
      const u = await newUser(`sig-${dbKind}`);
      const file = await upload(api, u.access_token, u.default_drive_id, 'a.txt', Buffer.from('signed content'));
      const link = await api.ok('/v2/file/get_download_url', { drive_id: u.default_drive_id, file_id: file.file_id, expire_sec: 1 }, u.access_token);
      const tampered = link.url.replace(/(Signature=|signature=)(.)/, (_: string, k: string, c: string) => k + (c === 'a' ? 'b' : 'a'));
      expect((await download(tampered)).status).toBe(403);
      // Refused by the time the fixed 2.2 s wait used to end (expiry is to the second): asked every 100 ms
      // until then, and the answer then must be 403 as before.
      const expiredBy = Date.now() + 2200;
      let status = (await download(link.url)).status;
      while (status !== 403 && Date.now() < expiredBy) {
        await new Promise((r) => setTimeout(r, 100));
        status = (await download(link.url)).status;
      }
      expect(status).toBe(403);
    });

    it('verifies the declared content_hash: a mismatch creates nothing and uses no quota', async () => {
      const u = await newUser(`hash-${dbKind}`);
      const content = randomBytes(1000);
      const created = await api.ok('/v2/file/create', {
        drive_id: u.default_drive_id, parent_file_id: 'root', name: 'x.bin', type: 'file', size: 1000,
        content_hash: sha1(Buffer.from('something else')),
      }, u.access_token);
      await putParts(created.part_info_list, content, 1000);
      const r = await api.call('/v2/file/complete', { drive_id: u.default_drive_id, file_id: created.file_id, upload_id: created.upload_id }, u.access_token);
      expect(r).toMatchObject({ status: 400, body: { code: 'InvalidParameter.ContentHash' } });
      expect((await api.ok('/v2/file/list', { drive_id: u.default_drive_id }, u.access_token)).items).toEqual([]);
      expect((await api.ok('/v2/drive/get', { drive_id: u.default_drive_id }, u.access_token)).used_size).toBe(0);
    });

    it('finishes a completion that crashed after the store assembled the parts', async () => {
      const u = await newUser(`recomplete-${dbKind}`);
      const content = randomBytes(4096);
      const created = await api.ok('/v2/file/create', { drive_id: u.default_drive_id, name: 'c.bin', type: 'file', size: content.length, content_hash: sha1(content) }, u.access_token);
      await putParts(created.part_info_list, content, content.length);
      // What a server killed in the middle of file/complete leaves: assembled object, session "completing".
      const [session] = await server.deps.db.query<{ storage_key: string; store_upload_id: string }>(
        `UPDATE upload_sessions SET status = 'completing', updated_at = now() - interval '1 hour' WHERE upload_id = $1 RETURNING storage_key, store_upload_id`,
        [created.upload_id],
      );
      // (A one-part upload on S3 is a single PUT: the object is already whole.)
      if (session!.store_upload_id) {
        const parts = await server.deps.store.listParts(session!.storage_key, session!.store_upload_id);
        await server.deps.store.completeMultipart(session!.storage_key, session!.store_upload_id, parts);
      }
      const file = await api.ok('/v2/file/complete', { drive_id: u.default_drive_id, file_id: created.file_id, upload_id: created.upload_id }, u.access_token);
      expect(file).toMatchObject({ status: 'available', content_hash: sha1(content), size: 4096 });
    });

    it('completes a one-part upload only for its owner, its own file and once', async () => {
      const u = await newUser(`complete-once-${dbKind}`);
      const other = await newUser(`complete-other-${dbKind}`);
      const d = u.default_drive_id;
      const content = randomBytes(3000);
      const created = await api.ok('/v2/file/create', { drive_id: d, name: 'mine.bin', type: 'file', size: content.length }, u.access_token);
      const decoy = await api.ok('/v2/file/create', { drive_id: d, name: 'decoy.bin', type: 'file', size: content.length }, u.access_token);
      await putParts(created.part_info_list, content, content.length);
      const ref = { drive_id: d, file_id: created.file_id, upload_id: created.upload_id };
      expect((await api.call('/v2/file/complete', ref, other.access_token)).body.code).toBe('NotFound.Drive');
      // The right upload named under another file links nothing to that file.
      expect((await api.call('/v2/file/complete', { ...ref, file_id: decoy.file_id }, u.access_token)).body.code).toBe('NotFound.UploadId');
      expect(await api.ok('/v2/file/complete', ref, u.access_token)).toMatchObject({ file_id: created.file_id, status: 'available', size: 3000 });
      expect((await api.call('/v2/file/complete', ref, u.access_token)).body.code).toBe('UploadCompleted');
      const [revisions] = await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM file_revisions WHERE file_id = $1`, [created.file_id]);
      expect(revisions).toEqual({ n: 1 });
      const [decoyRow] = await server.deps.db.query<{ status: string }>(`SELECT status FROM files WHERE file_id = $1`, [decoy.file_id]);
      expect(decoyRow).toEqual({ status: 'uploading' });
      await settleJobs();
      expect((await download((await api.ok('/v2/file/get_download_url', { drive_id: d, file_id: created.file_id }, u.access_token)).url)).body).toEqual(content);
    });

    it('a one-part upload resumes too: parts listed, missing part refused, a wrong size reopens the session', async () => {
      const u = await newUser(`onepart-${dbKind}`);
      const d = u.default_drive_id;
      const t = u.access_token;
      const content = randomBytes(200_000);
      const created = await api.ok('/v2/file/create', { drive_id: d, name: 'one.bin', type: 'file', size: content.length }, t);
      const ref = { drive_id: d, file_id: created.file_id, upload_id: created.upload_id };
      expect((await api.ok('/v2/file/list_uploaded_parts', ref, t)).uploaded_parts).toEqual([]);
      expect((await api.call('/v2/file/complete', ref, t)).body).toMatchObject({ code: 'InvalidParameter.PartMissing', missing_part_numbers: [1] });
      if (storeKind === 's3') expect((await api.call('/v2/file/get_upload_url', { ...ref, part_info_list: [{ part_number: 2 }] }, t)).body.code).toBe('InvalidParameter.PartNumber');
      // The URL signs the declared length: S3 answers 403, local disk 400, and nothing is stored.
      expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content.subarray(0, 1000) })).status).toBeGreaterThanOrEqual(400);
      expect((await api.call('/v2/file/complete', ref, t)).body.code).toBe('InvalidParameter.PartMissing');
      const again = await api.ok('/v2/file/get_upload_url', { ...ref, part_info_list: [{ part_number: 1 }] }, t);
      await putParts(again.part_info_list, content, content.length);
      expect((await api.ok('/v2/file/list_uploaded_parts', ref, t)).uploaded_parts).toMatchObject([{ part_number: 1, part_size: content.length }]);
      expect(await api.ok('/v2/file/complete', ref, t)).toMatchObject({ status: 'available', size: content.length });
      const link = await api.ok('/v2/file/get_download_url', { drive_id: d, file_id: created.file_id }, t);
      expect((await download(link.url)).body).toEqual(content);
      if (storeKind === 's3') {
        // One PUT of the whole object: no multipart upload was opened for it.
        const [row] = await server.deps.db.query<{ store_upload_id: string }>(`SELECT store_upload_id FROM upload_sessions WHERE upload_id = $1`, [created.upload_id]);
        expect(row).toEqual({ store_upload_id: '' });
      }
    });

    it('refuses a size mismatch and bad part numbers', async () => {
      const d = admin.default_drive_id;
      const t = admin.access_token;
      for (const parts of [[{ part_number: 0 }], [{ part_number: 10_001 }], [{ part_number: 1 }, { part_number: 1 }]]) {
        expect((await api.call('/v2/file/create', { drive_id: d, name: 'p', type: 'file', size: 1, part_info_list: parts }, t)).body.code).toBe('InvalidParameter.PartNumber');
      }
      // Parts without a declared part_size are not length-signed: complete checks the total.
      const created = await api.ok('/v2/file/create', { drive_id: d, name: 'short.bin', type: 'file', size: 10, part_info_list: [{ part_number: 1 }, { part_number: 2 }] }, t);
      await putParts(created.part_info_list, Buffer.from('123456'), 3);
      expect((await api.call('/v2/file/complete', { drive_id: d, file_id: created.file_id, upload_id: created.upload_id }, t)).body.code).toBe('InvalidParameter.Size');
    });
  });

  describe('rapid upload', () => {
    it("links stored content the caller holds, not another user's on a proof v1 alone, and answers PreHashMatched", async () => {
      const owner = await newUser(`rapid-owner-${dbKind}`);
      const content = randomBytes(3 * MiB);
      await upload(api, owner.access_token, owner.default_drive_id, 'orig.bin', content);
      const other = await newUser(`rapid-other-${dbKind}`);
      const base = { drive_id: other.default_drive_id, parent_file_id: 'root', type: 'file', size: content.length };

      const pre = await api.call('/v2/file/create', { ...base, name: 'p.bin', pre_hash: sha1(content.subarray(0, 1024)) }, other.access_token);
      expect(pre).toMatchObject({ status: 409, body: { code: 'PreHashMatched' } });
      // A pre_hash no stored content has: an ordinary upload, which keeps the pre_hash.
      const fresh = await api.ok('/v2/file/create', { ...base, name: 'fresh.bin', pre_hash: 'ab'.repeat(20) }, other.access_token);
      expect(fresh.upload_id).toBeTruthy();
      const [session] = await server.deps.db.query<{ pre_hash: string }>(`SELECT pre_hash FROM upload_sessions WHERE upload_id = $1`, [fresh.upload_id]);
      expect(session).toEqual({ pre_hash: 'ab'.repeat(20) });

      const wrong = await api.ok('/v2/file/create', { ...base, name: 'w.bin', content_hash: sha1(content), content_hash_name: 'sha1', proof_version: 'v1', proof_code: Buffer.from('12345678').toString('base64') }, other.access_token);
      expect(wrong).toMatchObject({ rapid_upload: false, status: 'uploading' });
      expect(wrong.upload_id).toBeTruthy();

      // Official SDKs send no proof: only content the caller can already read is linked.
      const noProof = await api.ok('/v2/file/create', { ...base, name: 'n.bin', content_hash: sha1(content), content_hash_name: 'sha1' }, other.access_token);
      expect(noProof.rapid_upload).toBe(false);

      // A right proof v1 alone no longer links another user's content (test/api/rapid-upload-proof.int.test.ts):
      // the caller uploads, and the store keeps one copy.
      const proven = await api.ok('/v2/file/create', {
        ...base, name: 'r.bin', content_hash: sha1(content), content_hash_name: 'sha1', proof_version: 'v1', proof_code: computeProofCode(other.access_token, content),
      }, other.access_token);
      expect(proven).toMatchObject({ rapid_upload: false, status: 'uploading' });
      await putParts(proven.part_info_list, content, content.length);
      const right = await api.ok('/v2/file/complete', { drive_id: other.default_drive_id, file_id: proven.file_id, upload_id: proven.upload_id }, other.access_token);
      expect(right).toMatchObject({ status: 'available', size: content.length, content_hash: sha1(content) });
      expect(await server.deps.db.query(`SELECT count(*)::int AS n FROM blobs WHERE sha1 = $1`, [sha1(content)])).toEqual([{ n: 1 }]);
      expect((await api.ok('/v2/drive/get', { drive_id: other.default_drive_id }, other.access_token)).used_size).toBe(content.length);
      const link = await api.ok('/v2/file/get_download_url', { drive_id: other.default_drive_id, file_id: right.file_id }, other.access_token);
      expect(sha1((await download(link.url)).body)).toBe(sha1(content));

      // Content the caller holds is linked, with or without a proof v1.
      const again = await api.ok('/v2/file/create', { ...base, name: 'again.bin', content_hash: sha1(content) }, other.access_token);
      expect(again.rapid_upload).toBe(true);
      const againProven = await api.ok('/v2/file/create', { ...base, name: 'again2.bin', content_hash: sha1(content), proof_version: 'v1', proof_code: computeProofCode(other.access_token, content) }, other.access_token);
      expect(againProven.rapid_upload).toBe(true);
    });
  });

  describe('quota, trash, revisions, GC', () => {
    it('enforces the quota atomically under concurrent uploads', async () => {
      const u = await newUser(`quota-${dbKind}`, 25_000);
      const results = await Promise.allSettled(
        Array.from({ length: 4 }, (_, i) => upload(api, u.access_token, u.default_drive_id, `q${i}.bin`, randomBytes(10_000))),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
      expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([
        expect.stringContaining('QuotaExhausted.Drive'),
        expect.stringContaining('QuotaExhausted.Drive'),
      ]);
      const drive = await api.ok('/v2/drive/get', { drive_id: u.default_drive_id }, u.access_token);
      expect(drive).toMatchObject({ used_size: 20_000, total_size: 25_000 });
      expect((await api.ok('/v2/file/list', { drive_id: u.default_drive_id }, u.access_token)).items).toHaveLength(2);
      const tooBig = await api.call('/v2/file/create', { drive_id: u.default_drive_id, name: 'big', type: 'file', size: 10_000 }, u.access_token);
      expect(tooBig).toMatchObject({ status: 403, body: { code: 'QuotaExhausted.Drive' } });
    });

    it('trashes and restores a subtree; trashed files keep their blobs until purged', async () => {
      const u = await newUser(`trash-${dbKind}`);
      const d = u.default_drive_id;
      const t = u.access_token;
      const folder = await api.ok('/v2/file/create', { drive_id: d, name: 'docs', type: 'folder' }, t);
      const f = await upload(api, t, d, 'a.txt', Buffer.from('trash me'), { parent: folder.file_id });
      await api.ok('/v2/recyclebin/trash', { drive_id: d, file_id: folder.file_id }, t);
      expect((await api.call('/v2/file/get', { drive_id: d, file_id: f.file_id }, t)).status).toBe(404);
      const bin = await api.ok('/v2/recyclebin/list', { drive_id: d }, t);
      expect(bin.items.map((x: { file_id: string; trashed: boolean }) => [x.file_id, x.trashed])).toEqual([[folder.file_id, true]]);
      expect((await api.ok('/v2/drive/get', { drive_id: d }, t)).used_size).toBe(8);

      await api.ok('/v2/file/create', { drive_id: d, name: 'docs', type: 'folder' }, t);
      const restored = await api.ok('/v2/recyclebin/restore', { drive_id: d, file_id: folder.file_id }, t);
      expect(restored.name).toBe('docs(1)');
      expect((await api.ok('/v2/file/get', { drive_id: d, file_id: f.file_id }, t)).parent_file_id).toBe(folder.file_id);

      await api.ok('/v2/recyclebin/trash', { drive_id: d, file_id: f.file_id }, t);
      expect(await api.ok('/v2/recyclebin/clear', { drive_id: d }, t)).toEqual({ purged_count: 1 });
      expect((await api.ok('/v2/drive/get', { drive_id: d }, t)).used_size).toBe(0);
    });

    it('keeps revisions on overwrite and restores an older one', async () => {
      const u = await newUser(`rev-${dbKind}`);
      const d = u.default_drive_id;
      const t = u.access_token;
      const v1 = await upload(api, t, d, 'doc.txt', Buffer.from('version one'));
      const v2 = await upload(api, t, d, 'doc.txt', Buffer.from('version two!'), { mode: 'overwrite' });
      expect(v2.file_id).toBe(v1.file_id);
      const revs = await api.ok('/v2/file/revision/list', { drive_id: d, file_id: v1.file_id }, t);
      expect(revs.items.map((r: { revision_id: string; is_latest: boolean }) => [r.revision_id, r.is_latest])).toEqual([[v2.revision_id, true], [v1.revision_id, false]]);
      expect((await api.call('/v2/file/revision/delete', { drive_id: d, file_id: v1.file_id, revision_id: v2.revision_id }, t)).body.code).toBe('Forbidden.CurrentRevision');
      const back = await api.ok('/v2/file/revision/restore', { drive_id: d, file_id: v1.file_id, revision_id: v1.revision_id }, t);
      expect(back).toMatchObject({ revision_id: v1.revision_id, size: 11, content_hash: sha1(Buffer.from('version one')) });
      const link = await api.ok('/v2/file/get_download_url', { drive_id: d, file_id: v1.file_id }, t);
      expect((await download(link.url)).body.toString()).toBe('version one');
    });

    it('collects unreferenced blobs and abandoned uploads, never a referenced blob', async () => {
      const u = await newUser(`gc-${dbKind}`);
      const keep = await upload(api, u.access_token, u.default_drive_id, 'keep.bin', randomBytes(2000));
      const gone = await upload(api, u.access_token, u.default_drive_id, 'gone.bin', randomBytes(3000));
      await api.ok('/v2/file/create', { drive_id: u.default_drive_id, name: 'abandoned.bin', type: 'file', size: 10 }, u.access_token);
      await api.ok('/v2/file/delete', { drive_id: u.default_drive_id, file_id: gone.file_id }, u.access_token);
      const report = await collectEverything(server);
      expect(report.blobs).toBeGreaterThanOrEqual(1);
      expect(report.sessions).toBeGreaterThanOrEqual(1);
      const link = await api.ok('/v2/file/get_download_url', { drive_id: u.default_drive_id, file_id: keep.file_id }, u.access_token);
      expect((await download(link.url)).body).toHaveLength(2000);
      const keys: string[] = [];
      for await (const o of server.deps.store.list('blobs/')) keys.push(o.key);
      const [{ n }] = (await server.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM blobs')) as [{ n: number }];
      expect(keys).toHaveLength(n);
    });
  });

  describe('content hashed in the background', () => {
    /** create → PUT → complete without a declared content_hash, and without waiting for the hash job. */
    async function completeUnhashed(token: string, driveId: string, name: string, content: Buffer) {
      const created = await api.ok('/v2/file/create', { drive_id: driveId, name, type: 'file', size: content.length }, token);
      await putParts(created.part_info_list, content, content.length);
      return api.ok('/v2/file/complete', { drive_id: driveId, file_id: created.file_id, upload_id: created.upload_id }, token);
    }
    /**
     * Every blob row has its object in the store (but content discarded after complete, which has none) and
     * no object is left over, but those kept for download links handed out before a merge
     * (deferred_object_deletes), which must still be there.
     */
    async function expectOneObjectPerBlob() {
      const keys: string[] = [];
      for await (const o of server.deps.store.list('blobs/')) keys.push(o.key);
      const [{ n }] = (await server.deps.db.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM blobs WHERE storage_key NOT LIKE 'discarded/%') + (SELECT count(*) FROM deferred_object_deletes)::int AS n`)) as [{ n: number }];
      expect(keys).toHaveLength(Number(n));
      for (const { storage_key } of await server.deps.db.query<{ storage_key: string }>('SELECT storage_key FROM deferred_object_deletes')) expect(keys).toContain(storage_key);
    }
    /** Runs fn with the server's in-process job runner stopped, so the test decides when hashing happens. */
    async function withJobsHeld(fn: () => Promise<void>) {
      await settleJobs(); // what earlier tests enqueued is not this test's to count
      await server.services.jobs.close();
      try {
        await fn();
      } finally {
        server.services.jobs.start();
      }
    }
    const pendingBlobOf = async (fileId: string) =>
      ((await server.deps.db.query<{ sha256: string }>(`SELECT r.blob_sha256 AS sha256 FROM file_revisions r WHERE r.file_id = $1`, [fileId]))[0]!).sha256;
    /**
     * What one worker's blob.hash transaction does for a placeholder, held open until release(): its job
     * row gone, the real address inserted, the revisions moved to it, the placeholder deleted.
     */
    function holdHashTransaction(pending: string, content: Buffer) {
      const real = createHash('sha256').update(content).digest('hex');
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const done = server.deps.db.transaction(async (tx) => {
        await tx.query(`DELETE FROM jobs WHERE payload->>'blob' = $1`, [pending]);
        await tx.query(`SELECT 1 FROM blobs WHERE sha256 = $1 FOR UPDATE`, [pending]);
        await tx.query(`INSERT INTO blobs (sha256, sha1, pre_hash, size, storage_key) SELECT $2, $3, '', size, storage_key FROM blobs WHERE sha256 = $1`, [pending, real, sha1(content)]);
        await tx.query(`UPDATE file_revisions SET blob_sha256 = $2, content_hash = $3 WHERE blob_sha256 = $1`, [pending, real, sha1(content)]);
        await tx.query(`DELETE FROM blobs WHERE sha256 = $1`, [pending]);
        await held;
      });
      return { real, release, done };
    }

    it('serves the file at once, then fills in content_hash and keeps one copy of content uploaded twice', async () => {
      await withJobsHeld(async () => { // the test sees the state before hashing
        const u = await newUser(`bghash-${dbKind}`);
        const d = u.default_drive_id;
        const t = u.access_token;
        const content = randomBytes(70_000);
        const a = await completeUnhashed(t, d, 'a.bin', content);
        const b = await completeUnhashed(t, d, 'b.bin', content);
        expect(a).toMatchObject({ status: 'available', size: 70_000, content_hash: '' });
        const copy = await api.ok('/v2/file/copy', { drive_id: d, file_id: a.file_id, to_parent_file_id: 'root' }, t);
        const early = await api.ok('/v2/file/get_download_url', { drive_id: d, file_id: b.file_id }, t);
        expect((await download(early.url)).body).toEqual(content);
        expect(await server.deps.db.query(`SELECT count(*)::int AS n FROM jobs WHERE kind = 'blob.hash'`)).toEqual([{ n: 2 }]);

        expect(await server.services.jobs.drain()).toBe(2);
        for (const id of [a.file_id, b.file_id, copy.file_id]) {
          expect(await api.ok('/v2/file/get', { drive_id: d, file_id: id }, t)).toMatchObject({ content_hash: sha1(content), size: 70_000 });
        }
        const revs = await api.ok('/v2/file/revision/list', { drive_id: d, file_id: b.file_id }, t);
        expect(revs.items[0]).toMatchObject({ content_hash: sha1(content) });
        const blobs = await server.deps.db.query(`SELECT ref_count, hashed FROM blobs WHERE sha1 = $1`, [sha1(content)]);
        expect(blobs).toEqual([{ ref_count: 3, hashed: true }]);
        expect(await server.deps.db.query(`SELECT count(*)::int AS n FROM blobs WHERE NOT hashed`)).toEqual([{ n: 0 }]);
        await expectOneObjectPerBlob(); // the second upload's object went with the merge
        expect((await api.ok('/v2/drive/get', { drive_id: d }, t)).used_size).toBe(3 * 70_000);
        const link = await api.ok('/v2/file/get_download_url', { drive_id: d, file_id: b.file_id }, t);
        expect((await download(link.url)).body).toEqual(content);
        // Hashed content now serves rapid upload.
        const rapid = await api.ok('/v2/file/create', {
          drive_id: d, name: 'c.bin', type: 'file', size: content.length, content_hash: sha1(content), proof_version: 'v1', proof_code: computeProofCode(t, content),
        }, t);
        expect(rapid).toMatchObject({ rapid_upload: true, content_hash: sha1(content) });
      });
    });

    it('content uploaded with a declared hash that the domain already holds links the stored copy at complete', async () => {
      const owner = await newUser(`dupdecl-a-${dbKind}`);
      const other = await newUser(`dupdecl-b-${dbKind}`);
      const content = randomBytes(90_000);
      await upload(api, owner.access_token, owner.default_drive_id, 'first.bin', content);
      // No proof and no readable copy: a normal upload session, verified and deduplicated at complete.
      const created = await api.ok('/v2/file/create', { drive_id: other.default_drive_id, name: 'second.bin', type: 'file', size: content.length, content_hash: sha1(content) }, other.access_token);
      expect(created.rapid_upload).toBe(false);
      await putParts(created.part_info_list, content, content.length);
      const done = await api.ok('/v2/file/complete', { drive_id: other.default_drive_id, file_id: created.file_id, upload_id: created.upload_id }, other.access_token);
      expect(done).toMatchObject({ status: 'available', content_hash: sha1(content), size: content.length });
      expect(await server.deps.db.query(`SELECT ref_count FROM blobs WHERE sha1 = $1`, [sha1(content)])).toEqual([{ ref_count: 2 }]);
      await expectOneObjectPerBlob();
      const link = await api.ok('/v2/file/get_download_url', { drive_id: other.default_drive_id, file_id: created.file_id }, other.access_token);
      expect((await download(link.url)).body).toEqual(content);
    });

    it('a copy that races the hash job moving its revisions copies the hashed content (PostgreSQL: real concurrency)', async () => {
      if (dbKind !== 'pg') return; // PGlite has one connection: nothing interleaves
      await withJobsHeld(async () => {
        const u = await newUser(`bgcopy-${dbKind}`);
        const content = randomBytes(4000);
        const f = await completeUnhashed(u.access_token, u.default_drive_id, 'src.bin', content);
        const worker = holdHashTransaction(await pendingBlobOf(f.file_id), content);
        const copying = api.ok('/v2/file/copy', { drive_id: u.default_drive_id, file_id: f.file_id, to_parent_file_id: 'root' }, u.access_token);
        await waitingOnLock(); // the copy now waits on the placeholder's row lock
        worker.release();
        await worker.done;
        const copy = await copying;
        expect(await server.deps.db.query(`SELECT blob_sha256 FROM file_revisions WHERE file_id = $1`, [copy.file_id])).toEqual([{ blob_sha256: worker.real }]);
        expect(await server.deps.db.query(`SELECT ref_count FROM blobs WHERE sha256 = $1`, [worker.real])).toEqual([{ ref_count: 2 }]);
      });
    });

    it('two hash jobs of the same bytes at once merge onto one blob (PostgreSQL: real concurrency)', async () => {
      if (dbKind !== 'pg') return; // PGlite has one connection: nothing interleaves
      await withJobsHeld(async () => {
        const u = await newUser(`bgtwin-${dbKind}`);
        const content = randomBytes(50_000);
        const a = await completeUnhashed(u.access_token, u.default_drive_id, 'a.bin', content);
        const b = await completeUnhashed(u.access_token, u.default_drive_id, 'b.bin', content);
        const pendingB = await pendingBlobOf(b.file_id);
        const [jobB] = await server.deps.db.query<{ job_id: number; payload: Record<string, unknown> }>(`SELECT job_id, payload FROM jobs WHERE payload->>'blob' = $1`, [pendingB]);
        // Worker A's transaction for a.bin, held open after inserting the real address…
        const workerA = holdHashTransaction(await pendingBlobOf(a.file_id), content);
        // …while worker B hashes b.bin: its insert of the same address waits on A's, then finds it taken.
        const workerB = createBlobHashing(server.deps).run(jobB!.payload, jobB!);
        await waitingOnLock();
        workerA.release();
        await workerA.done;
        await workerB;
        expect(await server.deps.db.query(`SELECT ref_count, hashed FROM blobs WHERE sha1 = $1`, [sha1(content)])).toEqual([{ ref_count: 2, hashed: true }]);
        expect(await server.deps.db.query(`SELECT count(*)::int AS n FROM jobs`)).toEqual([{ n: 0 }]);
        await expectOneObjectPerBlob(); // b.bin's object went with the merge
      });
    });

    it('a file deleted before its content was hashed leaves no blob and no object after GC', async () => {
      await withJobsHeld(async () => {
        const u = await newUser(`bgdel-${dbKind}`);
        const f = await completeUnhashed(u.access_token, u.default_drive_id, 'tmp.bin', randomBytes(5000));
        await api.ok('/v2/file/delete', { drive_id: u.default_drive_id, file_id: f.file_id }, u.access_token);
        await server.services.jobs.drain();
        await collectEverything(server);
        expect(await server.deps.db.query(`SELECT count(*)::int AS n FROM blobs WHERE NOT hashed OR ref_count = 0`)).toEqual([{ n: 0 }]);
        await expectOneObjectPerBlob();
      });
    });

    it('a one-part upload replaced with more bytes after complete stores none of them beyond the quota', async () => {
      await withJobsHeld(async () => {
        const u = await newUser(`replaced-${dbKind}`, 10_000);
        // No size declared: with one, the URL signs it and S3 refuses the replay outright (upload-bounds.int.test.ts).
        const created = await api.ok('/v2/file/create', { drive_id: u.default_drive_id, name: 'small.bin', type: 'file' }, u.access_token);
        await putParts(created.part_info_list, randomBytes(10), 10);
        await api.ok('/v2/file/complete', { drive_id: u.default_drive_id, file_id: created.file_id, upload_id: created.upload_id }, u.access_token);
        // 10 bytes completed and counted; then 200 KB PUT through the same URL, far over the 10 KB quota.
        // This server refuses it (local disk); S3 takes a presigned PUT until it expires.
        const replay = await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: randomBytes(200_000) });
        if (storeKind === 'local') {
          expect(replay.status).toBe(409);
          expect(await server.services.jobs.drain()).toBe(1);
          const link = await api.ok('/v2/file/get_download_url', { drive_id: u.default_drive_id, file_id: created.file_id }, u.access_token);
          expect((await download(link.url)).body).toHaveLength(10);
          return;
        }
        expect(replay.ok).toBe(true);
        expect(await server.services.jobs.drain()).toBe(1);
        const failed = await server.deps.db.query(`SELECT 1 FROM jobs WHERE state = 'failed'`);
        expect(failed).toEqual([]);
        let stored = 0;
        for await (const o of server.deps.store.list('blobs/')) if (o.key.startsWith(`blobs/${created.upload_id}`)) stored += o.size;
        expect(stored).toBe(0);
        const drive = await api.ok('/v2/drive/get', { drive_id: u.default_drive_id }, u.access_token);
        expect(drive.used_size).toBe(10);
        // The content is marked discarded: no link (one would name nothing, or the writable upload key).
        const refused = await api.call('/v2/file/get_download_url', { drive_id: u.default_drive_id, file_id: created.file_id }, u.access_token);
        expect([refused.status, refused.body.code]).toEqual([409, 'ContentReplaced']);
        // Deleting the file releases the placeholder and its 10 bytes of quota.
        await api.ok('/v2/file/delete', { drive_id: u.default_drive_id, file_id: created.file_id }, u.access_token);
        await collectEverything(server);
        expect(await server.deps.db.query(`SELECT 1 FROM blobs WHERE sha256 = $1`, [`pending:${created.upload_id}`])).toEqual([]);
        expect((await api.ok('/v2/drive/get', { drive_id: u.default_drive_id }, u.access_token)).used_size).toBe(0);
        await expectOneObjectPerBlob();
      });
    });

    it('a one-part upload URL replaying after the content was hashed changes neither the file nor a deduplicated copy', async () => {
      const owner = await newUser(`seal-owner-${dbKind}`);
      const other = await newUser(`seal-other-${dbKind}`);
      const original = randomBytes(6000);
      const created = await api.ok('/v2/file/create', { drive_id: owner.default_drive_id, name: 'photo.jpg', type: 'file', size: original.length }, owner.access_token);
      await putParts(created.part_info_list, original, original.length);
      const ref = { drive_id: owner.default_drive_id, file_id: created.file_id, upload_id: created.upload_id };
      await api.ok('/v2/file/complete', ref, owner.access_token);
      await settleJobs();
      // Someone else stores the same bytes: deduplicated onto the owner's content.
      const copy = await upload(api, other.access_token, other.default_drive_id, 'same.jpg', original);
      const [{ n: blobs }] = (await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM blobs WHERE sha1 = $1`, [sha1(original)])) as [{ n: number }];
      expect(blobs).toBe(1);

      // On S3 the owner's upload URL still accepts a PUT until it expires (presigned PUTs cannot be
      // revoked); this server refuses it once the upload is complete (local disk)...
      const replaced = Buffer.alloc(original.length, 0x41);
      const replay = await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: replaced });
      expect(replay.status).toBe(storeKind === 'local' ? 409 : 200);
      // ...but no file reads that key any more: both still get the bytes that were hashed.
      for (const [user, fileId] of [[owner, created.file_id], [other, copy.file_id]] as const) {
        const file = await api.ok('/v2/file/get', { drive_id: user.default_drive_id, file_id: fileId }, user.access_token);
        expect(file.content_hash).toBe(sha1(original));
        const link = await api.ok('/v2/file/get_download_url', { drive_id: user.default_drive_id, file_id: fileId }, user.access_token);
        expect((await download(link.url)).body).toEqual(original);
      }
      // A declared content_hash is verified at complete, on a sealed copy too.
      const declared = randomBytes(3000);
      const withHash = await api.ok('/v2/file/create', { drive_id: owner.default_drive_id, name: 'declared.bin', type: 'file', size: declared.length, content_hash: sha1(declared) }, owner.access_token);
      await putParts(withHash.part_info_list, declared, declared.length);
      await api.ok('/v2/file/complete', { drive_id: owner.default_drive_id, file_id: withHash.file_id, upload_id: withHash.upload_id }, owner.access_token);
      expect((await fetch(withHash.part_info_list[0].upload_url, { method: 'PUT', body: Buffer.alloc(declared.length) })).status).toBe(storeKind === 'local' ? 409 : 200);
      const declaredLink = await api.ok('/v2/file/get_download_url', { drive_id: owner.default_drive_id, file_id: withHash.file_id }, owner.access_token);
      expect((await download(declaredLink.url)).body).toEqual(declared);

      // What the replays wrote are orphans the GC removes once they are older than its grace period (a
      // young object may be a copy about to be linked); the shared content stays.
      expect((await server.services.gc.run()).orphan_objects).toBe(0);
      if (storeKind === 's3') expect((await collectEverything(server)).orphan_objects).toBeGreaterThanOrEqual(2);
      await expectOneObjectPerBlob();
      const link = await api.ok('/v2/file/get_download_url', { drive_id: other.default_drive_id, file_id: copy.file_id }, other.access_token);
      expect((await download(link.url)).body).toEqual(original);
    });
  });

  it('serves an OpenAPI document listing exactly the routes that exist', async () => {
    const doc = (await (await fetch(`${api.url}/v2/openapi.json`)).json()) as { openapi: string; paths: Record<string, object> };
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    expect(documented.length).toBeGreaterThan(30);
    for (const entry of documented) {
      const [method, p] = entry.split(' ');
      const res = await fetch(`${api.url}${p}`, { method: method!.toUpperCase(), headers: { 'content-type': 'application/json' }, body: method === 'get' ? undefined : '{}' });
      const body = (await res.json()) as { code: string };
      expect([entry, body.code]).not.toEqual([entry, 'NotFound.Route']);
    }
    // And the other way round: an undocumented /v2 path is not served.
    expect((await api.call('/v2/file/no_such_action', {}, admin.access_token)).body.code).toBe('NotFound.Route');
    expect(documented).toEqual(expect.arrayContaining(['post /v2/file/create', 'post /v2/file/complete', 'get /v2/file/download', 'post /v2/recyclebin/trash']));
  });

  it('exposes health, readiness and metrics', async () => {
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${api.url}/readyz`)).json()).toMatchObject({ status: 'ready', database: 'ok', storage: 'ok' });
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(/openpds_http_request_duration_seconds_bucket\{.*route="\/v2\/file\/create"/);
    expect(metrics).toMatch(/openpds_rapid_upload_total\{result="hit"\} [1-9]/);
    expect(metrics).toMatch(/openpds_upload_bytes_total [1-9]/);
  });
});
