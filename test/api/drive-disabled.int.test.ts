/**
 * A disabled drive (drive/update status "disabled"): every file, upload, download, revision and recycle-bin
 * call on it answers 403 Forbidden.DriveDisabled, for its owner and for admins alike; drive/get, the drive
 * lists (which show the status) and drive/update still work, so an admin can enable it again, and then
 * everything works as before. An upload opened before the drive was disabled cannot complete.
 */
import { ADMIN_PASSWORD, createLoggedInUser, startTestServer, type ApiClient } from '../support/test-server';

describe.each(['pglite', 'pg'] as const)('disabled drive on %s + local', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let admin: string;
  let alice: string;
  let drive: string;

  async function openUpload(name: string, content: string) {
    const created = await api.ok('/v2/file/create', { drive_id: drive, parent_file_id: 'root', name, type: 'file', size: content.length }, alice);
    const put = await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content });
    expect(put.ok).toBe(true);
    return { drive_id: drive, file_id: created.file_id as string, upload_id: created.upload_id as string };
  }

  const setStatus = (status: string) => api.ok('/v2/drive/update', { drive_id: drive, status }, admin);

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    api = server.api;
    admin = (await api.login('admin', ADMIN_PASSWORD)).access_token;
    const user = await createLoggedInUser(api, 'alice');
    alice = user.access_token;
    drive = user.default_drive_id;
  });
  afterAll(() => server?.stop());

  it('refuses reads and writes of its files with Forbidden.DriveDisabled until an admin enables it', async () => {
    const file = await api.ok('/v2/file/complete', await openUpload('a.txt', 'hello'), alice);
    const trashed = await api.ok('/v2/file/create', { drive_id: drive, parent_file_id: 'root', name: 'old', type: 'folder' }, alice);
    await api.ok('/v2/recyclebin/trash', { drive_id: drive, file_id: trashed.file_id }, alice);
    const pending = await openUpload('b.txt', 'world');
    const ref = { drive_id: drive, file_id: file.file_id };

    await setStatus('disabled');
    const calls: [string, Record<string, unknown>][] = [
      ['/v2/file/list', { drive_id: drive, parent_file_id: 'root' }],
      ['/v2/file/get', ref],
      ['/v2/file/get_path', ref],
      ['/v2/file/get_download_url', ref],
      ['/v2/file/update', { ...ref, description: 'x' }],
      ['/v2/file/move', { ...ref, to_parent_file_id: 'root', new_name: 'c.txt' }],
      ['/v2/file/copy', { ...ref, to_parent_file_id: 'root', new_name: 'd.txt' }],
      ['/v2/file/delete', ref],
      ['/v2/file/create', { drive_id: drive, parent_file_id: 'root', name: 'new', type: 'folder' }],
      ['/v2/file/create', { drive_id: drive, parent_file_id: 'root', name: 'big.bin', type: 'file', size: 10, part_info_list: [{ part_number: 1 }, { part_number: 2 }] }],
      // One part, no hash: the one-statement fast path of file/create (uploads.repository openUpload).
      ['/v2/file/create', { drive_id: drive, parent_file_id: 'root', name: 'small.bin', type: 'file', size: 10 }],
      ['/v2/file/get_upload_url', pending],
      ['/v2/file/list_uploaded_parts', pending],
      ['/v2/file/complete', pending],
      ['/v2/file/revision/list', ref],
      ['/v2/file/revision/get', { ...ref, revision_id: file.revision_id }],
      ['/v2/recyclebin/list', { drive_id: drive }],
      ['/v2/recyclebin/restore', { drive_id: drive, file_id: trashed.file_id }],
      ['/v2/recyclebin/trash', ref],
      ['/v2/recyclebin/clear', { drive_id: drive }],
    ];
    for (const token of [alice, admin]) {
      for (const [path, body] of calls) {
        const r = await api.call(path, body, token);
        expect([path, r.status, r.body?.code]).toEqual([path, 403, 'Forbidden.DriveDisabled']);
      }
      const download = await fetch(`${api.url}/v2/file/download?drive_id=${drive}&file_id=${file.file_id}`, { headers: { authorization: `Bearer ${token}` } });
      expect([download.status, ((await download.json()) as { code: string }).code]).toEqual([403, 'Forbidden.DriveDisabled']);
    }

    // The drive itself stays visible, with its status, so it can be enabled again.
    expect((await api.ok('/v2/drive/get', { drive_id: drive }, alice)).status).toBe('disabled');
    expect((await api.ok('/v2/drive/get', { drive_id: drive }, admin)).status).toBe('disabled');
    expect((await api.ok('/v2/drive/list_my_drives', {}, alice)).items.map((d: { status: string }) => d.status)).toEqual(['disabled']);
    await setStatus('enabled');

    expect((await api.ok('/v2/file/list', { drive_id: drive, parent_file_id: 'root' }, alice)).items.map((f: { name: string }) => f.name)).toEqual(['a.txt']);
    expect((await api.ok('/v2/file/complete', pending, alice)).name).toBe('b.txt');
    const link = await api.ok('/v2/file/get_download_url', ref, alice);
    expect(await (await fetch(link.url)).text()).toBe('hello');
    await api.ok('/v2/recyclebin/restore', { drive_id: drive, file_id: trashed.file_id }, alice);
  });
});
