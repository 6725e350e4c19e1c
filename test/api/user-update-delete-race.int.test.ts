/**
 * user/update racing user/delete (red team, concurrent admin calls): the update read the user unlocked, so
 * a user being deleted (user/delete holds the row while it deletes the user's drives) was still there;
 * its UPDATE then waited for the delete, changed no row, and the call answered 500 (a TypeError on the
 * missing row): 210 of 360 profile updates racing deletes on PostgreSQL. It now waits for the row and
 * answers 404 NotFound.User. The delete is held open here so the race is certain.
 */
import { untilALockWaits } from '../support/accounting';
import { ADMIN_PASSWORD, serverWithUser, type ApiClient, type TestServer } from '../support/test-server';

describe.each(['pg', 'pglite'] as const)('user/update of a user being deleted, on %s', (dbKind) => {
  let server: TestServer;
  let api: ApiClient;
  let admin: string;
  serverWithUser(dbKind, 'local', 'someone', (ready) => {
    ({ server, api } = ready);
  });
  beforeAll(async () => {
    admin = (await api.login('admin', ADMIN_PASSWORD)).access_token;
  });

  it('answers 404 NotFound.User once the delete commits, never a 500', async () => {
    const user = await api.ok('/v2/user/create', { user_name: 'leaving', password: 'leaving-password' }, admin);
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    let deleted!: () => void;
    const isDeleted = new Promise<void>((resolve) => (deleted = resolve));
    const deleting = server.deps.db.transaction(async (tx) => {
      await tx.query(`DELETE FROM users WHERE user_id = $1`, [user.user_id]);
      deleted();
      await committed;
    });
    await isDeleted;
    const updating = api.call('/v2/user/update', { user_id: user.user_id, nick_name: 'still here?' }, admin);
    // The update waits on the deleted row (on PGlite, behind the holder's transaction).
    await untilALockWaits(server.deps.db, dbKind, 'the update (for the deleted row)');
    commit();
    await deleting;
    const answer = await updating;
    expect([answer.status, answer.body.code]).toEqual([404, 'NotFound.User']);
  });
});
