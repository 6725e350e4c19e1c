/**
 * A user's default_drive_id (user/get, the user lists, login and token refresh) names the drive
 * drive/get_default_drive answers: '' once an admin deletes that drive, and the new one once an admin
 * creates another default drive for the user. It kept the deleted drive's id in both cases, so a PDS
 * client, which opens the drive login names, met 404 NotFound.Drive on every call even after the admin made
 * the user a new default drive.
 */
import { ADMIN_PASSWORD, createLoggedInUser, startTestServer, type ApiClient } from '../support/test-server';

describe.each(['pglite', 'pg'] as const)("a user's default drive id on %s + local", (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let admin: string;

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    api = server.api;
    admin = (await api.login('admin', ADMIN_PASSWORD)).access_token;
  });
  afterAll(() => server?.stop());

  /** The default drive id as each call answers it: user/get, user/list, user/search, login, token refresh, get_default_drive. */
  async function defaultDriveIds(name: string): Promise<string[]> {
    const user = await api.ok('/v2/user/get', { user_id: (await api.ok('/v2/user/search', { user_name: name }, admin)).items[0].user_id }, admin);
    const listed = (await api.ok('/v2/user/list', { limit: 100 }, admin)).items.find((u: { user_id: string }) => u.user_id === user.user_id);
    const searched = (await api.ok('/v2/user/search', { user_name: name }, admin)).items[0];
    const login = await api.login(name, `${name}-password`);
    const refreshed = await api.ok('/v2/account/token', { refresh_token: login.refresh_token });
    const found = await api.call('/v2/drive/get_default_drive', {}, login.access_token);
    return [user.default_drive_id, listed.default_drive_id, searched.default_drive_id, login.default_drive_id, refreshed.default_drive_id, found.status === 200 ? found.body.drive_id : ''];
  }

  it("follows the user's default drive when an admin deletes it and creates another", async () => {
    const alice = await createLoggedInUser(api, 'alice');
    const first = alice.default_drive_id;
    const other = await api.ok('/v2/drive/create', { drive_name: 'other', owner: alice.user_id }, admin);
    expect(await defaultDriveIds('alice')).toEqual(Array(6).fill(first));

    // Deleting another of the user's drives changes nothing.
    await api.ok('/v2/drive/delete', { drive_id: other.drive_id }, admin);
    expect(await defaultDriveIds('alice')).toEqual(Array(6).fill(first));

    await api.ok('/v2/drive/delete', { drive_id: first }, admin);
    expect(await defaultDriveIds('alice')).toEqual(Array(6).fill(''));

    const second = await api.ok('/v2/drive/create', { drive_name: 'second', owner: alice.user_id, default: true }, admin);
    expect(await defaultDriveIds('alice')).toEqual(Array(6).fill(second.drive_id));
    // A drive created with default false leaves it alone.
    await api.ok('/v2/drive/create', { drive_name: 'third', owner: alice.user_id, default: false }, admin);
    expect(await defaultDriveIds('alice')).toEqual(Array(6).fill(second.drive_id));
  });

  it('two default drives created at once: one is made and named, the other is 409 AlreadyExist.DefaultDrive', async () => {
    const bob = await createLoggedInUser(api, 'bob');
    await api.ok('/v2/drive/delete', { drive_id: bob.default_drive_id }, admin);
    const answers = await Promise.all([1, 2, 3].map((n) => api.call('/v2/drive/create', { drive_name: `d${n}`, owner: bob.user_id, default: true }, admin)));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409]);
    expect(answers.filter((a) => a.status === 409).map((a) => a.body.code)).toEqual(['AlreadyExist.DefaultDrive', 'AlreadyExist.DefaultDrive']);
    const made = answers.find((a) => a.status === 201)!.body.drive_id;
    expect(await defaultDriveIds('bob')).toEqual(Array(6).fill(made));
  });

  it("answers another user's default drive to admins only: anyone else is 404 NotFound.Drive, not their own drive", async () => {
    const dan = await createLoggedInUser(api, 'dan');
    const erin = await createLoggedInUser(api, 'erin');
    const asked = await api.call('/v2/drive/get_default_drive', { user_id: erin.user_id }, dan.access_token);
    expect([asked.status, asked.body.code]).toEqual([404, 'NotFound.Drive']);
    expect((await api.ok('/v2/drive/get_default_drive', { user_id: dan.user_id }, dan.access_token)).drive_id).toBe(dan.default_drive_id);
    expect((await api.ok('/v2/drive/get_default_drive', { user_id: erin.user_id }, admin)).drive_id).toBe(erin.default_drive_id);
  });

  it('a delete of the default drive racing a delete of its user: 204 or 404 each, never a deadlock (503)', async () => {
    for (let i = 0; i < 5; i++) {
      const user = await createLoggedInUser(api, `carol${i}`);
      const [drive, gone] = await Promise.all([
        api.call('/v2/drive/delete', { drive_id: user.default_drive_id }, admin),
        api.call('/v2/user/delete', { user_id: user.user_id }, admin),
      ]);
      expect([drive.status === 204 || drive.status === 404, gone.status]).toEqual([true, 204]);
    }
  });
});
