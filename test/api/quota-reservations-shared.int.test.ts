/**
 * Open uploads' reservations (migration 009) hold against every other way bytes enter a drive (migration
 * 010): a file or folder copy, a rapid upload or an overwrite that would take reserved room is refused
 * with QuotaExhausted.Drive, and the open upload then completes. An upload whose own reservation covers
 * its bytes completes on a drive otherwise full to the byte, on the one-statement path and on the full one:
 * linkUpload releases the session's reservation before its revision's quota check, in one statement.
 * On PGlite + local disk and PostgreSQL + radosgw.
 */
import { createHash } from 'node:crypto';
import { nameLockKey } from '../../api-server/src/modules/files/files.repository';
import { computeProofCode } from '../../api-server/src/modules/uploads/proof';
import { createUploadsRepository, PENDING_PREFIX } from '../../api-server/src/modules/uploads/uploads.repository';
import { ADMIN_PASSWORD, createLoggedInUser, startTestServer, type ApiClient } from '../support/test-server';

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

describe.each([
  ['pglite', 'local'],
  ['pg', 's3'],
] as const)('quota reservations against copies, rapid uploads and overwrites on %s + %s', (dbKind, storeKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let adminToken: string;
  let userCount = 0;

  type User = { token: string; drive: string };
  const sql = <T = any>(text: string, params: unknown[] = []) => server.deps.db.query<T>(text, params);

  async function userWithQuota(totalSize: number): Promise<User> {
    const user = await createLoggedInUser(api, `reserve${++userCount}`);
    await api.ok('/v2/drive/update', { drive_id: user.default_drive_id, total_size: totalSize }, adminToken);
    return { token: user.access_token, drive: user.default_drive_id };
  }
  const create = (u: User, name: string, extra: Record<string, unknown> = {}) =>
    api.call('/v2/file/create', { drive_id: u.drive, parent_file_id: 'root', name, type: 'file', ...extra }, u.token);
  async function putAndComplete(u: User, created: { file_id: string; upload_id: string; part_info_list: { upload_url: string }[] }, content: Buffer) {
    const put = await fetch(created.part_info_list[0]!.upload_url, { method: 'PUT', body: content });
    expect(put.status).toBeLessThan(300);
    return api.call('/v2/file/complete', { drive_id: u.drive, file_id: created.file_id, upload_id: created.upload_id }, u.token);
  }
  /** A stored, hashed file (so rapid upload finds it). */
  async function upload(u: User, name: string, content: Buffer, parent = 'root') {
    const created = await api.ok('/v2/file/create', { drive_id: u.drive, parent_file_id: parent, name, type: 'file', size: content.length }, u.token);
    const done = await putAndComplete(u, created, content);
    expect(done.status).toBe(200);
    await server.services.jobs.drain();
    return done.body as { file_id: string };
  }
  async function sizes(u: User): Promise<[number, number]> {
    const [d] = await sql(`SELECT used_size, reserved_size FROM drives WHERE drive_id = $1`, [u.drive]);
    return [Number(d.used_size), Number(d.reserved_size)];
  }
  const rapid = (u: User, name: string, content: Buffer, extra: Record<string, unknown> = {}) =>
    create(u, name, { size: content.length, content_hash: sha1(content), content_hash_name: 'sha1', proof_version: 'v1', proof_code: computeProofCode(u.token, content), ...extra });

  beforeAll(async () => {
    server = await startTestServer(dbKind, storeKind);
    api = server.api;
    adminToken = (await api.login('admin', ADMIN_PASSWORD)).access_token;
  });
  afterAll(() => server?.stop());

  it('refuses a file copy and a folder copy into reserved room; the open upload then completes', async () => {
    const u = await userWithQuota(100);
    const x = await upload(u, 'x.bin', Buffer.alloc(30, 1));
    const dir = await api.ok('/v2/file/create', { drive_id: u.drive, parent_file_id: 'root', name: 'dir', type: 'folder' }, u.token);
    await upload(u, 'y.bin', Buffer.alloc(15, 2), dir.file_id);
    const open = await create(u, 'open.bin', { size: 50 });
    expect(open.status).toBe(201);
    expect(await sizes(u)).toEqual([45, 50]);

    // 5 bytes free beside the reservation: neither copy fits (before 010 both did, and the upload below failed).
    for (const file_id of [x.file_id, dir.file_id]) {
      const copy = await api.call('/v2/file/copy', { drive_id: u.drive, file_id, to_parent_file_id: 'root', new_name: `copy-${file_id}` }, u.token);
      expect([copy.status, copy.body.code]).toEqual([403, 'QuotaExhausted.Drive']);
    }
    expect(await sizes(u)).toEqual([45, 50]);

    const done = await putAndComplete(u, open.body, Buffer.alloc(50, 3));
    expect([done.status, done.body.size]).toEqual([200, 50]);
    expect(await sizes(u)).toEqual([95, 0]);
  });

  it('refuses a rapid upload and a rapid overwrite into reserved room; the open upload then completes', async () => {
    const u = await userWithQuota(100);
    const content = Buffer.alloc(30, 4);
    await upload(u, 'x.bin', content);
    const open = await create(u, 'open.bin', { size: 50 });
    expect(open.status).toBe(201);

    for (const [name, mode] of [['x-rapid.bin', 'refuse'], ['x.bin', 'overwrite']] as const) {
      const refused = await rapid(u, name, content, { check_name_mode: mode });
      expect([refused.status, refused.body.code]).toEqual([403, 'QuotaExhausted.Drive']);
    }
    expect(await sizes(u)).toEqual([30, 50]);
    expect((await putAndComplete(u, open.body, Buffer.alloc(50, 5))).status).toBe(200);
    expect(await sizes(u)).toEqual([80, 0]);
  });

  // file/create compares the size with used + reserved before it links anything, but not atomically: an
  // upload opened between that check and the link took the room anyway until the revision trigger counted
  // reservations too. PostgreSQL only: the race needs a second connection to hold the link back.
  (dbKind === 'pg' ? it : it.skip)('refuses a rapid upload or overwrite that passed file/create’s check while an upload reserved the room', async () => {
    const u = await userWithQuota(100);
    const content = Buffer.alloc(30, 6);
    await upload(u, 'x.bin', content);
    for (const [name, mode] of [['x-rapid.bin', 'refuse'], ['x.bin', 'overwrite']] as const) {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      // The name lock (files.repository lockName) that the rapid link takes first, held by another connection.
      const holder = server.deps.db.transaction(async (tx) => {
        await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [nameLockKey(u.drive, 'root', name)]);
        await released;
      });
      const lockIs = (granted: boolean) => async () =>
        (await sql(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted = $2 AND objid = (hashtext($1)::bigint & 4294967295)::oid`, [nameLockKey(u.drive, 'root', name), granted])).length > 0;
      await waitFor(lockIs(true));
      const linking = rapid(u, name, content, { check_name_mode: mode });
      await waitFor(lockIs(false));
      // Past file/create's check now: an upload takes the room while the link waits.
      const open = await create(u, `open-${name}`, { size: 50 });
      expect(open.status).toBe(201);
      release();
      await holder;
      const refused = await linking;
      expect([refused.status, refused.body.code]).toEqual([403, 'QuotaExhausted.Drive']);
      expect((await putAndComplete(u, open.body, Buffer.alloc(50, 7))).status).toBe(200);
      expect(await sizes(u)).toEqual([80, 0]);
      await api.ok('/v2/file/delete', { drive_id: u.drive, file_id: open.body.file_id }, u.token);
    }
  });

  it('completes an upload on a drive full to the byte with its own reservation, on both completion paths', async () => {
    const u = await userWithQuota(100);
    await upload(u, 'half.bin', Buffer.alloc(50, 8));
    // No declared hash: file/complete's one statement (linkUpload with a claim).
    const plain = await create(u, 'plain.bin', { size: 50 });
    expect(await sizes(u)).toEqual([50, 50]);
    const plainDone = await putAndComplete(u, plain.body, Buffer.alloc(50, 9));
    expect([plainDone.status, plainDone.body.size]).toEqual([200, 50]);
    expect(await sizes(u)).toEqual([100, 0]);

    // A declared hash: the full path (claim, hash, then linkUpload on the completing session).
    await api.ok('/v2/drive/update', { drive_id: u.drive, total_size: 150 }, adminToken);
    const content = Buffer.alloc(50, 10);
    const hashed = await create(u, 'hashed.bin', { size: 50, content_hash: sha1(content), content_hash_name: 'sha1' });
    expect([hashed.status, hashed.body.rapid_upload]).toEqual([201, false]);
    expect(await sizes(u)).toEqual([100, 50]);
    const hashedDone = await putAndComplete(u, hashed.body, content);
    expect([hashedDone.status, hashedDone.body.content_hash]).toEqual([200, sha1(content)]);
    expect(await sizes(u)).toEqual([150, 0]);
  });

  it('links in one statement on a drive full to the byte: the session’s release comes before the revision’s check', async () => {
    // linkUpload itself, so a fallback to another path cannot hide a failure of the one statement.
    const u = await userWithQuota(100);
    await upload(u, 'half.bin', Buffer.alloc(60, 11));
    const open = await create(u, 'rest.bin', { size: 40 });
    expect((await fetch(open.body.part_info_list[0].upload_url, { method: 'PUT', body: Buffer.alloc(40, 12) })).status).toBeLessThan(300);
    expect(await sizes(u)).toEqual([60, 40]);
    const [session] = await sql(`SELECT storage_key FROM upload_sessions WHERE upload_id = $1`, [open.body.upload_id]);
    const [owner] = await sql(`SELECT owner_id FROM drives WHERE drive_id = $1`, [u.drive]);
    const linked = await createUploadsRepository().linkUpload(server.deps.db, {
      blob: { sha256: `${PENDING_PREFIX}${open.body.upload_id}`, sha1: '', pre_hash: '', size: 40, storage_key: session.storage_key, hashed: false, client_writable: true },
      uploadId: open.body.upload_id,
      job: null,
      revisionId: `rev-${open.body.upload_id}`,
      driveId: u.drive,
      fileId: open.body.file_id,
      createdBy: owner.owner_id,
      claim: { domainId: server.deps.config.domainId, scope: 'none' },
    });
    expect(linked?.file).toMatchObject({ status: 'available', size: 40 });
    expect(await sizes(u)).toEqual([100, 0]);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
