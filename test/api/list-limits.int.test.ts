/**
 * Each list takes the `limit` bounds of its PDS reference call (red team, repro-revision-limit.mjs):
 * file/revision/list 1-200 (100 refused 101-200), drive/list and drive/list_my_drives 0-100 with 0 the
 * default page size (0 was refused). /v2/openapi.json says the same bounds. A limit is a number or a string of
 * digits: z.coerce took [5], true and "0x10" (red team, session 21). A revision says
 * is_latest_version, the reference's name, as well as is_latest. On PGlite and PostgreSQL.
 */
import { serverWithUser, type ApiClient } from '../support/test-server';

type Schema = { properties: Record<string, { minimum?: number; maximum?: number; default?: number }> };

describe.each([
  ['pglite', 'local'],
  ['pg', 'local'],
] as const)('list limits on %s + %s', (dbKind, storeKind) => {
  let api: ApiClient;
  let token: string;
  let d: string;
  serverWithUser(dbKind, storeKind, 'limits', (ready) => {
    api = ready.api;
    [token, d] = [ready.user.access_token, ready.user.default_drive_id];
  });

  async function upload(body: string, extra: Record<string, unknown> = {}) {
    const c = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'rev.txt', type: 'file', size: body.length, part_info_list: [{ part_number: 1 }], ...extra }, token);
    await fetch(c.part_info_list[0].upload_url, { method: 'PUT', body });
    return api.ok('/v2/file/complete', { drive_id: d, file_id: c.file_id, upload_id: c.upload_id }, token);
  }

  it('file/revision/list takes limit 1-200; revisions say is_latest_version', async () => {
    const f = await upload('v1');
    await upload('v2!', { check_name_mode: 'overwrite' });
    for (const limit of [1, 100, 101, 200]) {
      const r = await api.call('/v2/file/revision/list', { drive_id: d, file_id: f.file_id, limit }, token);
      expect([limit, r.status]).toEqual([limit, 200]);
    }
    for (const limit of [0, 201]) {
      const r = await api.call('/v2/file/revision/list', { drive_id: d, file_id: f.file_id, limit }, token);
      expect([limit, r.status, r.body.code]).toEqual([limit, 400, 'InvalidParameter.Limit']);
    }
    const items = (await api.ok('/v2/file/revision/list', { drive_id: d, file_id: f.file_id, limit: 200 }, token)).items;
    expect(items.map((i: { is_latest: boolean; is_latest_version: boolean }) => [i.is_latest, i.is_latest_version])).toEqual([
      [true, true],
      [false, false],
    ]);
    const one = await api.ok('/v2/file/revision/get', { drive_id: d, file_id: f.file_id, revision_id: items[0].revision_id }, token);
    expect(one.is_latest_version).toBe(true);
  });

  it('drive/list and drive/list_my_drives take limit 0-100, 0 being the default page', async () => {
    for (const path of ['/v2/drive/list', '/v2/drive/list_my_drives']) {
      const zero = await api.call(path, { limit: 0 }, token);
      expect([path, zero.status, zero.body.items.map((i: { drive_id: string }) => i.drive_id)]).toEqual([path, 200, [d]]);
      const over = await api.call(path, { limit: 101 }, token);
      expect([path, over.status, over.body.code]).toEqual([path, 400, 'InvalidParameter.Limit']);
      const negative = await api.call(path, { limit: -1 }, token);
      expect([path, negative.status]).toEqual([path, 400]);
    }
  });

  it('takes a limit or part marker as a number or a string of digits, nothing else (not [5], true, "0x10", "")', async () => {
    await upload('one');
    const list = (limit: unknown) => api.call('/v2/file/list', { drive_id: d, parent_file_id: 'root', limit }, token);
    for (const limit of [1, '1', '001']) {
      const r = await list(limit);
      expect([limit, r.status, r.body.items?.length]).toEqual([limit, 200, 1]);
    }
    for (const limit of [[5], true, '0x10', '', ' 5', '5.0', '1e1', null, {}]) {
      const r = await list(limit);
      expect([limit, r.status, r.body.code]).toEqual([limit, 400, 'InvalidParameter.Limit']);
    }
    const drives = await api.call('/v2/drive/list', { limit: false }, token);
    expect([drives.status, drives.body.code]).toEqual([400, 'InvalidParameter.Limit']);
    // An open upload's parts: next_part_number_marker is a string, and comes back as one.
    const c = await api.ok('/v2/file/create', { drive_id: d, parent_file_id: 'root', name: 'parts.bin', type: 'file', part_info_list: [{ part_number: 1 }, { part_number: 2 }] }, token);
    const parts = (marker: unknown) => api.call('/v2/file/list_uploaded_parts', { drive_id: d, file_id: c.file_id, upload_id: c.upload_id, part_number_marker: marker }, token);
    expect((await parts('1')).status).toBe(200);
    for (const marker of [true, [1], '0x1']) {
      const r = await parts(marker);
      expect([marker, r.status, r.body.code]).toEqual([marker, 400, 'InvalidParameter.PartNumberMarker']);
    }
  });

  it('/v2/openapi.json gives each list its bounds', async () => {
    const doc = (await (await fetch(`${api.url}/v2/openapi.json`)).json()) as { paths: Record<string, any> };
    const limit = (path: string) => (doc.paths[path].post.requestBody.content['application/json'].schema as Schema).properties.limit;
    expect(limit('/v2/file/revision/list')).toMatchObject({ minimum: 1, maximum: 200, default: 100 });
    expect(limit('/v2/drive/list')).toMatchObject({ minimum: 0, maximum: 100, default: 100 });
    expect(limit('/v2/drive/list_my_drives')).toMatchObject({ minimum: 0, maximum: 100 });
    expect(limit('/v2/file/list')).toMatchObject({ minimum: 1, maximum: 100 });
  });
});
