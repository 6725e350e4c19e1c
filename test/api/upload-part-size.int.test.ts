/**
 * file/complete with a part other than the last under 5 MiB: 400 InvalidParameter.PartSize on local disk
 * and on S3 alike, and the session stays open, so the client can upload that part again and complete
 * (this was a 500 that left the session 'completing': every retry answered 409 UploadInProgress for 60 s).
 * A non-last part declared with a part_size under 5 MiB is refused at file/create, before anything is
 * uploaded.
 */
import { ADMIN_PASSWORD, startTestServer, type ApiClient } from '../support/test-server';

const MiB = 1024 * 1024;

describe.each([
  ['pglite', 'local'],
  ['pg', 's3'],
] as const)('a small non-last part on %s + %s', (dbKind, storeKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let token: string;
  let drive: string;

  const put = async (url: string, body: Buffer) => expect((await fetch(url, { method: 'PUT', body })).ok).toBe(true);

  beforeAll(async () => {
    server = await startTestServer(dbKind, storeKind);
    api = server.api;
    const admin = await api.login('admin', ADMIN_PASSWORD);
    token = admin.access_token;
    drive = admin.default_drive_id;
  });
  afterAll(() => server?.stop());

  it('is refused with InvalidParameter.PartSize, and the upload can be fixed and completed', async () => {
    const created = await api.ok('/v2/file/create', { drive_id: drive, parent_file_id: 'root', name: 'two-parts.bin', type: 'file', part_info_list: [{ part_number: 1 }, { part_number: 2 }] }, token);
    const ref = { drive_id: drive, file_id: created.file_id, upload_id: created.upload_id };
    const [url1, url2] = created.part_info_list.map((p: { upload_url: string }) => p.upload_url);
    await put(url1, Buffer.alloc(10, 1));
    await put(url2, Buffer.alloc(5, 2));

    for (let attempt = 0; attempt < 2; attempt++) {
      const refused = await api.call('/v2/file/complete', ref, token);
      expect([refused.status, refused.body.code]).toEqual([400, 'InvalidParameter.PartSize']);
      expect(refused.body.message).toMatch(/part 1 is 10 bytes/);
    }

    const fixed = Buffer.alloc(5 * MiB, 3);
    await put(url1, fixed);
    const file = await api.ok('/v2/file/complete', ref, token);
    expect(file.size).toBe(5 * MiB + 5);
    const link = await api.ok('/v2/file/get_download_url', { drive_id: drive, file_id: file.file_id }, token);
    const body = Buffer.from(await (await fetch(link.url)).arrayBuffer());
    expect(body.equals(Buffer.concat([fixed, Buffer.alloc(5, 2)]))).toBe(true);
  });

  it('is refused at file/create when a declared part_size already makes it certain', async () => {
    const create = (extra: object) => api.call('/v2/file/create', { drive_id: drive, parent_file_id: 'root', name: 'declared.bin', type: 'file', ...extra }, token);
    const small = await create({ size: 5 * MiB + 10, part_info_list: [{ part_number: 1, part_size: 10 }, { part_number: 2, part_size: 5 * MiB }] });
    expect([small.status, small.body.code]).toEqual([400, 'InvalidParameter.PartSize']);
    expect(small.body.message).toMatch(/part 1 is declared as 10 bytes/);
    // A small last part, and sizes that fit, are fine; nothing was left behind by the refusals.
    const fine = await create({ size: 5 * MiB + 10, part_info_list: [{ part_number: 1, part_size: 5 * MiB }, { part_number: 2, part_size: 10 }] });
    expect(fine.body.part_info_list).toHaveLength(2);
    const listed = await api.ok('/v2/file/list', { drive_id: drive, parent_file_id: 'root' }, token);
    expect(listed.items.filter((f: { name: string }) => f.name.startsWith('declared')).map((f: { name: string }) => f.name)).toEqual([]);
  });
});
