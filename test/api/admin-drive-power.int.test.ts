/**
 * What admin power reaches on drives: users' drives and groups' drives, not an admin's or a superadmin's
 * (only a superadmin, or the owner, may delete, disable, change or read those), as with their accounts
 * (an admin is refused a superadmin's nick_name). And a user's drive needs a user: drive/create for an
 * owner that does not exist answers 404 NotFound.User instead of making a drive nobody owns.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DB_KINDS } from '../support/test-db';
import { ADMIN_PASSWORD, startTestServer } from '../support/test-server';

describe.each(DB_KINDS)('admin power over drives on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let root: Awaited<ReturnType<typeof server.api.login>>;
  let admin: Awaited<ReturnType<typeof server.api.login>>;
  let otherAdmin: Awaited<ReturnType<typeof server.api.login>>;
  let user: Awaited<ReturnType<typeof server.api.login>>;
  const createLoggedIn = async (name: string, role: string) => {
    await server.api.ok('/v2/user/create', { user_name: name, password: `${name}-password`, role }, root.access_token);
    return server.api.login(name, `${name}-password`);
  };
  const driveCount = async () => (await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM drives`))[0]!.n;

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    root = await server.api.login('admin', ADMIN_PASSWORD);
    admin = await createLoggedIn('ada', 'admin');
    otherAdmin = await createLoggedIn('otto', 'admin');
    user = await createLoggedIn('uma', 'user');
    for (const who of [root, otherAdmin, user])
      await server.api.ok('/v2/file/create', { drive_id: who.default_drive_id, parent_file_id: 'root', name: 'kept', type: 'folder' }, who.access_token);
  });
  afterAll(() => server?.stop());

  it.each([
    ['a superadmin', () => root],
    ['another admin', () => otherAdmin],
  ])("refuses an admin %s's drive: no delete, disable, quota or rename, no file reads (403 Forbidden.Drive)", async (_who, owner) => {
    const drive = owner().default_drive_id;
    const calls: [string, object][] = [
      ['/v2/drive/delete', { drive_id: drive }],
      ['/v2/drive/update', { drive_id: drive, status: 'disabled' }],
      ['/v2/drive/update', { drive_id: drive, total_size: 1 }],
      ['/v2/drive/update', { drive_id: drive, drive_name: 'mine now' }],
      ['/v2/file/list', { drive_id: drive, parent_file_id: 'root' }],
      ['/v2/file/create', { drive_id: drive, parent_file_id: 'root', name: 'planted', type: 'folder' }],
    ];
    for (const [path, body] of calls) {
      const r = await server.api.call(path, body, admin.access_token);
      expect([path, body, r.status, r.body.code]).toEqual([path, body, 403, 'Forbidden.Drive']);
    }
    // Untouched: still there, enabled, same quota and name, its folder readable by its owner.
    const after = await server.api.ok('/v2/drive/get', { drive_id: drive }, admin.access_token); // seeing it is still allowed
    expect(after).toMatchObject({ status: 'enabled', drive_name: 'Default' });
    const listed = await server.api.ok('/v2/file/list', { drive_id: drive, parent_file_id: 'root' }, owner().access_token);
    expect(listed.items.map((f: { name: string }) => f.name)).toEqual(['kept']);
  });

  it("does not let an admin download a superadmin's file by its id, nor take a copy of it by rapid upload; a user's it may", async () => {
    const upload = async (who: typeof root, name: string, content: Buffer) => {
      const created = await server.api.ok('/v2/file/create', { drive_id: who.default_drive_id, parent_file_id: 'root', name, type: 'file', size: content.length }, who.access_token);
      expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content })).ok).toBe(true);
      await server.api.ok('/v2/file/complete', { drive_id: who.default_drive_id, file_id: created.file_id, upload_id: created.upload_id }, who.access_token);
      return created.file_id as string;
    };
    const secret = randomBytes(3000);
    const fileId = await upload(root, 'secret.bin', secret);
    await server.services.jobs.drain(); // hashed: findable by content_hash
    const ref = { drive_id: root.default_drive_id, file_id: fileId };
    const link = await server.api.call('/v2/file/get_download_url', ref, admin.access_token);
    expect([link.status, link.body.code]).toEqual([403, 'Forbidden.Drive']);
    const direct = await fetch(`${server.api.url}/v2/file/download?drive_id=${ref.drive_id}&file_id=${ref.file_id}`, { headers: { authorization: `Bearer ${admin.access_token}` } });
    expect(direct.status).toBeGreaterThanOrEqual(400);
    expect(Buffer.from(await direct.arrayBuffer()).equals(secret)).toBe(false);
    // Rapid upload into the admin's own drive: its admin power does not make it a holder of the content.
    const rapid = await server.api.ok('/v2/file/create', {
      drive_id: admin.default_drive_id, parent_file_id: 'root', name: 'copy.bin', type: 'file', size: secret.length,
      content_hash: createHash('sha1').update(secret).digest('hex'), content_hash_name: 'sha1',
    }, admin.access_token);
    expect(rapid).toMatchObject({ rapid_upload: false });

    // A user's file: admin power reaches it.
    const userFile = await upload(user, 'u.bin', randomBytes(100));
    const ok = await server.api.call('/v2/file/get_download_url', { drive_id: user.default_drive_id, file_id: userFile }, admin.access_token);
    expect(ok.status).toBe(200);
  });

  it("lets a superadmin manage an admin's drive, an admin a user's drive and its own", async () => {
    const extra = await server.api.ok('/v2/drive/create', { drive_name: 'extra', owner: admin.user_id, default: false }, root.access_token);
    expect((await server.api.call('/v2/drive/update', { drive_id: admin.default_drive_id, total_size: 1 << 30 }, root.access_token)).status).toBe(200);
    expect((await server.api.call('/v2/file/list', { drive_id: admin.default_drive_id, parent_file_id: 'root' }, root.access_token)).status).toBe(200);
    // An admin with its own drive (admin power is not needed there) and with a user's.
    expect((await server.api.call('/v2/drive/update', { drive_id: extra.drive_id, status: 'disabled' }, admin.access_token)).status).toBe(200);
    expect((await server.api.call('/v2/drive/delete', { drive_id: extra.drive_id }, admin.access_token)).status).toBe(204);
    expect((await server.api.call('/v2/file/list', { drive_id: user.default_drive_id, parent_file_id: 'root' }, admin.access_token)).status).toBe(200);
    expect((await server.api.call('/v2/drive/update', { drive_id: user.default_drive_id, total_size: 1 << 20 }, admin.access_token)).status).toBe(200);
    const userDrive = await server.api.ok('/v2/drive/create', { drive_name: 'uma-2', owner: user.user_id }, admin.access_token);
    expect((await server.api.call('/v2/drive/delete', { drive_id: userDrive.drive_id }, admin.access_token)).status).toBe(204);
    // A group's drive: its owner is a name, and admin power reaches it.
    const team = await server.api.ok('/v2/drive/create', { drive_name: 'team', owner: 'team', owner_type: 'group' }, admin.access_token);
    expect((await server.api.call('/v2/drive/update', { drive_id: team.drive_id, status: 'disabled' }, admin.access_token)).status).toBe(200);
    expect((await server.api.call('/v2/drive/delete', { drive_id: team.drive_id }, admin.access_token)).status).toBe(204);
  });

  it("refuses an admin a new drive for another admin or a superadmin (403 Forbidden.Drive); for itself or a user it may", async () => {
    const before = await driveCount();
    for (const owner of [root.user_id, otherAdmin.user_id]) {
      const r = await server.api.call('/v2/drive/create', { drive_name: 'planted', owner, default: false }, admin.access_token);
      expect([owner, r.status, r.body.code]).toEqual([owner, 403, 'Forbidden.Drive']);
    }
    expect(await driveCount()).toBe(before);
    const own = await server.api.ok('/v2/drive/create', { drive_name: 'mine', owner: admin.user_id, default: false }, admin.access_token);
    const forUser = await server.api.ok('/v2/drive/create', { drive_name: 'theirs', owner: user.user_id, default: false }, admin.access_token);
    const bySuper = await server.api.ok('/v2/drive/create', { drive_name: 'given', owner: otherAdmin.user_id, default: false }, root.access_token);
    for (const d of [own, forUser, bySuper]) await server.api.ok('/v2/drive/delete', { drive_id: d.drive_id }, root.access_token);
  });

  it('refuses a drive for a user that does not exist (404 NotFound.User), leaving nothing behind', async () => {
    const before = await driveCount();
    for (const token of [root.access_token, admin.access_token]) {
      const r = await server.api.call('/v2/drive/create', { drive_name: 'nobody', owner: 'no-such-user' }, token);
      expect([r.status, r.body.code]).toEqual([404, 'NotFound.User']);
    }
    expect(await driveCount()).toBe(before);
    // A deleted user's id is no owner either.
    const gone = await createLoggedIn('gone', 'user');
    await server.api.ok('/v2/user/delete', { user_id: gone.user_id }, root.access_token);
    expect((await server.api.call('/v2/drive/create', { drive_name: 'late', owner: gone.user_id }, root.access_token)).body.code).toBe('NotFound.User');
    expect(await driveCount()).toBe(before);
  });
});
