/**
 * A new file takes its name at file/complete (migration 015): until then its row is 'uploading', seen by
 * no name check, so an abandoned upload never blocks a name. The lock audit found two uploads of dup.txt
 * under check_name_mode refuse both completed (two live dup.txt), and a folder created while a file of
 * that name was uploading shared its name with it. Now complete checks the name again under the name
 * family's lock, with the mode file/create was asked: refuse → 409 AlreadyExist.File and the upload is
 * discarded; auto_rename and overwrite → the first free `name(n).ext`; ignore → as before.
 * On PGlite and PostgreSQL; the concurrent test interleaves only on PostgreSQL.
 */
import { createHash } from 'node:crypto';
import { nameFamily } from '../../api-server/src/modules/files/names';
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

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
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

  it('refuses the second of two uploads of one name at complete, and discards it', async () => {
    const before = await reserved();
    const a = await create('dup.txt', 'aaa', 'refuse');
    const b = await create('dup.txt', 'bbb', 'refuse');
    expect([a.status, b.status]).toEqual([201, 201]); // neither is live yet: neither holds the name
    await put(a, 'aaa');
    await put(b, 'bbb');
    expect((await complete(a)).status).toBe(200);
    const refused = await complete(b);
    expect([refused.status, refused.body.code, refused.body.file_id]).toEqual([409, 'AlreadyExist.File', a.body.file_id]);
    expect(await liveNamed('dup.txt')).toBe(1);
    // Discarded: the session, its invisible file and its reservation are gone at once.
    expect((await complete(b)).status).toBe(404);
    expect(await count(server.deps.db, `SELECT count(*)::int AS n FROM files WHERE file_id = $1`, [b.body.file_id])).toBe(0);
    expect(await reserved()).toBe(before);
    const got = await api.call('/v2/file/get_download_url', { drive_id: d, file_id: a.body.file_id }, t);
    expect(await (await fetch(got.body.url)).text()).toBe('aaa');
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
