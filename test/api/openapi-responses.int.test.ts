/**
 * The OpenAPI document declares a success body for every route that answers one (a ported PDS client
 * generates its models from it), with the API's objects as named components; and what the routes answer
 * is what it declares. Under jest the RPC layer checks each answer against the route's zod schema
 * (shared/rpc.ts checkResponse); this suite also checks them against the published document itself,
 * with a JSON Schema validator, over one call of every route. recyclebin/list and restore answer Files
 * with domain_id, as file/* do.
 */
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { ADMIN_PASSWORD, serverWithUser, type ApiClient, type LoggedInUser } from '../support/test-server';

type Operation = { responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> };
type Doc = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

describe('OpenAPI response bodies on pglite + local', () => {
  let api: ApiClient;
  let user: LoggedInUser;
  let doc: Doc;
  let ajv: Ajv2020;
  serverWithUser('pglite', 'local', 'responder', (ready) => {
    [api, user] = [ready.api, ready.user];
  });
  beforeAll(async () => {
    doc = (await (await fetch(`${api.url}/v2/openapi.json`)).json()) as Doc;
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: 'openapi', components: doc.components });
  });

  const success = (path: string) => Object.entries(doc.paths[path]!.post!.responses).find(([s]) => /^2/.test(s))!;
  const schemaRef = (path: string) => success(path)[1].content?.['application/json']?.schema?.$ref;
  /** The answer to a call, checked against the document's schema for it. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function conform(path: string, body: Record<string, unknown>, token: string | undefined = user.access_token): Promise<any> {
    const res = await api.call(path, body, token);
    const [status] = success(path);
    if (status === '204') return expect([path, res.status, res.body]).toEqual([path, 204, undefined]);
    expect([path, res.status, res.body]).toEqual([path, Number(status), expect.anything()]);
    const validate = ajv.getSchema(`openapi${schemaRef(path)!.replace(/^#/, '#')}`)!;
    const valid = validate(res.body);
    expect([path, valid ? [] : validate.errors]).toEqual([path, []]);
    return res.body;
  }

  it('declares a JSON body on the success of every POST route but the 204 ones, by reference to a component', () => {
    const posts = Object.entries(doc.paths).filter(([, ops]) => ops.post);
    expect(posts.length).toBeGreaterThan(35);
    for (const [path] of posts) {
      const [status, response] = success(path);
      if (status === '204') expect([path, response.content]).toEqual([path, undefined]);
      else expect([path, schemaRef(path)]).toEqual([path, expect.stringMatching(/^#\/components\/schemas\/\w+$/)]);
    }
    for (const name of ['File', 'FileList', 'Drive', 'DriveList', 'User', 'UserList', 'Revision', 'RevisionList', 'UploadPartInfo', 'CreateFileResponse', 'AccountAccessTokenResponse', 'Error'])
      expect([name, doc.components.schemas[name]]).toEqual([name, expect.objectContaining({ type: 'object' })]);
    // Every reference resolves to a component.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of new Set(refs)) expect([ref, doc.components.schemas[ref.replace('#/components/schemas/', '')]]).toEqual([ref, expect.anything()]);
  });

  it("the PDS objects' fields are typed as the reference types them", () => {
    const props = (name: string) => (doc.components.schemas[name] as { properties: Record<string, { type: unknown; format?: string }> }).properties;
    expect(props('File').size).toEqual({ type: 'integer', format: 'int64' });
    expect(props('File').labels).toEqual({ type: 'array', items: { type: 'string' } });
    expect(props('User').created_at).toMatchObject({ type: 'integer', format: 'int64' });
    expect(props('Drive').total_size).toMatchObject({ anyOf: [{ type: 'integer', format: 'int64' }, { type: 'null' }] });
    expect(props('Revision').is_latest_version).toEqual({ type: 'boolean' });
  });

  it('every route answers what the document declares (one call of each)', async () => {
    const admin = (await conform('/v2/account/login', { username: 'admin', password: ADMIN_PASSWORD }, undefined)) as { access_token: string; refresh_token: string };
    await conform('/v2/account/token', { refresh_token: user.refresh_token }, undefined);
    await conform('/v2/domain/get', {}, admin.access_token);
    await conform('/v2/domain/update', { trash_retention_days: 30 }, admin.access_token);
    const other = await conform('/v2/user/create', { user_name: 'responder-2', password: 'responder-2-password' }, admin.access_token);
    await conform('/v2/user/get', {});
    await conform('/v2/user/update', { user_id: user.user_id, nick_name: 'R' });
    await conform('/v2/user/list', {}, admin.access_token);
    await conform('/v2/user/search', { nick_name_for_fuzzy: 'R' }, admin.access_token);
    const drive = await conform('/v2/drive/create', { drive_name: 'extra', owner: other.user_id, total_size: 1_000_000 }, admin.access_token);
    await conform('/v2/drive/get', { drive_id: drive.drive_id }, admin.access_token);
    await conform('/v2/drive/get_default_drive', {});
    await conform('/v2/drive/list', {}, admin.access_token);
    await conform('/v2/drive/list_my_drives', {});
    await conform('/v2/drive/update', { drive_id: drive.drive_id, description: 'more' }, admin.access_token);

    const d = user.default_drive_id;
    const folder = await conform('/v2/file/create', { drive_id: d, name: 'box', type: 'folder' });
    const created = await conform('/v2/file/create', { drive_id: d, parent_file_id: folder.file_id, name: 'a.txt', type: 'file', size: 5, part_info_list: [{ part_number: 1 }] });
    const session = { drive_id: d, file_id: created.file_id, upload_id: created.upload_id };
    const again = await conform('/v2/file/get_upload_url', session);
    expect((await fetch(again.part_info_list[0].upload_url, { method: 'PUT', body: 'hello' })).ok).toBe(true);
    await conform('/v2/file/list_uploaded_parts', session);
    await conform('/v2/file/complete', session);
    const ref = { drive_id: d, file_id: created.file_id };
    // A second revision, so that there is an older one to get and restore.
    const second = await conform('/v2/file/create', { drive_id: d, file_id: created.file_id, name: 'a.txt', type: 'file', size: 3, part_info_list: [{ part_number: 1 }] });
    await fetch(second.part_info_list[0].upload_url, { method: 'PUT', body: 'abc' });
    await conform('/v2/file/complete', { ...ref, upload_id: second.upload_id });
    await conform('/v2/file/get', ref);
    await conform('/v2/file/list', { drive_id: d, parent_file_id: folder.file_id });
    await conform('/v2/file/update', { ...ref, description: 'x', labels: ['l'], starred: true });
    await conform('/v2/file/get_path', ref);
    const copy = await conform('/v2/file/copy', { ...ref, to_parent_file_id: 'root' });
    await conform('/v2/file/move', { drive_id: d, file_id: copy.file_id, to_parent_file_id: folder.file_id, new_name: 'b.txt' });
    const revisions = await conform('/v2/file/revision/list', ref);
    const older = revisions.items.find((r: { is_latest: boolean }) => !r.is_latest);
    await conform('/v2/file/revision/get', { ...ref, revision_id: older.revision_id });
    await conform('/v2/file/revision/restore', { ...ref, revision_id: older.revision_id });
    await conform('/v2/file/get_download_url', ref);

    await conform('/v2/recyclebin/trash', ref);
    const trashed = await conform('/v2/recyclebin/list', { drive_id: d });
    const restored = await conform('/v2/recyclebin/restore', ref);
    expect([trashed.items[0].domain_id, restored.domain_id]).toEqual(['default', 'default']);
    await conform('/v2/recyclebin/trash', { drive_id: d, file_id: folder.file_id });
    expect(await conform('/v2/recyclebin/clear', { drive_id: d })).toEqual({ purged_count: expect.any(Number) });
    await conform('/v2/drive/delete', { drive_id: drive.drive_id }, admin.access_token);
    await conform('/v2/user/delete', { user_id: other.user_id }, admin.access_token);
  });
});
