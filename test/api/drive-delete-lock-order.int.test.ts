/**
 * Calls on a drive's files racing a delete of the drive (drive/delete, user/delete), on PostgreSQL (red
 * team: drive/delete answered 503 ServiceUnavailable.Conflict in 6 of 12 tries while the drive was in use,
 * and so did the calls it met). The calls locked a file row, then needed the drive row (the quota
 * trigger's update); the delete held the drive row, then needed the file rows (its cascade): a deadlock,
 * one of them rolled back. Each such call now takes the drive row's key share lock first, as file/create
 * does (lockDriveKey): it waits for the delete and answers 404 NotFound.Drive, or the delete waits for it.
 * The delete is played here by a transaction that holds the drive row, then deletes it.
 */
import { untilALockWaits } from '../support/accounting';
import { serverWithUser, type ApiClient, type ApiResponse, type TestServer } from '../support/test-server';

describe('calls racing the delete of their drive, on pg', () => {
  let server: TestServer;
  let api: ApiClient;
  let t: string;
  let user: string;
  serverWithUser('pg', 'local', 'drivefull', (ready) => {
    ({ server, api } = ready);
    t = ready.user.access_token;
    user = ready.user.user_id;
  });

  const upload = async (d: string, parent: string, name: string, bytes: Buffer, extra: object = {}) => {
    const created = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: parent, name, type: 'file', size: bytes.length, ...extra }, t);
    expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: bytes })).status).toBe(200);
    return api.ok('/v2/file/complete', { drive_id: d, file_id: created.file_id, upload_id: created.upload_id }, t);
  };

  /** A drive of the user with a folder, a file with two revisions, and a trashed file in it. */
  async function driveInUse() {
    const admin = (await api.login('admin', 'admin-password-for-tests')).access_token;
    const { drive_id: d } = await api.ok('/v2/drive/create', { owner: user, drive_name: 'doomed' }, admin);
    const folder = (await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'F', type: 'folder' }, t)).file_id as string;
    const file = await upload(d, folder, 'a.txt', Buffer.from('one'));
    await upload(d, folder, 'a.txt', Buffer.from('two!'), { check_name_mode: 'overwrite' });
    const revisions = (await api.ok('/v2/file/revision/list', { drive_id: d, file_id: file.file_id }, t)).items as { revision_id: string }[];
    const trashed = await upload(d, 'root', 't.txt', Buffer.from('bin'));
    await api.ok('/v2/recyclebin/trash', { drive_id: d, file_id: trashed.file_id }, t);
    return { d, folder, file: file.file_id as string, older: revisions[1]!.revision_id, trashed: trashed.file_id as string };
  }

  /** `call` while another transaction holds the drive row FOR UPDATE and then deletes the drive. */
  async function duringDriveDelete(d: string, call: () => Promise<ApiResponse>): Promise<ApiResponse> {
    let go!: () => void;
    const proceed = new Promise<void>((resolve) => (go = resolve));
    let held!: () => void;
    const isHeld = new Promise<void>((resolve) => (held = resolve));
    const deleting = server.deps.db.transaction(async (tx) => {
      await tx.query(`SELECT 1 FROM drives WHERE drive_id = $1 FOR UPDATE`, [d]);
      held();
      await proceed;
      await tx.query(`DELETE FROM drives WHERE drive_id = $1`, [d]);
    });
    await isHeld;
    const answer = call();
    // The call waits on the drive row (once it holds its own locks, before the fix).
    await untilALockWaits(server.deps.db, 'pg', 'the call (for the drive row)');
    await new Promise((r) => setTimeout(r, 100));
    go();
    await deleting;
    return answer;
  }

  const calls: [string, (x: Awaited<ReturnType<typeof driveInUse>>) => [string, Record<string, unknown>]][] = [
    ['revision/delete', (x) => ['/v2/file/revision/delete', { drive_id: x.d, file_id: x.file, revision_id: x.older }]],
    ['revision/restore', (x) => ['/v2/file/revision/restore', { drive_id: x.d, file_id: x.file, revision_id: x.older }]],
    ['recyclebin/restore', (x) => ['/v2/recyclebin/restore', { drive_id: x.d, file_id: x.trashed }]],
    ['recyclebin/trash', (x) => ['/v2/recyclebin/trash', { drive_id: x.d, file_id: x.folder }]],
    ['file/delete', (x) => ['/v2/file/delete', { drive_id: x.d, file_id: x.folder }]],
    ['file/copy', (x) => ['/v2/file/copy', { drive_id: x.d, file_id: x.folder, to_parent_file_id: 'root', new_name: 'G' }]],
    ['file/move', (x) => ['/v2/file/move', { drive_id: x.d, file_id: x.file, to_parent_file_id: 'root' }]],
    ['file/update', (x) => ['/v2/file/update', { drive_id: x.d, file_id: x.file, name: 'b.txt' }]],
  ];

  it.each(calls)('%s answers 404 NotFound.Drive, never 503 (deadlock) or 500', async (_label, make) => {
    const x = await driveInUse();
    const [path, body] = make(x);
    const answer = await duringDriveDelete(x.d, () => api.call(path, body, t));
    expect([answer.status, answer.body?.code]).toEqual([404, 'NotFound.Drive']);
  });
});
