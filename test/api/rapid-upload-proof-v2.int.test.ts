/**
 * Rapid upload across users with proof v2 (api-server/src/modules/uploads/proof.ts): content stored in the
 * domain but not readable by the caller is linked without a transfer only when the caller answers a
 * server-chosen challenge over every byte. Proof v1 links only content the caller can read already
 * (rapid-upload-proof.int.test.ts); before v2, everyone else uploaded bytes the domain held.
 * Off by default (OPENPDS_RAPID_UPLOAD_PROOF_V2): a challenge confirms the whole file exists in the domain.
 * On PGlite + local disk and PostgreSQL + radosgw S3.
 */
import { createHash, randomBytes } from 'node:crypto';
import { computeProofV2 } from '../../api-server/src/modules/uploads/proof';
import { ADMIN_PASSWORD, createLoggedInUser, startTestServer, type ApiClient } from '../support/test-server';

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
type User = Awaited<ReturnType<typeof createLoggedInUser>>;

describe.each([
  ['pglite', 'local'],
  ['pg', 's3'],
] as const)('rapid upload with proof v2 on %s + %s', (dbKind, storeKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let admin: string;
  let users = 0;
  const sql = <T = any>(text: string, params: unknown[] = []) => server.deps.db.query<T>(text, params);

  beforeAll(async () => {
    server = await startTestServer(dbKind, storeKind, { OPENPDS_RAPID_UPLOAD_PROOF_V2: 'true', OPENPDS_RAPID_UPLOAD_CHALLENGES_PER_HOUR: '12' });
    api = server.api;
    admin = (await api.login('admin', ADMIN_PASSWORD)).access_token;
  });
  afterAll(() => server?.stop());

  const newUser = () => createLoggedInUser(api, `v2user${++users}`);
  const createWithHash = (u: User, name: string, content: Buffer, extra: Record<string, unknown> = {}) =>
    api.call('/v2/file/create', {
      drive_id: u.default_drive_id, parent_file_id: 'root', name, type: 'file', size: content.length,
      content_hash: sha1(content), content_hash_name: 'sha1', proof_version: 'v2', ...extra,
    }, u.access_token);
  const complete = (u: User, created: { file_id: string; upload_id: string }, extra: Record<string, unknown> = {}) =>
    api.call('/v2/file/complete', { drive_id: u.default_drive_id, file_id: created.file_id, upload_id: created.upload_id, ...extra }, u.access_token);

  async function upload(u: User, name: string, content: Buffer) {
    const created = await api.ok('/v2/file/create', { drive_id: u.default_drive_id, parent_file_id: 'root', name, type: 'file', size: content.length }, u.access_token);
    expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content })).status).toBeLessThan(300);
    const file = (await complete(u, created)).body;
    await server.services.jobs.drain(); // hashed: the content is findable by its SHA-1
    return file;
  }
  async function download(u: User, fileId: string): Promise<Buffer> {
    const { url } = await api.ok('/v2/file/get_download_url', { drive_id: u.default_drive_id, file_id: fileId }, u.access_token);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  }
  const blobCount = async () => Number((await sql<{ n: string }>('SELECT count(*) AS n FROM blobs'))[0]!.n);

  it('links another user\'s content for a right answer over every byte, with no transfer and no second copy', async () => {
    const [alice, bob] = [await newUser(), await newUser()];
    const content = randomBytes(300_000);
    await upload(alice, 'photo.jpg', content);
    const blobs = await blobCount();

    const created = await createWithHash(bob, 'mine.jpg', content);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ rapid_upload: false, proof_challenge: { proof_version: 'v2', algorithm: 'hmac-sha256' } });
    expect(Buffer.from(created.body.proof_challenge.nonce, 'base64')).toHaveLength(32);
    expect(created.body.upload_id).not.toBe('');

    const done = await complete(bob, created.body, { proof_version: 'v2', proof_code: computeProofV2(created.body.proof_challenge.nonce, content) });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'available', size: content.length });
    expect(done.body.content_hash.toLowerCase()).toBe(sha1(content));
    expect((await download(bob, created.body.file_id)).equals(content)).toBe(true);
    expect(await blobCount()).toBe(blobs);
    const drive = await api.ok('/v2/drive/get', { drive_id: bob.default_drive_id }, bob.access_token);
    expect(drive).toMatchObject({ used_size: content.length, reserved_size: 0 });
  });

  it('gives each create its own nonce, and none to a caller who can read the content already (v1 rules) or to content not stored', async () => {
    const [alice, bob] = [await newUser(), await newUser()];
    const content = randomBytes(5000);
    await upload(alice, 'a.bin', content);
    const first = (await createWithHash(bob, 'b1.bin', content)).body;
    const second = (await createWithHash(bob, 'b2.bin', content)).body;
    expect(first.proof_challenge.nonce).not.toBe(second.proof_challenge.nonce);

    const own = await createWithHash(alice, 'again.bin', content);
    expect(own.body).toMatchObject({ rapid_upload: true, upload_id: '' });
    expect(own.body.proof_challenge).toBeUndefined();

    const fresh = await createWithHash(bob, 'new.bin', randomBytes(5000));
    expect(fresh.body.rapid_upload).toBe(false);
    expect(fresh.body.proof_challenge).toBeUndefined();
    const answered = await complete(bob, fresh.body, { proof_version: 'v2', proof_code: 'a'.repeat(64) });
    expect(answered).toMatchObject({ status: 400, body: { code: 'InvalidParameter.ProofVersion' } });
  });

  it('refuses a wrong answer, uses the challenge up, and lets the upload go on with its parts', async () => {
    const [alice, mallory] = [await newUser(), await newUser()];
    const content = randomBytes(64 * 1024);
    await upload(alice, 'secret.txt', content);
    const created = (await createWithHash(mallory, 'guess.txt', content)).body;
    // All but the last byte known: any sampling proof passes this often; the HMAC over every byte never does.
    const almost = Buffer.from(content);
    almost[almost.length - 1]! ^= 1;
    const wrong = await complete(mallory, created, { proof_version: 'v2', proof_code: computeProofV2(created.proof_challenge.nonce, almost) });
    expect(wrong).toMatchObject({ status: 400, body: { code: 'InvalidParameter.ProofCode' } });
    const again = await complete(mallory, created, { proof_version: 'v2', proof_code: computeProofV2(created.proof_challenge.nonce, content) });
    expect(again).toMatchObject({ status: 400, body: { code: 'InvalidParameter.ProofVersion' } });
    expect((await api.ok('/v2/file/list', { drive_id: mallory.default_drive_id, parent_file_id: 'root' }, mallory.access_token)).items).toEqual([]);

    // The session is still the client's: upload the bytes and complete as usual.
    expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content })).status).toBeLessThan(300);
    const done = await complete(mallory, created);
    expect(done.status).toBe(200);
    expect((await download(mallory, created.file_id)).equals(content)).toBe(true);
  });

  it('refuses malformed answers with a clear 400 and keeps the challenge', async () => {
    const [alice, bob] = [await newUser(), await newUser()];
    const content = randomBytes(1000);
    await upload(alice, 'x.bin', content);
    const created = (await createWithHash(bob, 'x.bin', content)).body;
    expect(await complete(bob, created, { proof_version: 'v2' })).toMatchObject({ status: 400, body: { code: expect.stringMatching(/^InvalidParameter/) } });
    expect(await complete(bob, created, { proof_version: 'v3', proof_code: 'ab' })).toMatchObject({ status: 400 });
    expect(await complete(bob, created, { proof_code: 'ab' })).toMatchObject({ status: 400 });
    const ok = await complete(bob, created, { proof_version: 'v2', proof_code: computeProofV2(created.proof_challenge.nonce, content) });
    expect(ok.status).toBe(200);
  });

  it('answers 404 NotFound.UploadId, not a content error, when the file was deleted before the answer', async () => {
    const [alice, bob] = [await newUser(), await newUser()];
    const content = randomBytes(4000);
    await upload(alice, 'd.bin', content);
    const created = (await createWithHash(bob, 'd.bin', content)).body;
    await api.ok('/v2/file/delete', { drive_id: bob.default_drive_id, file_id: created.file_id }, bob.access_token);
    const answered = await complete(bob, created, { proof_version: 'v2', proof_code: computeProofV2(created.proof_challenge.nonce, content) });
    expect(answered).toMatchObject({ status: 404, body: { code: 'NotFound.UploadId' } });
  });

  it('answers RapidUploadUnavailable when the content was collected before the answer, and the upload goes on', async () => {
    const [alice, bob] = [await newUser(), await newUser()];
    const content = randomBytes(20_000);
    const file = await upload(alice, 'gone.bin', content);
    const created = (await createWithHash(bob, 'gone.bin', content)).body;
    await api.ok('/v2/file/delete', { drive_id: alice.default_drive_id, file_id: file.file_id }, alice.access_token);
    // The content has been unreferenced for a day (the GC's grace is longer than this test): bob's young
    // session is not collected, the blob is.
    await sql(`UPDATE blobs SET unreferenced_since = now() - interval '1 day' WHERE sha1 = $1`, [sha1(content)]);
    await server.services.gc.run({ graceSeconds: 3600 });
    expect(await sql('SELECT 1 FROM blobs WHERE sha1 = $1', [sha1(content)])).toEqual([]);
    const answered = await complete(bob, created, { proof_version: 'v2', proof_code: computeProofV2(created.proof_challenge.nonce, content) });
    expect(answered).toMatchObject({ status: 409, body: { code: 'RapidUploadUnavailable' } });
    expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content })).status).toBeLessThan(300);
    expect((await complete(bob, created)).status).toBe(200);
    expect((await download(bob, created.file_id)).equals(content)).toBe(true);
  });

  it('gives a user at most OPENPDS_RAPID_UPLOAD_CHALLENGES_PER_HOUR challenges; after them file/create opens a plain upload', async () => {
    const [alice, eve] = [await newUser(), await newUser()];
    const content = randomBytes(3000);
    await upload(alice, 'known.bin', content);
    const answers = [];
    for (let i = 0; i < 13; i++) answers.push((await createWithHash(eve, `guess-${i}.bin`, content)).body);
    expect(answers.slice(0, 12).every((a) => a.proof_challenge)).toBe(true);
    expect(answers[12]).toMatchObject({ rapid_upload: false });
    expect(answers[12].proof_challenge).toBeUndefined();
    expect(answers[12].upload_id).not.toBe('');
    expect((await createWithHash(alice, 'mine.bin', content)).body).toMatchObject({ rapid_upload: true }); // own content: no challenge needed
  });

  it('checks wrong and right answers alike, a few at a time, each against the stored bytes', async () => {
    const [alice, bob] = [await newUser(), await newUser()];
    const content = randomBytes(2 * 1024 * 1024);
    await upload(alice, 'big.bin', content);
    const sessions = [];
    for (let i = 0; i < 6; i++) sessions.push((await createWithHash(bob, `big-${i}.bin`, content)).body);
    const answers = await Promise.all(sessions.map((c, i) => complete(bob, c, { proof_version: 'v2', proof_code: i % 2 ? '0'.repeat(64) : computeProofV2(c.proof_challenge.nonce, content) })));
    expect(answers.map((a) => a.status)).toEqual([200, 400, 200, 400, 200, 400]);
  });

  it('counts the linked content against the quota the session reserved, and refuses on a disabled drive', async () => {
    const [alice, bob] = [await newUser(), await newUser()];
    const content = randomBytes(10_000);
    await upload(alice, 'q.bin', content);
    await api.ok('/v2/drive/update', { drive_id: bob.default_drive_id, total_size: 15_000 }, admin);
    const tooBig = await createWithHash(bob, 'q2.bin', Buffer.concat([content, content]));
    expect(tooBig.status).toBe(403); // no room even to reserve: refused before any challenge
    const created = (await createWithHash(bob, 'q.bin', content)).body;
    await api.ok('/v2/drive/update', { drive_id: bob.default_drive_id, status: 'disabled' }, admin);
    const disabled = await complete(bob, created, { proof_version: 'v2', proof_code: computeProofV2(created.proof_challenge.nonce, content) });
    expect(disabled).toMatchObject({ status: 403, body: { code: 'Forbidden.DriveDisabled' } });
    await api.ok('/v2/drive/update', { drive_id: bob.default_drive_id, status: 'enabled' }, admin);
    const done = await complete(bob, created, { proof_version: 'v2', proof_code: computeProofV2(created.proof_challenge.nonce, content) });
    expect(done.status).toBe(200);
    expect(await api.ok('/v2/drive/get', { drive_id: bob.default_drive_id }, bob.access_token)).toMatchObject({ used_size: 10_000, reserved_size: 0 });
  });
});

describe('rapid upload with proof v2 off (the default)', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
  });
  afterAll(() => server?.stop());

  it('opens a plain upload for another user\'s content: no challenge says the file exists', async () => {
    const api = server.api;
    const [alice, bob] = [await createLoggedInUser(api, 'off-alice'), await createLoggedInUser(api, 'off-bob')];
    const content = randomBytes(2000);
    const created = await api.ok('/v2/file/create', { drive_id: alice.default_drive_id, parent_file_id: 'root', name: 'a.bin', type: 'file', size: content.length }, alice.access_token);
    await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content });
    await api.ok('/v2/file/complete', { drive_id: alice.default_drive_id, file_id: created.file_id, upload_id: created.upload_id }, alice.access_token);
    await server.services.jobs.drain();
    const probe = await api.ok('/v2/file/create', {
      drive_id: bob.default_drive_id, parent_file_id: 'root', name: 'b.bin', type: 'file', size: content.length,
      content_hash: sha1(content), content_hash_name: 'sha1', proof_version: 'v2',
    }, bob.access_token);
    expect(probe).toMatchObject({ rapid_upload: false });
    expect(probe.proof_challenge).toBeUndefined();
    const fresh = await api.ok('/v2/file/create', {
      drive_id: bob.default_drive_id, parent_file_id: 'root', name: 'c.bin', type: 'file', size: content.length,
      content_hash: sha1(randomBytes(2000)), content_hash_name: 'sha1', proof_version: 'v2',
    }, bob.access_token);
    expect(Object.keys(probe).sort()).toEqual(Object.keys(fresh).sort()); // the same answer as for content nobody holds
  });
});
