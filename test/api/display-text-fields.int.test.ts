/**
 * The names people see besides file names (shared/display-text.ts): a drive's name, a user's nick name and
 * the file name a download suggests refuse control characters and bidi embeddings, overrides and isolates
 * with 400, and change nothing. Right-to-left names with the marks that cannot reorder a run are fine.
 */
import { ADMIN_PASSWORD, startTestServer, type ApiClient } from '../support/test-server';

const CONTROL = 'a\u001b[2Jb';
const BIDI = 'evil\u202egpj.exe';
const controlMessage = (field: string) => `${field}: must not contain control characters (U+001B at position 2)`;
const bidiMessage = (field: string) => `${field}: must not contain bidirectional control characters (U+202E at position 5): they can make a name display as another`;

describe('display names beyond file names (pglite + local)', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let admin: string;

  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
    api = server.api;
    admin = (await api.login('admin', ADMIN_PASSWORD)).access_token;
  });
  afterAll(() => server?.stop());

  async function expectRefused(path: string, body: Record<string, unknown>, token: string, code: string, message: string) {
    const res = await api.call(path, body, token);
    expect({ status: res.status, code: res.body.code, message: res.body.message }).toEqual({ status: 400, code, message });
  }

  it('drive/create and drive/update refuse such a drive_name and change nothing', async () => {
    const user = await api.ok('/v2/user/create', { user_name: 'driver', password: 'driver-password' }, admin);
    const drives = async () => (await api.ok('/v2/drive/list', { owner: user.user_id }, admin)).items.map((d: { drive_name: string }) => d.drive_name).sort();
    const before = await drives();
    await expectRefused('/v2/drive/create', { drive_name: CONTROL, owner: user.user_id }, admin, 'InvalidParameter.DriveName', controlMessage('drive_name'));
    await expectRefused('/v2/drive/create', { drive_name: BIDI, owner: user.user_id }, admin, 'InvalidParameter.DriveName', bidiMessage('drive_name'));
    expect(await drives()).toEqual(before);

    const rtl = 'תמונות\u200f 2026';
    const drive = await api.ok('/v2/drive/create', { drive_name: rtl, owner: user.user_id }, admin);
    await expectRefused('/v2/drive/update', { drive_id: drive.drive_id, drive_name: BIDI }, admin, 'InvalidParameter.DriveName', bidiMessage('drive_name'));
    expect((await api.ok('/v2/drive/get', { drive_id: drive.drive_id }, admin)).drive_name).toBe(rtl);

    // A name stored before the rule, sent back unchanged with another edit (as a form does), is kept.
    await server.deps.db.query(`UPDATE drives SET drive_name = $1 WHERE drive_id = $2`, [BIDI, drive.drive_id]);
    const kept = await api.call('/v2/drive/update', { drive_id: drive.drive_id, drive_name: BIDI, description: 'edited' }, admin);
    expect([kept.status, kept.body.drive_name, kept.body.description]).toEqual([200, BIDI, 'edited']);
  });

  it('user/create and user/update refuse such a nick_name and change nothing', async () => {
    await expectRefused('/v2/user/create', { user_name: 'nick', password: 'nick-password', nick_name: BIDI }, admin, 'InvalidParameter.NickName', bidiMessage('nick_name'));
    // Nothing was created: the user name is still free.
    const user = await api.ok('/v2/user/create', { user_name: 'nick', password: 'nick-password', nick_name: 'Nick' }, admin);
    const own = (await api.login('nick', 'nick-password')).access_token;
    await expectRefused('/v2/user/update', { user_id: user.user_id, nick_name: CONTROL }, own, 'InvalidParameter.NickName', controlMessage('nick_name'));
    expect((await api.ok('/v2/user/get', { user_id: user.user_id }, admin)).nick_name).toBe('Nick');

    // A nick name stored before the rule, sent back unchanged with another edit, is kept.
    await server.deps.db.query(`UPDATE users SET nick_name = $1 WHERE user_id = $2`, [CONTROL, user.user_id]);
    const kept = await api.call('/v2/user/update', { user_id: user.user_id, nick_name: CONTROL, description: 'edited' }, own);
    expect([kept.status, kept.body.nick_name, kept.body.description]).toEqual([200, CONTROL, 'edited']);
  });

  it('user/create refuses such a user_name, which is shown too (and is the nick name when none is given)', async () => {
    await expectRefused('/v2/user/create', { user_name: BIDI, password: 'spoof-password' }, admin, 'InvalidParameter.UserName', bidiMessage('user_name'));
    await expectRefused('/v2/user/create', { user_name: 'a\u0085b', password: 'spoof-password' }, admin, 'InvalidParameter.UserName', 'user_name: must not contain control characters (U+0085 at position 2)');
    const users = await api.ok('/v2/user/list', {}, admin);
    expect(users.items.map((u: { user_name: string }) => u.user_name)).not.toContain(BIDI);
  });

  it('get_download_url refuses such a file_name (the name the browser would save under)', async () => {
    const user = await api.ok('/v2/user/create', { user_name: 'saver', password: 'saver-password' }, admin);
    const { access_token: token } = await api.login('saver', 'saver-password');
    const created = await api.ok('/v2/file/create', { drive_id: user.default_drive_id, parent_file_id: 'root', name: 'photo.jpg', type: 'file', size: 2 }, token);
    expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: 'xx' })).status).toBe(200);
    await api.ok('/v2/file/complete', { drive_id: user.default_drive_id, file_id: created.file_id, upload_id: created.upload_id }, token);
    const link = (file_name: string) => api.call('/v2/file/get_download_url', { drive_id: user.default_drive_id, file_id: created.file_id, file_name }, token);
    await expectRefused('/v2/file/get_download_url', { drive_id: user.default_drive_id, file_id: created.file_id, file_name: BIDI }, token, 'InvalidParameter.FileName', bidiMessage('file_name'));
    await expectRefused('/v2/file/get_download_url', { drive_id: user.default_drive_id, file_id: created.file_id, file_name: 'a\u0085b' }, token, 'InvalidParameter.FileName', 'file_name: must not contain control characters (U+0085 at position 2)');
    expect((await link('صورة\u200f.jpg')).status).toBe(200);
  });
});
