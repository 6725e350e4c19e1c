/**
 * The file-name rules beyond PDS's (names.ts validateName), at every call where a client gives a name:
 * control characters (C0, DEL, C1), bidi embeddings, overrides and isolates, and ill-formed UTF-16 (a lone
 * surrogate, which PostgreSQL and PGlite would store as U+FFFD) answer 400 InvalidParameter.Name and create
 * nothing. A name stored before the rules (set here in SQL) is not
 * new: its file is still updated, moved, copied, downloaded, restored, takes revisions, and is renamed to a
 * valid name.
 */
import { count } from '../support/accounting';
import { serverWithUser, type ApiClient, type TestServer } from '../support/test-server';

/** Each bad name, and the code and message a call answers for it in `field` (name or new_name). */
const BAD_NAMES: [string, (field: string) => [string, string]][] = [
  ['a\nb', () => ['InvalidParameter.Name', 'name must not contain control characters (U+000A at position 2)']],
  ['a\u001b[2Jb', () => ['InvalidParameter.Name', 'name must not contain control characters (U+001B at position 2)']],
  ['a\u0085b', () => ['InvalidParameter.Name', 'name must not contain control characters (U+0085 at position 2)']],
  ['evil\u202egpj.exe', () => ['InvalidParameter.Name', 'name must not contain bidirectional control characters (U+202E at position 5): they can make a name display as another']],
  // Refused before any service reads it, as every body string with one is (shared/rpc.ts isStorableText),
  // so named by its field; validateName refuses it too ("must be valid Unicode"), for names from elsewhere.
  ['a\ud800b', (field) => [field === 'name' ? 'InvalidParameter.Name' : 'InvalidParameter.NewName', `${field}: must not contain NUL characters or unpaired UTF-16 surrogates`]],
];

describe.each(['pg', 'pglite'] as const)('file-name rules on %s + local', (dbKind) => {
  let server: TestServer;
  let api: ApiClient;
  let t: string;
  let d: string;
  serverWithUser(dbKind, 'local', 'namer', (ready) => {
    [server, api] = [ready.server, ready.api];
    [t, d] = [ready.user.access_token, ready.user.default_drive_id];
  });

  async function upload(parent: string, name: string, body = 'xx') {
    const c = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: parent, name, type: 'file', size: body.length }, t);
    expect((await fetch(c.part_info_list[0].upload_url, { method: 'PUT', body })).ok).toBe(true);
    return api.ok('/v2/file/complete', { drive_id: d, file_id: c.file_id, upload_id: c.upload_id }, t);
  }
  const folder = (parent: string, name: string) => api.ok('/v2/file/create', { drive_id: d, parent_file_id: parent, name, type: 'folder' }, t);
  const names = async (parent: string, status = 'available') =>
    (await api.ok('/v2/file/list', { drive_id: d, parent_file_id: parent, status }, t)).items.map((f: { name: string }) => f.name).sort();

  it('refuses each bad name at file/create, file/update, file/move and file/copy, and creates nothing', async () => {
    const box = await folder('root', 'box');
    const file = await upload(box.file_id, 'f.txt');
    const sub = await folder(box.file_id, 'sub');
    const sessions = () => count(server.deps.db, `SELECT count(*)::int AS n FROM upload_sessions WHERE drive_id = $1`, [d]);
    const sessionsBefore = await sessions();
    const calls: [string, (name: string) => [string, Record<string, unknown>]][] = [
      ['folder', (name) => ['/v2/file/create', { parent_file_id: box.file_id, name, type: 'folder' }]],
      ['one-part file', (name) => ['/v2/file/create', { parent_file_id: box.file_id, name, type: 'file', size: 2 }]],
      ['multipart file', (name) => ['/v2/file/create', { parent_file_id: box.file_id, name, type: 'file', part_info_list: [{ part_number: 1 }, { part_number: 2 }] }]],
      ['file with content_hash', (name) => ['/v2/file/create', { parent_file_id: box.file_id, name, type: 'file', size: 2, content_hash: 'a'.repeat(40), content_hash_name: 'sha1' }]],
      ['auto_rename file', (name) => ['/v2/file/create', { parent_file_id: box.file_id, name, type: 'file', size: 2, check_name_mode: 'auto_rename' }]],
      ['rename', (name) => ['/v2/file/update', { file_id: file.file_id, name }]],
      ['move', (name) => ['/v2/file/move', { file_id: file.file_id, to_parent_file_id: sub.file_id, new_name: name }]],
      ['copy', (name) => ['/v2/file/copy', { file_id: file.file_id, to_parent_file_id: box.file_id, new_name: name }]],
      ['folder copy', (name) => ['/v2/file/copy', { file_id: sub.file_id, to_parent_file_id: 'root', new_name: name }]],
    ];
    for (const [name, refusal] of BAD_NAMES) {
      for (const [what, call] of calls) {
        const [path, body] = call(name);
        const [code, message] = refusal('new_name' in body ? 'new_name' : 'name');
        const r = await api.call(path, { drive_id: d, ...body }, t);
        // `stored`: the name a call that took it answers with.
        expect({ what, name, status: r.status, code: r.body?.code, message: r.body?.message, stored: r.body?.name }).toEqual({ what, name, status: 400, code, message, stored: undefined });
      }
    }
    expect(await names(box.file_id)).toEqual(['f.txt', 'sub']);
    expect(await names(box.file_id, 'uploading')).toEqual([]);
    expect(await names(sub.file_id)).toEqual([]);
    expect(await names('root')).toEqual(['box']);
    expect(await sessions()).toBe(sessionsBefore);

    // The file refused a bad name is still renamed, moved and copied to valid ones.
    expect((await api.ok('/v2/file/update', { drive_id: d, file_id: file.file_id, name: 'g.txt' }, t)).name).toBe('g.txt');
    expect((await api.ok('/v2/file/move', { drive_id: d, file_id: file.file_id, to_parent_file_id: sub.file_id, new_name: 'h.txt' }, t)).name).toBe('h.txt');
    expect((await api.ok('/v2/file/copy', { drive_id: d, file_id: file.file_id, to_parent_file_id: sub.file_id, new_name: 'שלום\u200f.txt' }, t)).name).toBe('שלום\u200f.txt');
    expect(await names(sub.file_id)).toEqual(['h.txt', 'שלום\u200f.txt']);
  });

  it('keeps a name stored before the rules usable: it is not a new name', async () => {
    const home = await folder('root', 'legacy');
    const other = await folder('root', 'elsewhere');
    const file = await upload(home.file_id, 'old.txt', 'v1');
    const legacy = 'old\u001b[31m\u202e.txt';
    await server.deps.db.query(`UPDATE files SET name = $1 WHERE file_id = $2`, [legacy, file.file_id]);

    const update = await api.call('/v2/file/update', { drive_id: d, file_id: file.file_id, name: legacy, description: 'kept' }, t);
    expect([update.status, update.body.name, update.body.description]).toEqual([200, legacy, 'kept']);
    const moved = await api.call('/v2/file/move', { drive_id: d, file_id: file.file_id, to_parent_file_id: other.file_id }, t);
    expect([moved.status, moved.body.name]).toEqual([200, legacy]);
    const movedBack = await api.call('/v2/file/move', { drive_id: d, file_id: file.file_id, to_parent_file_id: home.file_id, new_name: legacy }, t);
    expect([movedBack.status, movedBack.body.name]).toEqual([200, legacy]);
    const copied = await api.call('/v2/file/copy', { drive_id: d, file_id: file.file_id, to_parent_file_id: other.file_id }, t);
    expect([copied.status, copied.body.name]).toEqual([201, legacy]);

    const revision = await api.call('/v2/file/create', { drive_id: d, file_id: file.file_id, name: legacy, type: 'file', size: 2 }, t);
    expect(revision.status).toBe(201);
    expect((await fetch(revision.body.part_info_list[0].upload_url, { method: 'PUT', body: 'v2' })).ok).toBe(true);
    const completed = await api.call('/v2/file/complete', { drive_id: d, file_id: file.file_id, upload_id: revision.body.upload_id }, t);
    expect([completed.status, completed.body.name]).toEqual([200, legacy]);

    const link = await api.ok('/v2/file/get_download_url', { drive_id: d, file_id: file.file_id }, t);
    const download = await fetch(link.url);
    expect([download.status, await download.text()]).toEqual([200, 'v2']);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="old_[31m_.txt"; filename*=UTF-8''old%1B%5B31m%E2%80%AE.txt`);

    await api.ok('/v2/recyclebin/trash', { drive_id: d, file_id: file.file_id }, t);
    const restored = await api.call('/v2/recyclebin/restore', { drive_id: d, file_id: file.file_id }, t);
    expect([restored.status, restored.body.name, restored.body.parent_file_id]).toEqual([200, legacy, home.file_id]);

    const renamed = await api.call('/v2/file/update', { drive_id: d, file_id: file.file_id, name: 'clean.txt' }, t);
    expect([renamed.status, renamed.body.name]).toEqual([200, 'clean.txt']);
    expect(await names(home.file_id)).toEqual(['clean.txt']);
    expect(await names(other.file_id)).toEqual([legacy]);
  });

  it('reaches a file or folder by a name stored before the rules (overwrite, refuse, a folder reused), and makes no new item with it', async () => {
    const home = await folder('root', 'by-name');
    const file = await upload(home.file_id, 'old.txt', 'v1');
    const dir = await folder(home.file_id, 'old-dir');
    const legacy = 'old\u202e.txt';
    const legacyDir = 'old\u0085dir';
    await server.deps.db.query(`UPDATE files SET name = $1 WHERE file_id = $2`, [legacy, file.file_id]);
    await server.deps.db.query(`UPDATE files SET name = $1 WHERE file_id = $2`, [legacyDir, dir.file_id]);

    // A PDS client uploads a new revision by name: overwrite, no file_id.
    const revision = await api.call('/v2/file/create', { drive_id: d, parent_file_id: home.file_id, name: legacy, type: 'file', size: 2, check_name_mode: 'overwrite' }, t);
    expect([revision.status, revision.body.file_id]).toEqual([201, file.file_id]);
    expect((await fetch(revision.body.part_info_list[0].upload_url, { method: 'PUT', body: 'v2' })).ok).toBe(true);
    const completed = await api.call('/v2/file/complete', { drive_id: d, file_id: file.file_id, upload_id: revision.body.upload_id }, t);
    expect([completed.status, completed.body.name, completed.body.size]).toEqual([200, legacy, 2]);
    // refuse answers with the file there; a folder's create reuses it.
    const refused = await api.call('/v2/file/create', { drive_id: d, parent_file_id: home.file_id, name: legacy, type: 'file', size: 2, check_name_mode: 'refuse' }, t);
    expect([refused.body.file_id, refused.body.exist]).toEqual([file.file_id, true]);
    const reused = await api.call('/v2/file/create', { drive_id: d, parent_file_id: home.file_id, name: legacyDir, type: 'folder', check_name_mode: 'refuse' }, t);
    expect([reused.body.file_id, reused.body.exist]).toEqual([dir.file_id, true]);

    // ignore and auto_rename would make a new item with (or numbered from) the name: refused.
    for (const check_name_mode of ['ignore', 'auto_rename']) {
      const r = await api.call('/v2/file/create', { drive_id: d, parent_file_id: home.file_id, name: legacy, type: 'file', size: 2, check_name_mode }, t);
      expect([check_name_mode, r.status, r.body.code]).toEqual([check_name_mode, 400, 'InvalidParameter.Name']);
    }
    // And the name held in another folder does not count.
    const elsewhere = await api.call('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: legacy, type: 'file', size: 2, check_name_mode: 'overwrite' }, t);
    expect([elsewhere.status, elsewhere.body.code]).toEqual([400, 'InvalidParameter.Name']);
    expect(await names(home.file_id)).toEqual([legacyDir, legacy].sort());
    expect(await names(home.file_id, 'uploading')).toEqual([]);
  });
});
