/**
 * Input PostgreSQL cannot store or compare is refused with a 400 naming the field, never a 500: NUL
 * characters and unpaired surrogates in any body string (ids, login, descriptions, labels, user_data, keys
 * too), hand-made list markers of the right listing but the wrong shape; and a second default drive for a
 * user is a 409 AlreadyExist.DefaultDrive. On PGlite and on PostgreSQL (their errors differ).
 */
import { ADMIN_PASSWORD, createLoggedInUser, startTestServer, type ApiClient } from '../support/test-server';

const marker = (...parts: unknown[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');

describe.each(['pglite', 'pg'] as const)('bad input on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let admin: string;
  let alice: { access_token: string; user_id: string; default_drive_id: string };
  let fileId: string;

  const expectRefused = async (path: string, body: unknown, token: string | undefined, status: number, code: string) => {
    const r = await api.call(path, body, token);
    expect([path, r.status, r.body?.code]).toEqual([path, status, code]);
    expect(JSON.stringify(r.body)).not.toMatch(/SELECT|INSERT|UPDATE|jsonb|0x00/);
    return r.body;
  };

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    api = server.api;
    admin = (await api.login('admin', ADMIN_PASSWORD)).access_token;
    alice = await createLoggedInUser(api, 'alice');
    const folder = await api.ok('/v2/file/create', { drive_id: alice.default_drive_id, parent_file_id: 'root', name: 'f', type: 'folder' }, alice.access_token);
    fileId = folder.file_id;
  });
  afterAll(() => server?.stop());

  it('refuses NUL in ids, login fields, descriptions, labels and user_data with InvalidParameter.<Field>', async () => {
    const t = alice.access_token;
    const d = alice.default_drive_id;
    const body = await expectRefused('/v2/file/list', { drive_id: 'a\u0000b', parent_file_id: 'root' }, t, 400, 'InvalidParameter.DriveId');
    expect(body.message).toMatch(/^drive_id: /);
    await expectRefused('/v2/file/get', { drive_id: d, file_id: `${fileId}\u0000` }, t, 400, 'InvalidParameter.FileId');
    await expectRefused('/v2/account/login', { username: 'ali\u0000ce', password: 'x' }, undefined, 400, 'InvalidParameter.Username');
    await expectRefused('/v2/account/login', { username: 'alice', password: 'alice-password\u0000' }, undefined, 400, 'InvalidParameter.Password');
    await expectRefused('/v2/file/update', { drive_id: d, file_id: fileId, description: 'a\u0000' }, t, 400, 'InvalidParameter.Description');
    await expectRefused('/v2/file/update', { drive_id: d, file_id: fileId, labels: ['a\u0000'] }, t, 400, 'InvalidParameter.Labels');
    await expectRefused('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'g', type: 'folder', description: '\u0000' }, t, 400, 'InvalidParameter.Description');
    await expectRefused('/v2/user/update', { user_id: alice.user_id, user_data: { k: 'v\u0000' } }, admin, 400, 'InvalidParameter.UserData');
    await expectRefused('/v2/user/update', { user_id: alice.user_id, user_data: { 'k\u0000': 'v' } }, admin, 400, 'InvalidParameter.UserData');
    await expectRefused('/v2/drive/list', { marker: '\u0000' }, admin, 400, 'InvalidParameter.Marker');
  });

  it('refuses unpaired surrogates (jsonb refuses them; text would store U+FFFD instead)', async () => {
    const t = alice.access_token;
    const d = alice.default_drive_id;
    await expectRefused('/v2/file/update', { drive_id: d, file_id: fileId, labels: ['\ud800'] }, t, 400, 'InvalidParameter.Labels');
    await expectRefused('/v2/file/update', { drive_id: d, file_id: fileId, description: 'x\udfff' }, t, 400, 'InvalidParameter.Description');
    await expectRefused('/v2/user/update', { user_id: alice.user_id, user_data: { k: ['\udbff'] } }, admin, 400, 'InvalidParameter.UserData');
    // Well-formed text outside the BMP is fine.
    const ok = await api.ok('/v2/file/update', { drive_id: d, file_id: fileId, labels: ['😀'], description: 'é😀' }, t);
    expect([ok.labels, ok.description]).toEqual([['😀'], 'é😀']);
  });

  it('refuses a hand-made revision or recycle-bin marker of the right listing with InvalidParameter.Marker', async () => {
    const t = alice.access_token;
    const d = alice.default_drive_id;
    const created = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'a.txt', type: 'file', size: 1 }, t);
    await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: 'a' });
    await api.ok('/v2/file/complete', { drive_id: d, file_id: created.file_id, upload_id: created.upload_id }, t);
    const revisions = `revisions:${created.file_id}`;
    for (const m of [marker(revisions, 'not a date', 'r'), marker(revisions, 5, 'r'), marker(revisions, '2026-01-01T00:00:00.000Z', 'r\u0000'), marker(revisions, '2026-01-01T00:00:00.000Z', { a: 1 })])
      await expectRefused('/v2/file/revision/list', { drive_id: d, file_id: created.file_id, marker: m }, t, 400, 'InvalidParameter.Marker');
    const trash = `trash:${d}`;
    for (const m of [marker(trash, 'yesterday', 'f'), marker(trash, '2026-13-45T99:00:00.000Z', 'f'), marker(trash, '2026-01-01T00:00:00.000Z', ['f'])])
      await expectRefused('/v2/recyclebin/list', { drive_id: d, marker: m }, t, 400, 'InvalidParameter.Marker');
    // A real marker still pages.
    expect((await api.ok('/v2/file/revision/list', { drive_id: d, file_id: created.file_id, marker: marker(revisions, '2099-01-01T00:00:00.000Z', 'z') }, t)).items).toHaveLength(1);
  });

  it('refuses a file time outside years 0001-9999 (UTC) with InvalidParameter.<Field>, and keeps the ends of the range', async () => {
    const t = alice.access_token;
    const d = alice.default_drive_id;
    // Year 10000 in UTC (PGlite: SQLSTATE 22009, a 500), year 0000 and 1 BC (a 400 that named no field).
    for (const at of ['9999-12-31T23:59:59-14:00', '0000-06-01T00:00:00Z', '0001-01-01T00:00:00+01:00']) {
      await expectRefused('/v2/file/update', { drive_id: d, file_id: fileId, local_modified_at: at }, t, 400, 'InvalidParameter.LocalModifiedAt');
      await expectRefused('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'late.txt', type: 'file', size: 1, local_created_at: at }, t, 400, 'InvalidParameter.LocalCreatedAt');
      await expectRefused('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'late.txt', type: 'file', size: 1, local_modified_at: at }, t, 400, 'InvalidParameter.LocalModifiedAt');
    }
    // The earliest is taken too (.NET's DateTime.MinValue), and read back as it was written: PGlite's own
    // date parser took years 0001-0099 for 1950-2049 (0001 for 2001); pglite.db.ts parses as pg does.
    const first = await api.ok('/v2/file/update', { drive_id: d, file_id: fileId, local_modified_at: '0001-01-01T00:00:00Z' }, t);
    expect(first.local_modified_at).toBe('0001-01-01T00:00:00.000Z');
    for (const at of ['0049-12-31T23:59:59.500Z', '0099-07-04T12:00:00.000Z', '0100-01-01T00:00:00.000Z']) {
      await api.ok('/v2/file/update', { drive_id: d, file_id: fileId, local_modified_at: at }, t);
      expect((await api.ok('/v2/file/get', { drive_id: d, file_id: fileId }, t)).local_modified_at).toBe(at);
    }
    const last = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'timed.txt', type: 'file', size: 1, local_created_at: '9999-12-31T23:59:59.999Z', local_modified_at: '9999-12-31T23:59:59+00:00' }, t);
    expect([last.local_created_at, last.local_modified_at]).toEqual(['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.000Z']);
  });

  it('answers a second default drive for a user with 409 AlreadyExist.DefaultDrive, and keeps the first', async () => {
    await expectRefused('/v2/drive/create', { drive_name: 'second', owner: alice.user_id, default: true }, admin, 409, 'AlreadyExist.DefaultDrive');
    expect((await api.ok('/v2/drive/get_default_drive', { user_id: alice.user_id }, admin)).drive_id).toBe(alice.default_drive_id);
    const other = await api.call('/v2/drive/create', { drive_name: 'second', owner: alice.user_id, default: false }, admin);
    expect(other.status).toBe(201);
  });
});
