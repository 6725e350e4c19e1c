/**
 * file/copy takes PDS CopyFile's `auto_rename` boolean: it was dropped by the body's schema and the copy
 * always auto-renamed, so auto_rename false still renamed (red team, repro-copy-auto-rename.mjs). Now
 * true is auto_rename, false refuses a taken name (409 AlreadyExist.File); check_name_mode, when given,
 * decides; both given and contradicting is 400. On PGlite and PostgreSQL.
 */
import { serverWithUser, type ApiClient } from '../support/test-server';

describe.each([
  ['pglite', 'local'],
  ['pg', 'local'],
] as const)('file/copy auto_rename on %s + %s', (dbKind, storeKind) => {
  let api: ApiClient;
  let token: string;
  let d: string;
  let dir: string;
  let file: string;
  serverWithUser(dbKind, storeKind, 'copier', (ready) => {
    api = ready.api;
    [token, d] = [ready.user.access_token, ready.user.default_drive_id];
  });
  beforeAll(async () => {
    dir = (await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'cp', type: 'folder' }, token)).file_id;
    const c = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: dir, name: 'same.txt', type: 'file', size: 1, part_info_list: [{ part_number: 1 }] }, token);
    await fetch(c.part_info_list[0].upload_url, { method: 'PUT', body: 'x' });
    file = (await api.ok('/v2/file/complete', { drive_id: d, file_id: c.file_id, upload_id: c.upload_id }, token)).file_id;
  });
  const copy = (body: Record<string, unknown>) => api.call('/v2/file/copy', { drive_id: d, file_id: file, to_parent_file_id: dir, ...body }, token);
  const names = async () => (await api.ok('/v2/file/list', { drive_id: d, parent_file_id: dir }, token)).items.map((i: { name: string }) => i.name);

  it('refuses a taken name under auto_rename false, renames under true and by default', async () => {
    const refused = await copy({ auto_rename: false });
    expect([refused.status, refused.body.code]).toEqual([409, 'AlreadyExist.File']);
    expect(await names()).toEqual(['same.txt']);
    expect((await copy({ auto_rename: true })).body.name).toBe('same(1).txt');
    expect((await copy({})).body.name).toBe('same(2).txt');
    // A free name is copied under auto_rename false.
    const free = await copy({ auto_rename: false, new_name: 'other.txt' });
    expect([free.status, free.body.name]).toEqual([201, 'other.txt']);
  });

  it('lets check_name_mode decide when given, and refuses it contradicting auto_rename', async () => {
    expect((await copy({ check_name_mode: 'auto_rename', auto_rename: true })).body.name).toBe('same(3).txt');
    const refuse = await copy({ check_name_mode: 'refuse', auto_rename: false });
    expect([refuse.status, refuse.body.code]).toEqual([409, 'AlreadyExist.File']);
    expect((await copy({ check_name_mode: 'ignore', auto_rename: false })).status).toBe(201);
    for (const body of [{ check_name_mode: 'refuse', auto_rename: true }, { check_name_mode: 'auto_rename', auto_rename: false }, { check_name_mode: 'ignore', auto_rename: true }]) {
      const r = await copy(body);
      expect([body, r.status, r.body.code]).toEqual([body, 400, 'InvalidParameter.AutoRename']);
    }
    const bad = await copy({ auto_rename: 'yes' });
    expect([bad.status, bad.body.code]).toEqual([400, 'InvalidParameter.AutoRename']);
  });
});
