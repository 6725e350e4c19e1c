/**
 * A download link from file/get_download_url on local disk answers for the user it was issued to, at each
 * request (download-links.ts): disabled since, 403 Forbidden.UserDisabled, and it works again once enabled;
 * deleted since, or no longer allowed on the drive by the rule bearer calls apply (drive-access.sql.ts: a
 * demoted admin, or a drive whose owner became an admin), 403 Forbidden.Drive. A link issued before links
 * named their user (no user_id) is still served until it expires. There are no group members (a group's
 * drive is reached by admin power only), so losing a group drive is an admin's demotion.
 */
import { DB_KINDS } from '../support/test-db';
import { ADMIN_PASSWORD, startTestServer } from '../support/test-server';
import { DOWNLOAD_LINK_PATH } from '../../api-server/src/modules/downloads/download-links';

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Login = Awaited<ReturnType<Server['api']['login']>>;

async function fetchLink(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init);
  const body = Buffer.from(await res.arrayBuffer());
  const code = body.length && res.headers.get('content-type')?.startsWith('application/json') ? (JSON.parse(body.toString()) as { code: string }).code : undefined;
  return { status: res.status, text: body.toString(), code };
}

describe.each(DB_KINDS)('download links and the user they were issued to, on %s + local disk', (dbKind) => {
  let server: Server;
  let root: Login;
  const login = (name: string) => server.api.login(name, `${name}-password`);
  const createLoggedIn = async (name: string, role = 'user') => {
    await server.api.ok('/v2/user/create', { user_name: name, password: `${name}-password`, role }, root.access_token);
    return login(name);
  };
  const updateUser = (userId: string, patch: Record<string, string>) => server.api.ok('/v2/user/update', { user_id: userId, ...patch }, root.access_token);
  const upload = async (who: Login, driveId: string, name: string, content: string) => {
    const created = await server.api.ok('/v2/file/create', { drive_id: driveId, parent_file_id: 'root', name, type: 'file', size: content.length }, who.access_token);
    expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content })).status).toBe(200);
    return server.api.ok('/v2/file/complete', { drive_id: driveId, file_id: created.file_id, upload_id: created.upload_id }, who.access_token);
  };
  const link = async (who: Login, driveId: string, fileId: string) =>
    (await server.api.ok('/v2/file/get_download_url', { drive_id: driveId, file_id: fileId }, who.access_token)).url as string;

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    root = await server.api.login('admin', ADMIN_PASSWORD);
  });
  afterAll(() => server?.stop());

  it('answer 403 Forbidden.UserDisabled to GET and HEAD once their user is disabled, and work again once enabled', async () => {
    const user = await createLoggedIn('dora');
    const file = await upload(user, user.default_drive_id, 'mine.txt', 'mine');
    const url = await link(user, user.default_drive_id, file.file_id);
    expect(new URL(url).searchParams.get('user_id')).toBe(user.user_id);
    expect(await fetchLink(url)).toMatchObject({ status: 200, text: 'mine' });
    await updateUser(user.user_id, { status: 'disabled' });
    expect(await fetchLink(url)).toMatchObject({ status: 403, code: 'Forbidden.UserDisabled' });
    expect((await fetchLink(url, { method: 'HEAD' })).status).toBe(403);
    await updateUser(user.user_id, { status: 'enabled' });
    expect(await fetchLink(url)).toMatchObject({ status: 200, text: 'mine' });
  });

  it("answer 403 Forbidden.Drive once an admin who issued one for a user's drive is deleted; the user's own link to it keeps working", async () => {
    const owner = await createLoggedIn('olga');
    const admin = await createLoggedIn('adam', 'admin');
    const file = await upload(owner, owner.default_drive_id, 'shared.txt', 'shared');
    const adminUrl = await link(admin, owner.default_drive_id, file.file_id);
    const ownerUrl = await link(owner, owner.default_drive_id, file.file_id);
    expect(await fetchLink(adminUrl)).toMatchObject({ status: 200, text: 'shared' });
    await server.api.ok('/v2/user/delete', { user_id: admin.user_id }, root.access_token);
    expect(await fetchLink(adminUrl)).toMatchObject({ status: 403, code: 'Forbidden.Drive' });
    expect(await fetchLink(ownerUrl)).toMatchObject({ status: 200, text: 'shared' });
  });

  it("answer 404 once their user is deleted with the drive they name (a user's drives go with them)", async () => {
    const user = await createLoggedIn('gone');
    const file = await upload(user, user.default_drive_id, 'gone.txt', 'gone');
    const url = await link(user, user.default_drive_id, file.file_id);
    await server.api.ok('/v2/user/delete', { user_id: user.user_id }, root.access_token);
    expect(await fetchLink(url)).toMatchObject({ status: 404, code: 'NotFound.File' });
  });

  it("keep working for an admin's link to a group's drive while they are an admin, answer 403 Forbidden.Drive once demoted, and work again once promoted", async () => {
    const admin = await createLoggedIn('greta', 'admin');
    const drive = await server.api.ok('/v2/drive/create', { drive_name: 'team', owner: 'team-a', owner_type: 'group', default: false }, root.access_token);
    const file = await upload(admin, drive.drive_id, 'team.txt', 'team');
    const url = await link(admin, drive.drive_id, file.file_id);
    const rootUrl = await link(root, drive.drive_id, file.file_id);
    expect(await fetchLink(url)).toMatchObject({ status: 200, text: 'team' });
    await updateUser(admin.user_id, { role: 'user' });
    // The same rule as a bearer call: the demoted admin can no longer see the drive at all.
    expect((await server.api.call('/v2/file/get_download_url', { drive_id: drive.drive_id, file_id: file.file_id }, admin.access_token)).status).toBe(404);
    expect(await fetchLink(url)).toMatchObject({ status: 403, code: 'Forbidden.Drive' });
    expect(await fetchLink(rootUrl)).toMatchObject({ status: 200, text: 'team' });
    await updateUser(admin.user_id, { role: 'admin' });
    expect(await fetchLink(url)).toMatchObject({ status: 200, text: 'team' });
  });

  it("answer 403 Forbidden.Drive to an admin's link once the drive's owner is made an admin (out of that admin's reach); a superadmin's keeps working", async () => {
    const owner = await createLoggedIn('paul');
    const admin = await createLoggedIn('anna', 'admin');
    const file = await upload(owner, owner.default_drive_id, 'promoted.txt', 'promoted');
    const adminUrl = await link(admin, owner.default_drive_id, file.file_id);
    const rootUrl = await link(root, owner.default_drive_id, file.file_id);
    expect(await fetchLink(adminUrl)).toMatchObject({ status: 200, text: 'promoted' });
    await updateUser(owner.user_id, { role: 'admin' });
    expect((await server.api.call('/v2/file/get_download_url', { drive_id: owner.default_drive_id, file_id: file.file_id }, admin.access_token)).body.code).toBe('Forbidden.Drive');
    expect(await fetchLink(adminUrl)).toMatchObject({ status: 403, code: 'Forbidden.Drive' });
    expect(await fetchLink(rootUrl)).toMatchObject({ status: 200, text: 'promoted' });
  });

  it('answer 403 Forbidden.InvalidSignature when user_id is changed or dropped', async () => {
    const user = await createLoggedIn('sig');
    const other = await createLoggedIn('sig-other', 'admin');
    const file = await upload(user, user.default_drive_id, 'sig.txt', 'sig');
    const url = new URL(await link(user, user.default_drive_id, file.file_id));
    await updateUser(user.user_id, { status: 'disabled' });
    const swapped = new URL(url);
    swapped.searchParams.set('user_id', other.user_id);
    expect(await fetchLink(swapped.toString())).toMatchObject({ status: 403, code: 'Forbidden.InvalidSignature' });
    const dropped = new URL(url);
    dropped.searchParams.delete('user_id');
    expect(await fetchLink(dropped.toString())).toMatchObject({ status: 403, code: 'Forbidden.InvalidSignature' });
  });

  it('serve a link issued before links named their user (no user_id) until it expires, with the drive and file checks as before', async () => {
    const user = await createLoggedIn('legacy');
    const file = await upload(user, user.default_drive_id, 'legacy.txt', 'legacy');
    const issued = new URL(await link(user, user.default_drive_id, file.file_id));
    // Signed as issue() did before: the same parameters, without user_id.
    const params = Object.fromEntries([...issued.searchParams].filter(([k]) => !['user_id', 'expires', 'signature'].includes(k)));
    const legacy = server.deps.urlSigner.sign('GET', DOWNLOAD_LINK_PATH, params, 600);
    expect(await fetchLink(legacy)).toMatchObject({ status: 200, text: 'legacy' });
    await server.api.ok('/v2/drive/update', { drive_id: user.default_drive_id, status: 'disabled' }, root.access_token);
    expect(await fetchLink(legacy)).toMatchObject({ status: 403, code: 'Forbidden.DriveDisabled' });
    await server.api.ok('/v2/drive/update', { drive_id: user.default_drive_id, status: 'enabled' }, root.access_token);
    await server.api.ok('/v2/recyclebin/trash', { drive_id: user.default_drive_id, file_id: file.file_id }, user.access_token);
    expect(await fetchLink(legacy)).toMatchObject({ status: 404, code: 'NotFound.File' });
  });
});
