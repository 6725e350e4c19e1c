/**
 * file/create of a folder keeps every field it takes: labels, user_meta and the local times were dropped
 * (answered and stored as [], '' and null) while the call answered 201, though file/update sets them on a
 * folder and file/create keeps them for a file (red team, bad input: "loses nothing").
 */
import { serverWithUser, type ApiClient } from '../support/test-server';

describe.each(['pglite', 'pg'] as const)('folder fields at file/create on %s', (dbKind) => {
  let api: ApiClient;
  let t: string;
  let d: string;
  serverWithUser(dbKind, 'local', 'folders', (ready) => {
    api = ready.api;
    [t, d] = [ready.user.access_token, ready.user.default_drive_id];
  });

  it('stores labels, user_meta, description, hidden and the local times of a new folder', async () => {
    const fields = {
      labels: ['trip', '2020'],
      user_meta: '{"color":"blue"}',
      description: 'photos',
      hidden: true,
      local_created_at: '2020-01-02T03:04:05.000Z',
      local_modified_at: '2021-06-07T08:09:10.000Z',
    };
    const created = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'Trip', type: 'folder', ...fields }, t);
    expect(created).toMatchObject({ type: 'folder', exist: false, ...fields });
    expect(await api.ok('/v2/file/get', { drive_id: d, file_id: created.file_id }, t)).toMatchObject(fields);
    // mkdir -p (refuse onto the folder there) answers that folder as it is, changing nothing.
    const again = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'Trip', type: 'folder', check_name_mode: 'refuse', labels: ['other'] }, t);
    expect(again).toMatchObject({ file_id: created.file_id, exist: true, labels: fields.labels });
  });
});
