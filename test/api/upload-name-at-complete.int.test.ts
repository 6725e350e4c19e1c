/**
 * A new file takes its name at file/complete (migration 015): until then its row is 'uploading', seen by
 * no name check, so an abandoned upload never blocks a name. The lock audit found two uploads of dup.txt
 * under check_name_mode refuse both completed (two live dup.txt), and a folder created while a file of
 * that name was uploading shared its name with it. Now complete checks the name again under the name
 * family's lock, with the mode file/create was asked: refuse → 409 AlreadyExist.File, and the upload is
 * kept (it was discarded: 4 GB lost to a name another file took meanwhile) for a rename and a complete
 * again; auto_rename and overwrite → the first free `name(n).ext`, from the name asked at create
 * (migration 016: a(2).txt, not a(1)(1).txt); ignore → as before.
 * On PGlite and PostgreSQL; the concurrent test interleaves only on PostgreSQL.
 */
import { createHash, randomBytes } from 'node:crypto';
import { nameFamily } from '../../api-server/src/modules/files/names';
import { computeProofV2 } from '../../api-server/src/modules/uploads/proof';
import { accountingDrift, count } from '../support/accounting';
import { createLoggedInUser, startTestServer, type ApiClient } from '../support/test-server';

describe.each(['pg', 'pglite'] as const)('names taken at file/complete on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let t: string;
  let d: string;

  const create = (name: string, body: string, mode: string, extra: Record<string, unknown> = {}) =>
    api.call('/v2/file/create', { drive_id: d, parent_file_id: 'root', name, type: 'file', check_name_mode: mode, size: Buffer.byteLength(body), ...extra }, t);
  async function put(created: { body: any }, body: string) {
    expect(created.body.upload_id).toBeTruthy();
    expect((await fetch(created.body.part_info_list[0].upload_url, { method: 'PUT', body })).ok).toBe(true);
  }
  const complete = (created: { body: any }) => api.call('/v2/file/complete', { drive_id: d, file_id: created.body.file_id, upload_id: created.body.upload_id }, t);
  const liveNamed = (name: string) =>
    count(server.deps.db, `SELECT count(*)::int AS n FROM files WHERE drive_id = $1 AND name = $2 AND trashed_at IS NULL AND status = 'available'`, [d, name]);
  const reserved = async () => Number((await api.ok('/v2/drive/get', { drive_id: d }, t)).reserved_size);
  const rename = (created: { body: any }, name: string) => api.call('/v2/file/update', { drive_id: d, file_id: created.body.file_id, name, check_name_mode: 'refuse' }, t);
  const sessionStatus = async (created: { body: any }) =>
    (await server.deps.db.query<{ status: string }>(`SELECT status FROM upload_sessions WHERE upload_id = $1`, [created.body.upload_id]))[0]?.status;
  async function download(fileId: string): Promise<Buffer> {
    const got = await api.call('/v2/file/get_download_url', { drive_id: d, file_id: fileId }, t);
    expect(got.status).toBe(200);
    return Buffer.from(await (await fetch(got.body.url)).arrayBuffer());
  }

  beforeAll(async () => {
    // Proof v2 on, for the refused challenge below; it changes nothing for uploads that do not ask for it.
    server = await startTestServer(dbKind, 'local', { OPENPDS_RAPID_UPLOAD_PROOF_V2: 'true' });
    api = server.api;
    const u = await createLoggedInUser(api, 'namer');
    [t, d] = [u.access_token, u.default_drive_id];
  });
  afterAll(() => server?.stop());

  it('computes the name family in SQL as nameFamily does (the lock key both sides take)', async () => {
    const names = ['a.txt', 'a(1).txt', 'a(1)(22).txt', 'a (1).txt', '.bashrc', '.bashrc(2)', 'noext', 'x(1)', 'x(a).txt', 'a.b.c(3).gz', 'a(1).', 'é(٣).txt', 'ü.tar(1).gz', '(1)', 'a..b'];
    const rows = await server.deps.db.query<{ n: string; f: string }>(`SELECT n, file_name_family(n) AS f FROM unnest($1::text[]) AS n`, [names]);
    expect(rows.map((r) => [r.n, r.f])).toEqual(names.map((n) => [n, nameFamily(n)]));
  });

  it('refuses the second of two uploads of one name at complete, keeps it, and completes it once renamed', async () => {
    const before = await reserved();
    const a = await create('dup.txt', 'aaa', 'refuse');
    const b = await create('dup.txt', 'bbb', 'refuse');
    expect([a.status, b.status]).toEqual([201, 201]); // neither is live yet: neither holds the name
    await put(a, 'aaa');
    await put(b, 'bbb');
    expect((await complete(a)).status).toBe(200);
    const refused = await complete(b);
    expect([refused.status, refused.body.code, refused.body.file_id]).toEqual([409, 'AlreadyExist.File', a.body.file_id]);
    expect(refused.body.message).toMatch(/file\/update/);
    expect(await liveNamed('dup.txt')).toBe(1);
    // Kept: the session is open again (not left 'completing'), with its file and its reservation.
    expect(await sessionStatus(b)).toBe('open');
    expect(await reserved()).toBe(before + 3);
    // Completed again unrenamed: refused again, still kept.
    expect((await complete(b)).status).toBe(409);
    expect((await rename(b, 'dup-2.txt')).status).toBe(200);
    const done = await complete(b);
    expect([done.status, done.body.name, done.body.file_id]).toEqual([200, 'dup-2.txt', b.body.file_id]);
    expect((await download(b.body.file_id)).toString()).toBe('bbb');
    expect((await download(a.body.file_id)).toString()).toBe('aaa');
    expect(await reserved()).toBe(before);
    expect(await accountingDrift(server.deps.db)).toEqual([]);
  });

  it('keeps a refused multipart upload (assembled at the refusal) and a hashed one (its sealed copy dropped) for a rename', async () => {
    const MiB = 1024 * 1024;
    const big = randomBytes(5 * MiB + 7);
    const takeName = async (name: string) => {
      const taker = await create(name, 'x', 'ignore');
      await put(taker, 'x');
      expect((await complete(taker)).status).toBe(200);
    };
    const multi = await api.call('/v2/file/create', {
      drive_id: d, parent_file_id: 'root', name: 'parts.bin', type: 'file', check_name_mode: 'refuse', size: big.length,
      part_info_list: [{ part_number: 1, part_size: 5 * MiB }, { part_number: 2, part_size: 7 }],
    }, t);
    expect(multi.status).toBe(201);
    for (const [i, part] of [big.subarray(0, 5 * MiB), big.subarray(5 * MiB)].entries())
      expect((await fetch(multi.body.part_info_list[i].upload_url, { method: 'PUT', body: part })).ok).toBe(true);
    await takeName('parts.bin');
    expect((await complete(multi)).status).toBe(409);
    // Assembled: no part URLs for the store multipart upload that ended with the assembly (migration 019).
    const urls = await api.call('/v2/file/get_upload_url', { drive_id: d, file_id: multi.body.file_id, upload_id: multi.body.upload_id }, t);
    expect([urls.status, urls.body.code]).toEqual([409, 'UploadAssembled']);
    expect((await rename(multi, 'parts-2.bin')).status).toBe(200);
    const done = await complete(multi);
    expect([done.status, done.body.name]).toEqual([200, 'parts-2.bin']);
    expect((await download(multi.body.file_id)).equals(big)).toBe(true);

    // A declared hash: complete hashes a sealed copy of the one-part upload, which the refusal drops.
    const body = 'sealed at complete';
    const sha1 = createHash('sha1').update(body).digest('hex');
    const hashed = await create('sealed.bin', body, 'refuse', { content_hash: sha1, content_hash_name: 'sha1' });
    await put(hashed, body);
    await takeName('sealed.bin');
    expect((await complete(hashed)).status).toBe(409);
    expect(await count(server.deps.db, `SELECT count(*)::int AS n FROM deferred_object_deletes WHERE storage_key LIKE $1`, [`blobs/${hashed.body.upload_id}%`])).toBe(0);
    expect((await rename(hashed, 'sealed-2.bin')).status).toBe(200);
    const sealed = await complete(hashed);
    expect([sealed.status, sealed.body.name, sealed.body.content_hash.toLowerCase()]).toEqual([200, 'sealed-2.bin', sha1]);
    expect((await download(hashed.body.file_id)).toString()).toBe(body);
    expect(await accountingDrift(server.deps.db)).toEqual([]);
  });

  it('keeps a refused proof v2 answer\'s session and challenge: renamed, the same answer completes it', async () => {
    const content = randomBytes(10_000);
    const sha1 = createHash('sha1').update(content).digest('hex');
    const other = await createLoggedInUser(api, 'prover');
    const theirs = await api.ok('/v2/file/create', { drive_id: other.default_drive_id, parent_file_id: 'root', name: 'p.bin', type: 'file', size: content.length }, other.access_token);
    expect((await fetch(theirs.part_info_list[0].upload_url, { method: 'PUT', body: content })).ok).toBe(true);
    await api.ok('/v2/file/complete', { drive_id: other.default_drive_id, file_id: theirs.file_id, upload_id: theirs.upload_id }, other.access_token);
    await server.services.jobs.drain(); // hashed: findable by its SHA-1

    const challenged = await create('proof.bin', '', 'refuse', { size: content.length, content_hash: sha1, content_hash_name: 'sha1', proof_version: 'v2' });
    expect(challenged.body.proof_challenge?.nonce).toBeTruthy();
    const taker = await create('proof.bin', 'x', 'refuse');
    await put(taker, 'x');
    expect((await complete(taker)).status).toBe(200);
    const answer = { drive_id: d, file_id: challenged.body.file_id, upload_id: challenged.body.upload_id, proof_version: 'v2', proof_code: computeProofV2(challenged.body.proof_challenge.nonce, content) };
    const refused = await api.call('/v2/file/complete', answer, t);
    expect([refused.status, refused.body.code]).toEqual([409, 'AlreadyExist.File']);
    expect(await sessionStatus(challenged)).toBe('open');
    expect((await rename(challenged, 'proof-2.bin')).status).toBe(200);
    const done = await api.call('/v2/file/complete', answer, t);
    expect([done.status, done.body.name]).toEqual([200, 'proof-2.bin']);
    expect((await download(challenged.body.file_id)).equals(content)).toBe(true);
  });

  it('lets the GC collect a refused upload left as it is', async () => {
    const before = await reserved();
    const a = await create('left.txt', 'aaa', 'refuse');
    const b = await create('left.txt', 'bbb', 'refuse');
    await put(a, 'aaa');
    await put(b, 'bbb');
    expect((await complete(a)).status).toBe(200);
    expect((await complete(b)).status).toBe(409);
    expect(await reserved()).toBe(before + 3);
    await new Promise((r) => setTimeout(r, 5));
    expect((await server.services.gc.run({ graceSeconds: 0 })).sessions).toBeGreaterThanOrEqual(1);
    expect(await count(server.deps.db, `SELECT count(*)::int AS n FROM upload_sessions WHERE upload_id = $1`, [b.body.upload_id])).toBe(0);
    expect(await count(server.deps.db, `SELECT count(*)::int AS n FROM files WHERE file_id = $1`, [b.body.file_id])).toBe(0);
    expect(await reserved()).toBe(before);
    expect(await server.deps.store.head(`blobs/${b.body.upload_id}`)).toBeFalsy(); // its stored bytes too
    expect((await download(a.body.file_id)).toString()).toBe('aaa');
  });

  it('auto_rename at complete goes on from the name asked at create: a(1).txt and a(2).txt, not a(1)(1).txt', async () => {
    const first = await create('a.txt', '0', 'ignore');
    await put(first, '0');
    expect((await complete(first)).status).toBe(200);
    const x = await create('a.txt', '1', 'auto_rename');
    const y = await create('a.txt', '2', 'auto_rename');
    expect([x.body.file_name, y.body.file_name]).toEqual(['a(1).txt', 'a(1).txt']);
    await put(x, '1');
    await put(y, '2');
    expect((await complete(x)).body.name).toBe('a(1).txt');
    expect((await complete(y)).body.name).toBe('a(2).txt');
    expect((await download(y.body.file_id)).toString()).toBe('2');
    // Renamed by the client since: from the name it gave, as file/create would (a(7).txt taken → a(7)(1).txt).
    const z = await create('a.txt', '3', 'auto_rename');
    expect(z.body.file_name).toBe('a(3).txt');
    expect((await rename(z, 'a(7).txt')).status).toBe(200);
    const taker = await create('a(7).txt', '7', 'ignore');
    await put(taker, '7');
    expect((await complete(taker)).status).toBe(200);
    await put(z, '3');
    expect((await complete(z)).body.name).toBe('a(7)(1).txt');
  });

  it('refuses an upload whose name a folder took meanwhile', async () => {
    const c = await create('taken.txt', 'ccc', 'refuse');
    const folder = await api.call('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'taken.txt', type: 'folder', check_name_mode: 'refuse' }, t);
    expect(folder.status).toBe(201);
    await put(c, 'ccc');
    const refused = await complete(c);
    expect([refused.status, refused.body.code, refused.body.file_id]).toEqual([409, 'AlreadyExist.File', folder.body.file_id]);
    expect(await liveNamed('taken.txt')).toBe(1);
  });

  it('refuses on the full path too (a declared content hash, hashed at complete)', async () => {
    const body = 'declared';
    const sha1 = createHash('sha1').update(body).digest('hex');
    const first = await create('hashed.txt', body, 'refuse', { content_hash: sha1, content_hash_name: 'sha1' });
    const second = await create('hashed.txt', body, 'refuse', { content_hash: sha1, content_hash_name: 'sha1' });
    await put(first, body);
    await put(second, body);
    expect((await complete(first)).status).toBe(200);
    expect([(await complete(second)).status, await liveNamed('hashed.txt')]).toEqual([409, 1]);
  });

  it.each(['auto_rename', 'overwrite'])('renames at complete under %s when the name was taken meanwhile', async (mode) => {
    const name = `${mode}.txt`;
    const a = await create(name, 'one', mode);
    const b = await create(name, 'two', mode);
    await put(a, 'one');
    await put(b, 'two');
    expect((await complete(a)).body.name).toBe(name);
    const renamed = await complete(b);
    expect([renamed.status, renamed.body.name]).toEqual([200, `${mode}(1).txt`]);
    expect(await liveNamed(name)).toBe(1);
  });

  it('leaves check_name_mode ignore as it was: both complete under the one name', async () => {
    const a = await create('same.txt', 'one', 'ignore');
    const b = await create('same.txt', 'two', 'ignore');
    await put(a, 'one');
    await put(b, 'two');
    expect([(await complete(a)).status, (await complete(b)).status, await liveNamed('same.txt')]).toEqual([200, 200, 2]);
  });

  it('follows a rename of the upload before complete: the new name is the one checked', async () => {
    const a = await create('before.txt', 'one', 'refuse');
    await put(a, 'one');
    expect((await api.call('/v2/file/update', { drive_id: d, file_id: a.body.file_id, name: 'after.txt', check_name_mode: 'refuse' }, t)).status).toBe(200);
    const other = await create('after.txt', 'two', 'refuse');
    await put(other, 'two');
    expect((await complete(other)).status).toBe(200);
    expect((await complete(a)).status).toBe(409);
  });

  it('lets exactly one of many concurrent refuse uploads of one name, and no folder beside it, take the name', async () => {
    // Interleaves only on PostgreSQL; on PGlite the same calls run one after the other.
    const TRIES = dbKind === 'pg' ? 15 : 5;
    const badTries: string[] = [];
    for (let i = 0; i < TRIES; i++) {
      const name = `race${i}.txt`;
      const uploads = await Promise.all([0, 1, 2].map((k) => create(name, `v${k}`, 'refuse')));
      await Promise.all(uploads.map((u, k) => put(u, `v${k}`)));
      const [folder, ...done] = await Promise.all([
        api.call('/v2/file/create', { drive_id: d, parent_file_id: 'root', name, type: 'folder', check_name_mode: 'refuse' }, t),
        ...uploads.map((u) => complete(u)),
      ]);
      const winners = [folder, ...done].filter((r) => r.status < 300).length;
      if (winners !== 1 || (await liveNamed(name)) !== 1) badTries.push(`try ${i}: ${winners} took the name`);
      expect([...done, folder].every((r) => r.status < 300 || (r.status === 409 && r.body.code === 'AlreadyExist.File'))).toBe(true);
    }
    expect(badTries).toEqual([]);
    expect(await accountingDrift(server.deps.db)).toEqual([]);
  }, 60_000);
});
