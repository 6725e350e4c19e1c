/**
 * file/get_upload_url of an upload that goes, or is completed, while the call runs (red team: 8 of 12
 * calls racing a drive/delete on PostgreSQL): the session read at the start was there, its refresh then
 * found no open row, and the call answered 410 UploadExpired, "created more than 604800 seconds ago", of an
 * upload made a second before. It now says what happened: 404 NotFound.UploadId for an upload gone, 409
 * UploadCompleted for one completed. The change is held open in another transaction so the race is
 * certain (on PGlite, one transaction at a time, the call simply runs after it).
 */
import { untilALockWaits } from '../support/accounting';
import { serverWithUser, type ApiClient, type TestServer } from '../support/test-server';

describe.each(['pg', 'pglite'] as const)('file/get_upload_url of an upload changed meanwhile, on %s', (dbKind) => {
  let server: TestServer;
  let api: ApiClient;
  let t: string;
  let d: string;
  serverWithUser(dbKind, 'local', 'uploader', (ready) => {
    ({ server, api } = ready);
    [t, d] = [ready.user.access_token, ready.user.default_drive_id];
  });

  /** get_upload_url while `change` (SQL on the session) is held uncommitted, then committed. */
  async function urlDuring(change: string) {
    const created = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'u.bin', type: 'file', size: 3, check_name_mode: 'auto_rename' }, t);
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    let changed!: () => void;
    const isChanged = new Promise<void>((resolve) => (changed = resolve));
    const holder = server.deps.db.transaction(async (tx) => {
      await tx.query(change, [created.upload_id]);
      changed();
      await committed;
    });
    await isChanged;
    const asking = api.call('/v2/file/get_upload_url', { drive_id: d, file_id: created.file_id, upload_id: created.upload_id }, t);
    await untilALockWaits(server.deps.db, dbKind, 'get_upload_url (for the session row)');
    commit();
    await holder;
    return asking;
  }

  it('answers 404 NotFound.UploadId for an upload deleted meanwhile, not 410 UploadExpired', async () => {
    const answer = await urlDuring(`DELETE FROM upload_sessions WHERE upload_id = $1`);
    expect([answer.status, answer.body.code]).toEqual([404, 'NotFound.UploadId']);
  });

  it('answers 409 UploadCompleted for an upload completed meanwhile, not 410 UploadExpired', async () => {
    const answer = await urlDuring(`UPDATE upload_sessions SET status = 'completed' WHERE upload_id = $1`);
    expect([answer.status, answer.body.code]).toEqual([409, 'UploadCompleted']);
  });
});
