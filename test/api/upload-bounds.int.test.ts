/**
 * What an upload may put into the store is bounded by what it declared and by its drive's quota (red team:
 * with a 1 MiB quota, 132 MiB sat in S3 uncounted): part numbers past the session's parts are refused,
 * upload URLs sign the declared length (S3 refuses another with 403, local disk with 400), open sessions
 * reserve their declared sizes against the quota, a drive has at most MAX_OPEN_UPLOADS_PER_DRIVE open
 * sessions, and get_upload_url stops keeping a session alive past OPENPDS_UPLOAD_MAX_AGE.
 */
import { MAX_OPEN_UPLOADS_PER_DRIVE } from '../../api-server/src/modules/uploads/uploads.repository';
import { ADMIN_PASSWORD, createLoggedInUser, startTestServer, type ApiClient } from '../support/test-server';

const MiB = 1024 * 1024;

describe.each([
  ['pglite', 'local'],
  ['pg', 's3'],
] as const)('upload bounds on %s + %s', (dbKind, storeKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let adminToken: string;
  let userCount = 0;

  const put = async (url: string, body: Buffer) => (await fetch(url, { method: 'PUT', body })).status;
  const sql = <T = any>(text: string, params: unknown[] = []) => server.deps.db.query<T>(text, params);

  /** A fresh user whose default drive has `totalSize` bytes of quota. */
  async function userWithQuota(totalSize: number): Promise<{ token: string; drive: string }> {
    const user = await createLoggedInUser(api, `bounds${++userCount}`);
    await api.ok('/v2/drive/update', { drive_id: user.default_drive_id, total_size: totalSize }, adminToken);
    return { token: user.access_token, drive: user.default_drive_id };
  }
  const create = (u: { token: string; drive: string }, name: string, extra: Record<string, unknown> = {}) =>
    api.call('/v2/file/create', { drive_id: u.drive, parent_file_id: 'root', name, type: 'file', ...extra }, u.token);

  beforeAll(async () => {
    server = await startTestServer(dbKind, storeKind);
    api = server.api;
    adminToken = (await api.login('admin', ADMIN_PASSWORD)).access_token;
  });
  afterAll(() => server?.stop());

  it('refuses part numbers past the session’s parts, at create and at get_upload_url', async () => {
    const u = await userWithQuota(100 * MiB);
    const created = (await create(u, 'two.bin', { size: 2 * MiB, part_info_list: [{ part_number: 1 }, { part_number: 2 }] })).body;
    const ref = { drive_id: u.drive, file_id: created.file_id, upload_id: created.upload_id };
    for (const part_number of [3, 5000, 9999, 10_000]) {
      const r = await api.call('/v2/file/get_upload_url', { ...ref, part_info_list: [{ part_number }] }, u.token);
      expect([r.status, r.body.code]).toEqual([400, 'InvalidParameter.PartNumber']);
    }
    expect((await api.ok('/v2/file/get_upload_url', { ...ref, part_info_list: [{ part_number: 2 }] }, u.token)).part_info_list).toHaveLength(1);
    const gap = await create(u, 'gap.bin', { part_info_list: [{ part_number: 1 }, { part_number: 9999 }] });
    expect([gap.status, gap.body.code]).toEqual([400, 'InvalidParameter.PartNumber']);
  });

  it('signs the declared length into a one-part URL: more (or fewer) bytes are refused, also after complete', async () => {
    const u = await userWithQuota(100 * MiB);
    for (const extra of [{}, { content_hash: 'a'.repeat(40), content_hash_name: 'sha1' }]) {
      const created = (await create(u, `one-${Object.keys(extra).length}.bin`, { size: 5, ...extra })).body;
      const url = created.part_info_list[0].upload_url;
      expect(await put(url, Buffer.alloc(20 * MiB, 1))).toBeGreaterThanOrEqual(400);
      expect(await put(url, Buffer.alloc(4, 1))).toBeGreaterThanOrEqual(400);
      const refreshed = (await api.ok('/v2/file/get_upload_url', { drive_id: u.drive, file_id: created.file_id, upload_id: created.upload_id }, u.token)).part_info_list[0].upload_url;
      expect(await put(refreshed, Buffer.alloc(6, 1))).toBeGreaterThanOrEqual(400);
      if (Object.keys(extra).length) continue; // the declared hash does not match: not completed
      expect(await put(url, Buffer.from('hello'))).toBe(200);
      await api.ok('/v2/file/complete', { drive_id: u.drive, file_id: created.file_id, upload_id: created.upload_id }, u.token);
      expect(await put(url, Buffer.alloc(40 * MiB, 2))).toBeGreaterThanOrEqual(400);
    }
  });

  it('signs declared part sizes into part URLs, and refuses part sizes that do not add up', async () => {
    const u = await userWithQuota(100 * MiB);
    const bad = await create(u, 'bad-sizes.bin', { size: 5 * MiB + 3, part_info_list: [{ part_number: 1, part_size: 5 * MiB }, { part_number: 2, part_size: 2 }] });
    expect([bad.status, bad.body.code]).toEqual([400, 'InvalidParameter.PartSize']);
    const created = (await create(u, 'sized-parts.bin', { size: 5 * MiB + 3, part_info_list: [{ part_number: 1, part_size: 5 * MiB }, { part_number: 2, part_size: 3 }] })).body;
    const [url1, url2] = created.part_info_list.map((p: { upload_url: string }) => p.upload_url);
    expect(await put(url2, Buffer.alloc(16 * MiB, 1))).toBeGreaterThanOrEqual(400);
    expect(await put(url1, Buffer.alloc(5 * MiB + 1, 1))).toBeGreaterThanOrEqual(400);
    expect(await put(url1, Buffer.alloc(5 * MiB, 1))).toBe(200);
    const ref = { drive_id: u.drive, file_id: created.file_id, upload_id: created.upload_id };
    const [refreshed2] = (await api.ok('/v2/file/get_upload_url', { ...ref, part_info_list: [{ part_number: 2 }] }, u.token)).part_info_list;
    expect(await put(refreshed2.upload_url, Buffer.alloc(4, 1))).toBeGreaterThanOrEqual(400);
    expect(await put(refreshed2.upload_url, Buffer.alloc(3, 1))).toBe(200);
    expect((await api.ok('/v2/file/complete', ref, u.token)).size).toBe(5 * MiB + 3);
  });

  it('a one-part upload declaring only its part_size keeps that length on refreshed URLs too', async () => {
    const u = await userWithQuota(100 * MiB);
    // No size and no hash: the one-statement create path.
    const created = (await create(u, 'part-size-only.bin', { part_info_list: [{ part_number: 1, part_size: 10 }] })).body;
    expect(await put(created.part_info_list[0].upload_url, Buffer.alloc(11, 1))).toBeGreaterThanOrEqual(400);
    const ref = { drive_id: u.drive, file_id: created.file_id, upload_id: created.upload_id };
    const [refreshed] = (await api.ok('/v2/file/get_upload_url', { ...ref, part_info_list: [{ part_number: 1 }] }, u.token)).part_info_list;
    expect(await put(refreshed.upload_url, Buffer.alloc(11, 1))).toBeGreaterThanOrEqual(400);
    expect(await put(refreshed.upload_url, Buffer.alloc(10, 1))).toBe(200);
  });

  it('counts open sessions’ declared sizes against the quota until they complete or go', async () => {
    const u = await userWithQuota(MiB);
    const first = await create(u, 'a.bin', { size: MiB / 2 });
    expect(first.status).toBe(201);
    // Both the one-statement path and the full one (a declared hash, or a folder's lock) see the reservation.
    for (const extra of [{}, { content_hash: 'b'.repeat(40), content_hash_name: 'sha1' }]) {
      const refused = await create(u, 'b.bin', { size: MiB / 2 + 1, ...extra });
      expect([refused.status, refused.body.code]).toEqual([403, 'QuotaExhausted.Drive']);
    }
    const second = await create(u, 'c.bin', { size: MiB / 2 });
    expect(second.status).toBe(201);
    expect((await create(u, 'd.bin', { size: 1 })).status).toBe(403);

    // Completing moves a reservation into used_size: still no room.
    expect(await put(first.body.part_info_list[0].upload_url, Buffer.alloc(MiB / 2, 7))).toBe(200);
    await api.ok('/v2/file/complete', { drive_id: u.drive, file_id: first.body.file_id, upload_id: first.body.upload_id }, u.token);
    expect((await create(u, 'd.bin', { size: 1 })).status).toBe(403);
    // A session that goes (the GC, a discard, its file deleted) releases its reservation.
    await sql(`DELETE FROM upload_sessions WHERE upload_id = $1`, [second.body.upload_id]);
    expect((await create(u, 'd.bin', { size: MiB / 2 })).status).toBe(201);
    const [drive] = await sql(`SELECT used_size, reserved_size FROM drives WHERE drive_id = $1`, [u.drive]);
    expect([Number(drive.used_size), Number(drive.reserved_size)]).toEqual([MiB / 2, MiB / 2]);
  });

  it('limits the open sessions of a drive, sized or not', async () => {
    const u = await userWithQuota(100 * MiB);
    const first = (await create(u, 'first.bin')).body;
    await sql(
      `INSERT INTO upload_sessions (upload_id, file_id, drive_id, storage_key, store_upload_id, size, part_count)
       SELECT 'filler-' || $3 || '-' || i, file_id, drive_id, 'blobs/filler-' || $3 || '-' || i, '', NULL, 1 FROM files, generate_series(2, $2) i WHERE file_id = $1`,
      [first.file_id, MAX_OPEN_UPLOADS_PER_DRIVE, u.drive],
    );
    for (const extra of [{}, { size: 10 }, { content_hash: 'c'.repeat(40), content_hash_name: 'sha1', size: 10 }]) {
      const refused = await create(u, 'one-too-many.bin', extra);
      expect([refused.status, refused.body.code]).toEqual([429, 'LimitExceeded.OpenUploads']);
    }
    await sql(`DELETE FROM upload_sessions WHERE upload_id LIKE 'filler-' || $1 || '-%'`, [u.drive]);
    expect((await create(u, 'fits-again.bin')).status).toBe(201);
  });

  it('stops extending a session past its hard lifetime (7 days by default): the GC then collects it', async () => {
    const u = await userWithQuota(100 * MiB);
    const created = (await create(u, 'old.bin', { size: 10 })).body;
    const ref = { drive_id: u.drive, file_id: created.file_id, upload_id: created.upload_id };
    await api.ok('/v2/file/get_upload_url', ref, u.token);
    await sql(`UPDATE upload_sessions SET created_at = now() - interval '7 days 1 minute', updated_at = now() - interval '2 days' WHERE upload_id = $1`, [created.upload_id]);
    const refused = await api.call('/v2/file/get_upload_url', ref, u.token);
    expect([refused.status, refused.body.code]).toEqual([410, 'UploadExpired']);
    const [row] = await sql(`SELECT updated_at < now() - interval '1 day' AS stale FROM upload_sessions WHERE upload_id = $1`, [created.upload_id]);
    expect(row.stale).toBe(true);
  });
});
