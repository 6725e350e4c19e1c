/**
 * revision/restore and revision/delete of the same revision at once: one of them wins and the file stays
 * readable. Both used to check the file's current revision outside any lock, so a delete could remove the
 * revision a concurrent restore had just made current (get_download_url then answered NotFound.Revision).
 */
import { ADMIN_PASSWORD, startTestServer, type ApiClient } from '../support/test-server';

const ROUNDS = 15;

describe.each(['pg', 'pglite'] as const)('revision restore racing delete on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let token: string;
  let driveId: string;

  async function upload(name: string, content: string): Promise<{ file_id: string; revision_id: string }> {
    const created = await api.ok('/v2/file/create', { drive_id: driveId, parent_file_id: 'root', name, type: 'file', size: content.length, check_name_mode: 'overwrite' }, token);
    const put = await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content });
    expect(put.ok).toBe(true);
    return api.ok('/v2/file/complete', { drive_id: driveId, file_id: created.file_id, upload_id: created.upload_id }, token);
  }

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    api = server.api;
    const admin = await api.login('admin', ADMIN_PASSWORD);
    token = admin.access_token;
    driveId = admin.default_drive_id;
  });
  afterAll(() => server?.stop());

  it('leaves the file at a revision that exists, whichever call wins', async () => {
    let older = await upload('doc.txt', 'version 0');
    for (let round = 1; round <= ROUNDS; round++) {
      const current = await upload('doc.txt', `version ${round}`);
      const ref = { drive_id: driveId, file_id: current.file_id, revision_id: older.revision_id };
      const [restored, deleted] = await Promise.all([api.call('/v2/file/revision/restore', ref, token), api.call('/v2/file/revision/delete', ref, token)]);
      if (restored.status === 200) {
        // The restore came first: the revision is current and the delete refused it.
        expect([deleted.status, deleted.body.code]).toEqual([403, 'Forbidden.CurrentRevision']);
      } else {
        expect([restored.status, restored.body.code]).toEqual([404, 'NotFound.Revision']);
        expect(deleted.status).toBe(204);
      }
      const link = await api.call('/v2/file/get_download_url', { drive_id: driveId, file_id: current.file_id }, token);
      expect([round, link.status]).toEqual([round, 200]);
      const file = await api.ok('/v2/file/get', { drive_id: driveId, file_id: current.file_id }, token);
      expect(file.revision_id).toBe(restored.status === 200 ? ref.revision_id : current.revision_id);
      // Not current after the next upload either way: the next round races on it.
      older = current;
    }
  });
});
