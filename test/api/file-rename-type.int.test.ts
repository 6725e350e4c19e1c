/**
 * A new name with another extension gives the file that extension, its category and its content type,
 * whichever call renames it: file/update, file/move and file/copy with new_name (the last two kept the old
 * ones, so a copy named notes.txt stayed category "others" with extension "bin", and file/list's category
 * filter did not list it as a doc). A new name with the same extension keeps the content type the client
 * declared at file/create (file/update replaced it with one guessed from the name).
 */
import { serverWithUser, type ApiClient } from '../support/test-server';

describe.each(['pglite', 'pg'] as const)('file type after a rename on %s + local', (dbKind) => {
  let api: ApiClient;
  let t: string;
  let d: string;
  serverWithUser(dbKind, 'local', 'renamer', (ready) => {
    api = ready.api;
    [t, d] = [ready.user.access_token, ready.user.default_drive_id];
  });

  async function upload(name: string, contentType?: string) {
    const c = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name, type: 'file', size: 2, ...(contentType ? { content_type: contentType } : {}) }, t);
    expect((await fetch(c.part_info_list[0].upload_url, { method: 'PUT', body: 'xx' })).ok).toBe(true);
    return api.ok('/v2/file/complete', { drive_id: d, file_id: c.file_id, upload_id: c.upload_id }, t);
  }
  const typeOf = async (fileId: string) => {
    const f = await api.ok('/v2/file/get', { drive_id: d, file_id: fileId }, t);
    return [f.name, f.file_extension, f.category, f.content_type];
  };

  it('follows the new extension on update, move and copy', async () => {
    const moved = await upload('m.bin');
    await api.ok('/v2/file/move', { drive_id: d, file_id: moved.file_id, to_parent_file_id: 'root', new_name: 'm.txt' }, t);
    expect(await typeOf(moved.file_id)).toEqual(['m.txt', 'txt', 'doc', 'text/plain']);

    const source = await upload('c.bin');
    const copy = await api.ok('/v2/file/copy', { drive_id: d, file_id: source.file_id, to_parent_file_id: 'root', new_name: 'c.jpg' }, t);
    expect(await typeOf(copy.file_id)).toEqual(['c.jpg', 'jpg', 'image', 'image/jpeg']);
    expect(await typeOf(source.file_id)).toEqual(['c.bin', 'bin', 'others', 'application/octet-stream']);

    const updated = await upload('u.bin');
    await api.ok('/v2/file/update', { drive_id: d, file_id: updated.file_id, name: 'u.pdf' }, t);
    expect(await typeOf(updated.file_id)).toEqual(['u.pdf', 'pdf', 'doc', 'application/pdf']);

    const docs = await api.ok('/v2/file/list', { drive_id: d, parent_file_id: 'root', category: 'doc' }, t);
    expect(docs.items.map((f: { name: string }) => f.name).sort()).toEqual(['m.txt', 'u.pdf']);
  });

  it('keeps the declared content type when the extension stays', async () => {
    const f = await upload('data.bin', 'application/x-foo');
    await api.ok('/v2/file/update', { drive_id: d, file_id: f.file_id, name: 'data2.bin' }, t);
    expect(await typeOf(f.file_id)).toEqual(['data2.bin', 'bin', 'others', 'application/x-foo']);
    await api.ok('/v2/file/move', { drive_id: d, file_id: f.file_id, to_parent_file_id: 'root', new_name: 'data3.BIN' }, t);
    expect(await typeOf(f.file_id)).toEqual(['data3.BIN', 'bin', 'others', 'application/x-foo']);
    const copy = await api.ok('/v2/file/copy', { drive_id: d, file_id: f.file_id, to_parent_file_id: 'root', new_name: 'data4.bin' }, t);
    expect(await typeOf(copy.file_id)).toEqual(['data4.bin', 'bin', 'others', 'application/x-foo']);
  });
});
