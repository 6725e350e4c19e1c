/**
 * file/download on S3 for a one-part upload whose content is not hashed yet, after its key was written
 * again through the still-valid presigned PUT. Every path (the 302 redirect, the stream through the server
 * with OPENPDS_DOWNLOAD_REDIRECT=false, and HEAD, which is always answered here) seals the content first:
 * replaced with another size, it answers 409 ContentReplaced, never the first bytes of the new object; and
 * once sealed, a later PUT to the upload URL changes nothing that is served. PostgreSQL + radosgw S3.
 */
import { randomBytes } from 'node:crypto';
import { createLoggedInUser, startTestServer, withJobsHeld, type ApiClient } from '../support/test-server';

const MiB = 1024 ** 2;

describe.each([
  ['streamed', { OPENPDS_DOWNLOAD_REDIRECT: 'false' }],
  ['redirected', {}],
] as const)('file/download of a one-part upload replaced after complete (pg + s3, %s)', (_name, extra) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  let user: { access_token: string; default_drive_id: string };

  beforeAll(async () => {
    server = await startTestServer('pg', 's3', extra);
    api = server.api;
    user = await createLoggedInUser(api, 'replaced');
  });
  afterAll(() => server?.stop());

  const beforeHashing = <T>(fn: () => Promise<T>): Promise<T> => withJobsHeld(server, fn);
  /** No size declared: the upload URL then takes a body of any length (a declared one is signed into it). */
  async function upload(name: string, content: Buffer) {
    const d = user.default_drive_id;
    const created = await api.ok('/v2/file/create', { drive_id: d, name, type: 'file', check_name_mode: 'auto_rename', part_info_list: [{ part_number: 1 }] }, user.access_token);
    const uploadUrl = created.part_info_list[0].upload_url as string;
    expect((await fetch(uploadUrl, { method: 'PUT', body: content })).status).toBe(200);
    const file = await api.ok('/v2/file/complete', { drive_id: d, file_id: created.file_id, upload_id: created.upload_id }, user.access_token);
    return { fileId: file.file_id as string, uploadUrl };
  }
  async function download(fileId: string, method: 'GET' | 'HEAD' = 'GET') {
    const res = await fetch(`${api.url}/v2/file/download?drive_id=${user.default_drive_id}&file_id=${fileId}`, { method, headers: { authorization: `Bearer ${user.access_token}` } });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, body, json: () => JSON.parse(body.toString()) as { code: string } };
  }

  it('answers 409 ContentReplaced to GET and HEAD, never a 200 of the new object cut to the completed size', async () => {
    await beforeHashing(async () => {
      const { fileId, uploadUrl } = await upload('swapped.bin', randomBytes(MiB));
      expect((await fetch(uploadUrl, { method: 'PUT', body: randomBytes(2 * MiB) })).status).toBe(200);
      expect((await download(fileId, 'HEAD')).status).toBe(409);
      const got = await download(fileId);
      expect([got.status, got.json().code]).toEqual([409, 'ContentReplaced']);
    });
  });

  it('serves the completed bytes, and still them after another PUT to the upload URL', async () => {
    const content = randomBytes(MiB);
    await beforeHashing(async () => {
      const { fileId, uploadUrl } = await upload('kept.bin', content);
      const head = await download(fileId, 'HEAD');
      expect(head.status).toBe(200);
      // Sealed by that HEAD: the upload key is no longer the file's content.
      expect((await fetch(uploadUrl, { method: 'PUT', body: randomBytes(MiB) })).status).toBe(200);
      const got = await download(fileId);
      expect(got.status).toBe(200);
      expect(got.body.equals(content)).toBe(true);
    });
  });
});
