/**
 * file/delete of an item in the recycle bin (a trash root, as recyclebin/list answers it) purges it and what
 * was trashed with it, as recyclebin/clear does, and leaves the rest of the bin: the one way to remove one
 * item for good (it answered 404 NotFound.File, so the bytes and the quota stayed until the whole bin was
 * cleared or the retention sweep came). A file trashed with a folder is not an item of its own (404); nor is
 * anything of another user's drive.
 */
import { createLoggedInUser, serverWithUser, type ApiClient, type LoggedInUser } from '../support/test-server';

describe.each(['pglite', 'pg'] as const)('file/delete in the recycle bin on %s + local', (dbKind) => {
  let api: ApiClient;
  let alice: LoggedInUser;
  serverWithUser(dbKind, 'local', 'alice', (ready) => ({ api, user: alice } = ready));

  async function upload(token: string, drive: string, parent: string, name: string, content: string) {
    const created = await api.ok('/v2/file/create', { drive_id: drive, parent_file_id: parent, name, type: 'file', size: content.length }, token);
    expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content })).ok).toBe(true);
    return api.ok('/v2/file/complete', { drive_id: drive, file_id: created.file_id, upload_id: created.upload_id }, token);
  }

  it('purges one trashed file or folder (with its subtree) and its quota, and keeps the rest of the bin', async () => {
    const t = alice.access_token;
    const d = alice.default_drive_id;
    const folder = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'docs', type: 'folder' }, t);
    const inFolder = await upload(t, d, folder.file_id, 'in.txt', 'inside');
    const single = await upload(t, d, 'root', 'one.txt', 'single');
    const kept = await upload(t, d, 'root', 'kept.txt', 'kept');
    for (const f of [folder, single, kept]) await api.ok('/v2/recyclebin/trash', { drive_id: d, file_id: f.file_id }, t);
    expect((await api.ok('/v2/drive/get', { drive_id: d }, t)).used_size).toBe(16);

    // A file trashed with its folder is part of that item, not one of its own.
    expect((await api.call('/v2/file/delete', { drive_id: d, file_id: inFolder.file_id }, t)).body.code).toBe('NotFound.File');
    expect((await api.call('/v2/file/delete', { drive_id: d, file_id: single.file_id }, t)).status).toBe(204);
    expect((await api.call('/v2/file/delete', { drive_id: d, file_id: folder.file_id }, t)).status).toBe(204);

    const bin = await api.ok('/v2/recyclebin/list', { drive_id: d }, t);
    expect(bin.items.map((f: { name: string }) => f.name)).toEqual(['kept.txt']);
    expect((await api.ok('/v2/drive/get', { drive_id: d }, t)).used_size).toBe(4);
    for (const f of [folder, inFolder, single]) {
      expect((await api.call('/v2/recyclebin/restore', { drive_id: d, file_id: f.file_id }, t)).body.code).toBe('NotFound.File');
      expect((await api.call('/v2/file/delete', { drive_id: d, file_id: f.file_id }, t)).body.code).toBe('NotFound.File');
    }
    expect((await api.ok('/v2/recyclebin/restore', { drive_id: d, file_id: kept.file_id }, t)).name).toBe('kept.txt');
  });

  it("refuses another user's trashed file, by its own drive or the caller's", async () => {
    const bob = await createLoggedInUser(api, 'bob');
    const f = await upload(alice.access_token, alice.default_drive_id, 'root', 'private.txt', 'private');
    await api.ok('/v2/recyclebin/trash', { drive_id: alice.default_drive_id, file_id: f.file_id }, alice.access_token);
    expect((await api.call('/v2/file/delete', { drive_id: alice.default_drive_id, file_id: f.file_id }, bob.access_token)).body.code).toBe('NotFound.Drive');
    expect((await api.call('/v2/file/delete', { drive_id: bob.default_drive_id, file_id: f.file_id }, bob.access_token)).body.code).toBe('NotFound.File');
    expect((await api.ok('/v2/recyclebin/list', { drive_id: alice.default_drive_id }, alice.access_token)).items.map((x: { file_id: string }) => x.file_id)).toContain(f.file_id);
  });
});
