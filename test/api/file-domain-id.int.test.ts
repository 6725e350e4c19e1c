/**
 * File and Revision objects carry `domain_id`, as the reference's components.schemas.File and Revision
 * do (a ported PDS client reads it): the one domain this data plane serves (OPENPDS_DOMAIN_ID). On every
 * call of the files and revisions groups that answers a File. On PGlite and PostgreSQL.
 */
import { serverWithUser, type ApiClient } from '../support/test-server';

describe.each([
  ['pglite', 'local'],
  ['pg', 'local'],
] as const)('domain_id on files on %s + %s', (dbKind, storeKind) => {
  let api: ApiClient;
  let token: string;
  let d: string;
  serverWithUser(dbKind, storeKind, 'domainer', (ready) => {
    api = ready.api;
    [token, d] = [ready.user.access_token, ready.user.default_drive_id];
  });

  it('is on files and folders from create, complete, get, list, update, get_path and the revision calls', async () => {
    const call = (path: string, body: Record<string, unknown>) => api.ok(path, { drive_id: d, ...body }, token);
    const folder = await call('/v2/file/create', { parent_file_id: 'root', name: 'dom', type: 'folder' });
    const created = await call('/v2/file/create', { parent_file_id: folder.file_id, name: 'a.txt', type: 'file', size: 1, part_info_list: [{ part_number: 1 }] });
    await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: 'a' });
    const ref = { file_id: created.file_id };
    const done = await call('/v2/file/complete', { ...ref, upload_id: created.upload_id });
    const revs = await call('/v2/file/revision/list', ref);
    const answers = {
      folder,
      created,
      done,
      get: await call('/v2/file/get', ref),
      listed: (await call('/v2/file/list', { parent_file_id: folder.file_id })).items[0],
      updated: await call('/v2/file/update', { ...ref, description: 'x' }),
      path: (await call('/v2/file/get_path', ref)).items[0],
      revision: revs.items[0],
      revisionGet: await call('/v2/file/revision/get', { ...ref, revision_id: revs.items[0].revision_id }),
    };
    expect(Object.fromEntries(Object.entries(answers).map(([k, v]) => [k, v.domain_id]))).toEqual(Object.fromEntries(Object.keys(answers).map((k) => [k, 'default'])));
  });
});
