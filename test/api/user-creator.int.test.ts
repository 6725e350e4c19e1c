/**
 * PDS User.creator: the user id that created a user (migration 022), answered by user/create, get, list,
 * search and update. '' for the superadmin the server bootstraps, and for users created before it was
 * recorded. Kept when the creator is deleted. On PGlite and on PostgreSQL.
 */
import { ADMIN_PASSWORD, startTestServer, type ApiClient } from '../support/test-server';

describe.each(['pglite', 'pg'] as const)('user creator on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    api = server.api;
  });
  afterAll(() => server?.stop());

  it('records who created each user and answers it everywhere a User is answered', async () => {
    const root = await api.login('admin', ADMIN_PASSWORD);
    expect((await api.ok('/v2/user/get', {}, root.access_token)).creator).toBe('');
    const admin = await api.ok('/v2/user/create', { user_name: 'helpdesk', password: 'helpdesk-password', role: 'admin' }, root.access_token);
    expect(admin.creator).toBe(root.user_id);
    const helpdesk = await api.login('helpdesk', 'helpdesk-password');
    const made = await api.ok('/v2/user/create', { user_name: 'newbie', password: 'newbie-password' }, helpdesk.access_token);
    expect(made.creator).toBe(admin.user_id);
    expect((await api.ok('/v2/user/get', { user_id: made.user_id }, root.access_token)).creator).toBe(admin.user_id);
    expect((await api.ok('/v2/user/search', { user_name: 'newbie' }, root.access_token)).items[0].creator).toBe(admin.user_id);
    const listed = (await api.ok('/v2/user/list', { limit: 100 }, root.access_token)).items.find((u: { user_id: string }) => u.user_id === made.user_id);
    expect(listed.creator).toBe(admin.user_id);
    // An update does not make the updater the creator.
    expect((await api.ok('/v2/user/update', { user_id: made.user_id, nick_name: 'Newbie' }, root.access_token)).creator).toBe(admin.user_id);
    // The creator's id stays when the creator goes.
    await api.ok('/v2/user/delete', { user_id: admin.user_id }, root.access_token);
    expect((await api.ok('/v2/user/get', { user_id: made.user_id }, root.access_token)).creator).toBe(admin.user_id);
  });
});
