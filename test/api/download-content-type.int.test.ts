/**
 * A file's Content-Type is a valid media type whichever way it is downloaded (red team: a stored
 * "text/plain\r\nX-Injected: 1" or "text/plain; x=€" made every download a 500 on local disk and the S3
 * HEAD a 500, put CR/LF into the presigned response-content-type, and "é" was served as
 * `Content-Type: false`). file/create and get_download_url refuse what is not a media type; a value stored
 * before they did is served as application/octet-stream. On PGlite + local disk and PostgreSQL + radosgw S3.
 */
import { type ApiClient, type LoggedInUser, serverWithUser, type TestServer } from '../support/test-server';

const BAD = ['text/plain\r\nX-Injected: 1', 'a\r\nX-Injected: 1', 'text/plain; x=\u20ac', 'é', 'text', 'jpg', 'text/plain; charset = utf-8', 'text/plain; x', `text/${'x'.repeat(300)}`];

describe.each([
  ['pglite', 'local'],
  ['pg', 's3'],
] as const)('content types on %s + %s', (dbKind, storeKind) => {
  let server: TestServer;
  let api: ApiClient;
  let user: LoggedInUser;
  serverWithUser(dbKind, storeKind, 'ctype', (ready) => ({ server, api, user } = ready));

  async function upload(name: string, contentType?: string): Promise<string> {
    const d = user.default_drive_id;
    const created = await api.ok('/v2/file/create', { drive_id: d, name, type: 'file', size: 5, ...(contentType !== undefined && { content_type: contentType }) }, user.access_token);
    expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: 'hello', headers: { 'content-length': '5' } })).status).toBe(200);
    await api.ok('/v2/file/complete', { drive_id: d, file_id: created.file_id, upload_id: created.upload_id }, user.access_token);
    return created.file_id;
  }

  /** file/download (following S3's 302), its HEAD, and the get_download_url link: status and Content-Type of each. */
  async function downloads(fileId: string) {
    const ref = { drive_id: user.default_drive_id, file_id: fileId };
    const auth = { authorization: `Bearer ${user.access_token}` };
    const path = `${api.url}/v2/file/download?${new URLSearchParams(ref)}`;
    const seen = async (res: Response) => ({ status: res.status, type: res.headers.get('content-type'), injected: res.headers.get('x-injected'), body: await res.text() });
    const link = (await api.ok('/v2/file/get_download_url', ref, user.access_token)).url as string;
    const redirect = await fetch(path, { headers: auth, redirect: 'manual' });
    await redirect.arrayBuffer();
    return {
      bearer: await seen(await fetch(path, { headers: auth })),
      head: await seen(await fetch(path, { method: 'HEAD', headers: auth })),
      link: await seen(await fetch(link)),
      signedTypes: [link, redirect.headers.get('location')].filter((u) => u !== null && u.includes('X-Amz-Signature')).map((u) => new URL(u!).searchParams.get('response-content-type')),
    };
  }

  it('refuses a content_type at file/create that is not a media type: 400 InvalidParameter.ContentType', async () => {
    for (const contentType of BAD) {
      const r = await api.call('/v2/file/create', { drive_id: user.default_drive_id, name: 'bad.txt', type: 'file', size: 5, content_type: contentType }, user.access_token);
      expect([contentType, r.status, r.body.code]).toEqual([contentType, 400, 'InvalidParameter.ContentType']);
    }
  });

  it('serves a media type with parameters as given, every way', async () => {
    const fileId = await upload('params.txt', 'text/plain; charset=utf-8; format="flowed"');
    const got = await downloads(fileId);
    for (const way of [got.bearer, got.head, got.link]) expect(way).toMatchObject({ status: 200, type: 'text/plain; charset=utf-8; format="flowed"' });
    expect(got.bearer.body).toBe('hello');
    if (storeKind === 's3') expect(got.signedTypes).toEqual(['text/plain; charset=utf-8; format="flowed"', 'text/plain; charset=utf-8; format="flowed"']);
  });

  it('takes HTAB as optional whitespace around ";" (RFC 9110 OWS) and serves it as SP, every way', async () => {
    const fileId = await upload('tab.txt', 'text/plain;\tcharset=utf-8');
    const got = await downloads(fileId);
    const type = 'text/plain; charset=utf-8';
    for (const way of [got.bearer, got.head, got.link]) expect(way).toMatchObject({ status: 200, type });
    if (storeKind === 's3') expect(got.signedTypes).toEqual([type, type]);
  });

  it('serves a content type stored before file/create checked it as application/octet-stream, every way', async () => {
    for (const stored of BAD) {
      const fileId = await upload(`stored-${BAD.indexOf(stored)}.txt`, 'text/plain');
      await server.deps.db.query(`UPDATE files SET content_type = $1 WHERE file_id = $2`, [stored, fileId]);
      const got = await downloads(fileId);
      for (const way of [got.bearer, got.head, got.link]) expect([stored, way.status, way.type, way.injected]).toEqual([stored, 200, 'application/octet-stream', null]);
      expect(got.bearer.body).toBe('hello');
      expect(got.link.body).toBe('hello');
      if (storeKind === 's3') expect(got.signedTypes).toEqual(['application/octet-stream', 'application/octet-stream']);
    }
  });

  it('refuses a response_content_type that is not a media type: 400 InvalidParameter.ResponseContentType', async () => {
    const fileId = await upload('asked.txt');
    for (const contentType of BAD) {
      const r = await api.call('/v2/file/get_download_url', { drive_id: user.default_drive_id, file_id: fileId, response_content_type: contentType }, user.access_token);
      expect([contentType, r.status, r.body.code]).toEqual([contentType, 400, 'InvalidParameter.ResponseContentType']);
    }
    const { url } = await api.ok('/v2/file/get_download_url', { drive_id: user.default_drive_id, file_id: fileId, response_content_type: 'image/png' }, user.access_token);
    const res = await fetch(url);
    expect([res.status, res.headers.get('content-type'), await res.text()]).toEqual([200, 'image/png', 'hello']);
  });
});
