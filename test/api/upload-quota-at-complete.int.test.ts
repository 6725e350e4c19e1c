/**
 * A quota refusal at file/complete keeps the upload, as a name refusal does (migration 015): an upload that
 * declared no size reserved nothing, or an admin lowered the quota since file/create, and complete answered
 * 403 QuotaExhausted.Drive after deleting the session, its bytes and its file row (gigabytes lost to a full
 * drive). Now the session opens again with its bytes (a multipart upload's assembled object) and its
 * reservation; once room is freed, complete again gives the same content, and the drive's used and reserved
 * sizes are those of one successful upload. list_uploaded_parts on such an upload lists every part (the
 * store's multipart upload ended with the assembly), get_upload_url answers 409 UploadAssembled instead
 * of part URLs that would answer 404 (migration 019), a proof v2 answer keeps its challenge, and the GC
 * still collects a kept upload left as it is.
 * On PGlite + local disk with background hashing, and PostgreSQL + radosgw hashing at complete.
 */
import { createHash, randomBytes } from 'node:crypto';
import { computeProofV2 } from '../../api-server/src/modules/uploads/proof';
import { accountingDrift, count } from '../support/accounting';
import { ADMIN_PASSWORD, createLoggedInUser, startTestServer, type ApiClient } from '../support/test-server';

const MiB = 1024 * 1024;
const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

describe.each([
  ['pglite', 'local', 'background'],
  ['pg', 's3', 'complete'],
] as const)('quota refusals at file/complete on %s + %s, hashing %s', (dbKind, storeKind, hashing) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let adminToken: string;
  let userCount = 0;

  type User = { token: string; drive: string };
  type Created = { file_id: string; upload_id: string; part_info_list: { upload_url: string }[] };
  const sql = <T = any>(text: string, params: unknown[] = []) => server.deps.db.query<T>(text, params);

  async function userWithQuota(totalSize: number): Promise<User> {
    const user = await createLoggedInUser(api, `quotakeep${++userCount}`);
    await setQuota({ token: user.access_token, drive: user.default_drive_id }, totalSize);
    return { token: user.access_token, drive: user.default_drive_id };
  }
  const setQuota = (u: User, totalSize: number) => api.ok('/v2/drive/update', { drive_id: u.drive, total_size: totalSize }, adminToken);
  async function create(u: User, name: string, extra: Record<string, unknown> = {}): Promise<Created> {
    const created = await api.call('/v2/file/create', { drive_id: u.drive, parent_file_id: 'root', name, type: 'file', check_name_mode: 'refuse', ...extra }, u.token);
    expect([created.status, created.body.rapid_upload]).toEqual([201, false]);
    return created.body;
  }
  async function put(url: string, body: Buffer) {
    expect((await fetch(url, { method: 'PUT', body })).status).toBeLessThan(300);
  }
  const ref = (u: User, c: Created) => ({ drive_id: u.drive, file_id: c.file_id, upload_id: c.upload_id });
  const complete = (u: User, c: Created) => api.call('/v2/file/complete', ref(u, c), u.token);
  async function upload(u: User, name: string, content: Buffer) {
    const created = await create(u, name, { size: content.length });
    await put(created.part_info_list[0]!.upload_url, content);
    expect((await complete(u, created)).status).toBe(200);
    return created;
  }
  async function sizes(u: User): Promise<[number, number]> {
    await server.services.jobs.drain();
    const [d] = await sql(`SELECT used_size, reserved_size FROM drives WHERE drive_id = $1`, [u.drive]);
    return [Number(d.used_size), Number(d.reserved_size)];
  }
  async function expectKept(u: User, c: Created, refused: { status: number; body: any }) {
    expect([refused.status, refused.body.code]).toEqual([403, 'QuotaExhausted.Drive']);
    expect(refused.body.message).toMatch(/the upload is kept.*file\/complete again/);
    const [session] = await sql(`SELECT status FROM upload_sessions WHERE upload_id = $1`, [c.upload_id]);
    expect(session?.status).toBe('open');
    expect(await count(server.deps.db, `SELECT count(*)::int AS n FROM files WHERE file_id = $1 AND status = 'uploading'`, [c.file_id])).toBe(1);
    // The bytes stay at the upload key; a sealed copy made to hash this attempt is dropped, with its in-flight mark.
    const keys: string[] = [];
    for await (const o of server.deps.store.list(`blobs/${c.upload_id}`)) keys.push(o.key);
    expect(keys).toEqual([`blobs/${c.upload_id}`]);
    expect(await count(server.deps.db, `SELECT count(*)::int AS n FROM deferred_object_deletes WHERE storage_key LIKE $1`, [`blobs/${c.upload_id}%`])).toBe(0);
    expect(await count(server.deps.db, `SELECT count(*)::int AS n FROM blobs WHERE storage_key LIKE $1`, [`blobs/${c.upload_id}%`])).toBe(0);
  }
  /** file/get_upload_url on a kept, assembled multipart upload: 409 UploadAssembled, for every part or some. */
  async function expectAssembled(u: User, c: Created) {
    for (const parts of [{}, { part_info_list: [{ part_number: 2 }] }]) {
      const refused = await api.call('/v2/file/get_upload_url', { ...ref(u, c), ...parts }, u.token);
      expect([refused.status, refused.body.code]).toEqual([409, 'UploadAssembled']);
      expect(refused.body.message).toMatch(/every part .* is in already.*file\/complete again/);
    }
  }
  async function expectContent(u: User, c: Created, content: Buffer) {
    await server.services.jobs.drain(); // hashed: content_hash is the SHA-1
    const file = await api.ok('/v2/file/get', { drive_id: u.drive, file_id: c.file_id }, u.token);
    expect([file.status, file.size, file.content_hash.toLowerCase()]).toEqual(['available', content.length, sha1(content)]);
    const { url } = await api.ok('/v2/file/get_download_url', { drive_id: u.drive, file_id: c.file_id }, u.token);
    expect(Buffer.from(await (await fetch(url)).arrayBuffer()).equals(content)).toBe(true);
  }

  beforeAll(async () => {
    // Proof v2 on, for the challenge answered over the quota below; it changes nothing for other uploads.
    server = await startTestServer(dbKind, storeKind, { OPENPDS_UPLOAD_HASHING: hashing, OPENPDS_RAPID_UPLOAD_PROOF_V2: 'true' });
    api = server.api;
    adminToken = (await api.login('admin', ADMIN_PASSWORD)).access_token;
  });
  afterAll(() => server?.stop());

  it('keeps an unsized one-part upload over the quota; completed once room is freed, its bytes are the same', async () => {
    const u = await userWithQuota(100);
    const filler = await upload(u, 'filler.bin', Buffer.alloc(60, 1));
    const content = randomBytes(50);
    const c = await create(u, 'unsized.bin'); // no size: nothing reserved, nothing checked at create
    await put(c.part_info_list[0]!.upload_url, content);
    expect(await sizes(u)).toEqual([60, 0]);

    await expectKept(u, c, await complete(u, c));
    expect(await sizes(u)).toEqual([60, 0]);
    await expectKept(u, c, await complete(u, c)); // still no room: still kept
    expect(await sizes(u)).toEqual([60, 0]);

    expect((await api.call('/v2/file/delete', { drive_id: u.drive, file_id: filler.file_id }, u.token)).status).toBe(204);
    expect(await sizes(u)).toEqual([0, 0]);
    const done = await complete(u, c);
    expect([done.status, done.body.size]).toEqual([200, 50]);
    expect(await sizes(u)).toEqual([50, 0]);
    await expectContent(u, c, content);
    expect(await accountingDrift(server.deps.db)).toEqual([]);
  });

  it('keeps a one-part upload with a declared hash (hashed at complete) when an admin lowered the quota', async () => {
    const u = await userWithQuota(100);
    const content = randomBytes(40);
    const c = await create(u, 'hashed.bin', { size: content.length, content_hash: sha1(content), content_hash_name: 'sha1' });
    await put(c.part_info_list[0]!.upload_url, content);
    expect(await sizes(u)).toEqual([0, 40]);
    await setQuota(u, 10);

    await expectKept(u, c, await complete(u, c));
    expect(await sizes(u)).toEqual([0, 40]); // the reservation stays with the kept upload

    await setQuota(u, 100);
    const done = await complete(u, c);
    expect([done.status, done.body.content_hash.toLowerCase()]).toEqual([200, sha1(content)]);
    expect(await sizes(u)).toEqual([40, 0]);
    await expectContent(u, c, content);
    expect(await accountingDrift(server.deps.db)).toEqual([]);
  });

  it('keeps a multipart upload (assembled) when an admin lowered the quota; list_uploaded_parts lists every part; completes once raised', async () => {
    const u = await userWithQuota(20 * MiB);
    const content = randomBytes(5 * MiB + 7);
    const c = await create(u, 'parts.bin', { size: content.length, part_info_list: [{ part_number: 1, part_size: 5 * MiB }, { part_number: 2, part_size: 7 }] });
    await put(c.part_info_list[0]!.upload_url, content.subarray(0, 5 * MiB));
    await put(c.part_info_list[1]!.upload_url, content.subarray(5 * MiB));
    expect(await sizes(u)).toEqual([0, content.length]);
    await setQuota(u, MiB);

    await expectKept(u, c, await complete(u, c));
    expect(await sizes(u)).toEqual([0, content.length]);
    // The store's multipart upload ended with the assembly: every part is listed (was 404 NotFound.UploadId).
    const listed = await api.call('/v2/file/list_uploaded_parts', ref(u, c), u.token);
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ assembled: true, next_part_number_marker: '', uploaded_parts: [{ part_number: 1, part_size: 5 * MiB }, { part_number: 2, part_size: 7 }] });
    const paged = await api.ok('/v2/file/list_uploaded_parts', { ...ref(u, c), part_number_marker: 1 }, u.token);
    expect(paged.uploaded_parts.map((p: { part_number: number }) => p.part_number)).toEqual([2]);
    // No part URLs for a store multipart upload that ended with the assembly (they answered 404 to a PUT).
    await expectAssembled(u, c);
    await expectKept(u, c, await complete(u, c)); // a retry goes on from the assembled object
    expect(await sizes(u)).toEqual([0, content.length]);
    await expectAssembled(u, c);

    await setQuota(u, 20 * MiB);
    const done = await complete(u, c);
    expect([done.status, done.body.size]).toEqual([200, content.length]);
    expect(await sizes(u)).toEqual([content.length, 0]);
    await expectContent(u, c, content);
    expect(await accountingDrift(server.deps.db)).toEqual([]);
  });

  it('still gives working part URLs for a multipart upload not assembled (a complete refused before assembly too)', async () => {
    const u = await userWithQuota(20 * MiB);
    const content = randomBytes(5 * MiB + 5);
    const c = await create(u, 'fresh.bin', { size: content.length, part_info_list: [{ part_number: 1, part_size: 5 * MiB }, { part_number: 2, part_size: 5 }] });
    await put(c.part_info_list[0]!.upload_url, content.subarray(0, 5 * MiB));
    // Refused before assembly (a part missing): the multipart upload is still the store's, and takes parts.
    const missing = await complete(u, c);
    expect([missing.status, missing.body.code]).toEqual([400, 'InvalidParameter.PartMissing']);
    const fresh = await api.call('/v2/file/get_upload_url', { ...ref(u, c), part_info_list: [{ part_number: 2 }] }, u.token);
    expect([fresh.status, fresh.body.part_info_list.map((p: { part_number: number }) => p.part_number)]).toEqual([200, [2]]);
    await put(fresh.body.part_info_list[0].upload_url, content.subarray(5 * MiB));
    const [session] = await sql(`SELECT assembled FROM upload_sessions WHERE upload_id = $1`, [c.upload_id]);
    expect(session.assembled).toBe(false);
    expect((await complete(u, c)).status).toBe(200);
    await expectContent(u, c, content);
    // Completed: as before, no URLs either way.
    const done = await api.call('/v2/file/get_upload_url', ref(u, c), u.token);
    expect([done.status, done.body.code]).toEqual([409, 'UploadCompleted']);
  });

  it('declares 409 and 410 for file/get_upload_url in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${server.url}/v2/openapi.json`)).json()) as { paths: Record<string, { post: { responses: Record<string, unknown> } }> };
    expect(Object.keys(doc.paths['/v2/file/get_upload_url']!.post.responses)).toEqual(expect.arrayContaining(['409', '410']));
  });

  it('lists an unsized multipart upload’s parts after a refusal without sizes it cannot know', async () => {
    const u = await userWithQuota(MiB);
    const content = randomBytes(5 * MiB + 3);
    const c = await create(u, 'unsized-parts.bin', { part_info_list: [{ part_number: 1 }, { part_number: 2 }] });
    await put(c.part_info_list[0]!.upload_url, content.subarray(0, 5 * MiB));
    await put(c.part_info_list[1]!.upload_url, content.subarray(5 * MiB));
    await expectKept(u, c, await complete(u, c));
    const listed = await api.ok('/v2/file/list_uploaded_parts', ref(u, c), u.token);
    expect(listed.assembled).toBe(true);
    expect(listed.uploaded_parts).toEqual([{ part_number: 1, etag: '' }, { part_number: 2, etag: '' }]);
    await expectAssembled(u, c);
    await setQuota(u, 10 * MiB);
    expect((await complete(u, c)).status).toBe(200);
    expect(await sizes(u)).toEqual([content.length, 0]);
    await expectContent(u, c, content);
  });

  it('keeps a proof v2 answer refused for the quota (session and challenge): the same answer completes once room is freed', async () => {
    const content = randomBytes(1000);
    const other = await userWithQuota(MiB);
    await upload(other, 'theirs.bin', content);
    await server.services.jobs.drain(); // hashed: findable by its SHA-1
    const u = await userWithQuota(MiB);
    const c = await create(u, 'proof.bin', { size: content.length, content_hash: sha1(content), content_hash_name: 'sha1', proof_version: 'v2' });
    const nonce = (c as Created & { proof_challenge: { nonce: string } }).proof_challenge.nonce;
    await setQuota(u, 10);
    const answer = { ...ref(u, c), proof_version: 'v2', proof_code: computeProofV2(nonce, content) };
    const refused = await api.call('/v2/file/complete', answer, u.token);
    expect([refused.status, refused.body.code]).toEqual([403, 'QuotaExhausted.Drive']);
    expect(refused.body.message).toMatch(/the upload is kept/);
    expect(await sizes(u)).toEqual([0, content.length]);
    await setQuota(u, MiB);
    const done = await api.call('/v2/file/complete', answer, u.token);
    expect([done.status, done.body.size]).toEqual([200, content.length]);
    expect(await sizes(u)).toEqual([content.length, 0]);
    await expectContent(u, c, content);
  });

  it('lets the GC collect a kept upload left as it is, with its reservation and its bytes', async () => {
    const u = await userWithQuota(20 * MiB);
    const content = randomBytes(5 * MiB + 1);
    const c = await create(u, 'left.bin', { size: content.length, part_info_list: [{ part_number: 1, part_size: 5 * MiB }, { part_number: 2, part_size: 1 }] });
    await put(c.part_info_list[0]!.upload_url, content.subarray(0, 5 * MiB));
    await put(c.part_info_list[1]!.upload_url, content.subarray(5 * MiB));
    await setQuota(u, MiB);
    await expectKept(u, c, await complete(u, c));
    expect(await sizes(u)).toEqual([0, content.length]);

    await new Promise((r) => setTimeout(r, 5));
    expect((await server.services.gc.run({ graceSeconds: 0 })).sessions).toBeGreaterThanOrEqual(1);
    expect(await count(server.deps.db, `SELECT count(*)::int AS n FROM upload_sessions WHERE upload_id = $1`, [c.upload_id])).toBe(0);
    expect(await count(server.deps.db, `SELECT count(*)::int AS n FROM files WHERE file_id = $1`, [c.file_id])).toBe(0);
    expect(await server.deps.store.head(`blobs/${c.upload_id}`)).toBeFalsy();
    expect(await sizes(u)).toEqual([0, 0]);
    expect((await complete(u, c)).status).toBe(404);
    expect(await accountingDrift(server.deps.db)).toEqual([]);
  });
});
