/**
 * What a download link from file/get_download_url does once its file's state changes before it expires.
 * Local disk (PGlite and PostgreSQL): the link is this server's, checked at each request: a drive disabled
 * since answers 403 Forbidden.DriveDisabled and works again once enabled; a file trashed since answers 404
 * NotFound.File and works again once restored; a file or revision deleted since answers 404. Range, ETag
 * and HEAD work as before, and each request costs one database statement. S3 (PostgreSQL + radosgw): the
 * link is a presigned URL nothing can revoke, so it keeps working until it expires, which is when the
 * call asked for (expire_sec, at most 32 h) or OPENPDS_DOWNLOAD_URL_TTL.
 */
import { ADMIN_PASSWORD, createLoggedInUser, startTestServer, withJobsHeld, type ApiClient } from '../support/test-server';

type Server = Awaited<ReturnType<typeof startTestServer>>;

async function fetchLink(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init);
  const body = Buffer.from(await res.arrayBuffer());
  const code = body.length && res.headers.get('content-type')?.startsWith('application/json') ? (JSON.parse(body.toString()) as { code: string }).code : undefined;
  return { status: res.status, body, code, headers: res.headers };
}

function setUp(dbKind: 'pglite' | 'pg', storeKind: 'local' | 's3', extra: Record<string, string> = {}) {
  const ctx = {} as { server: Server; api: ApiClient; admin: string; token: string; drive: string };
  beforeAll(async () => {
    ctx.server = await startTestServer(dbKind, storeKind, extra);
    ctx.api = ctx.server.api;
    ctx.admin = (await ctx.api.login('admin', ADMIN_PASSWORD)).access_token;
    const user = await createLoggedInUser(ctx.api, 'linker');
    ctx.token = user.access_token;
    ctx.drive = user.default_drive_id;
  });
  afterAll(() => ctx.server?.stop());

  const upload = async (name: string, content: string, mode = 'auto_rename') => {
    const created = await ctx.api.ok('/v2/file/create', { drive_id: ctx.drive, parent_file_id: 'root', name, type: 'file', size: content.length, check_name_mode: mode }, ctx.token);
    expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content })).status).toBe(200);
    return ctx.api.ok('/v2/file/complete', { drive_id: ctx.drive, file_id: created.file_id, upload_id: created.upload_id }, ctx.token);
  };
  const link = async (fileId: string, extra: Record<string, unknown> = {}) =>
    ctx.api.ok('/v2/file/get_download_url', { drive_id: ctx.drive, file_id: fileId, ...extra }, ctx.token) as Promise<{ url: string; expiration: string }>;
  const setDriveStatus = (status: string) => ctx.api.ok('/v2/drive/update', { drive_id: ctx.drive, status }, ctx.admin);
  return { ctx, upload, link, setDriveStatus };
}

describe.each(['pglite', 'pg'] as const)('download links on %s + local disk', (dbKind) => {
  const { ctx, upload, link, setDriveStatus } = setUp(dbKind, 'local');

  it('answer 403 Forbidden.DriveDisabled to GET and HEAD while the drive is disabled, and work again once it is enabled', async () => {
    const file = await upload('disabled.txt', 'hello');
    const { url } = await link(file.file_id);
    expect((await fetchLink(url)).body.toString()).toBe('hello');
    await setDriveStatus('disabled');
    try {
      expect(await fetchLink(url)).toMatchObject({ status: 403, code: 'Forbidden.DriveDisabled' });
      expect((await fetchLink(url, { method: 'HEAD' })).status).toBe(403);
      // Disabled wins over trashed, as on every call on the drive.
      await ctx.server.deps.db.query(`UPDATE files SET trashed_at = now() WHERE file_id = $1`, [file.file_id]);
      expect(await fetchLink(url)).toMatchObject({ status: 403, code: 'Forbidden.DriveDisabled' });
      await ctx.server.deps.db.query(`UPDATE files SET trashed_at = NULL WHERE file_id = $1`, [file.file_id]);
    } finally {
      await setDriveStatus('enabled');
    }
    expect(await fetchLink(url)).toMatchObject({ status: 200 });
  });

  it('answer 404 NotFound.File once the file is trashed, and work again once it is restored', async () => {
    const file = await upload('trashed.txt', 'in the bin');
    const { url } = await link(file.file_id);
    await ctx.api.ok('/v2/recyclebin/trash', { drive_id: ctx.drive, file_id: file.file_id }, ctx.token);
    expect(await fetchLink(url)).toMatchObject({ status: 404, code: 'NotFound.File' });
    expect((await fetchLink(url, { method: 'HEAD' })).status).toBe(404);
    await ctx.api.ok('/v2/recyclebin/restore', { drive_id: ctx.drive, file_id: file.file_id }, ctx.token);
    expect((await fetchLink(url)).body.toString()).toBe('in the bin');
  });

  it('answer 404 for a file in a folder trashed since', async () => {
    const folder = await ctx.api.ok('/v2/file/create', { drive_id: ctx.drive, parent_file_id: 'root', name: 'dir', type: 'folder' }, ctx.token);
    const created = await ctx.api.ok('/v2/file/create', { drive_id: ctx.drive, parent_file_id: folder.file_id, name: 'inner.txt', type: 'file', size: 5 }, ctx.token);
    await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: 'inner' });
    await ctx.api.ok('/v2/file/complete', { drive_id: ctx.drive, file_id: created.file_id, upload_id: created.upload_id }, ctx.token);
    const { url } = await link(created.file_id);
    await ctx.api.ok('/v2/recyclebin/trash', { drive_id: ctx.drive, file_id: folder.file_id }, ctx.token);
    expect(await fetchLink(url)).toMatchObject({ status: 404, code: 'NotFound.File' });
  });

  it('answer 404 once the file is deleted, or the revision they name is', async () => {
    const gone = await upload('deleted.txt', 'gone soon');
    const goneUrl = (await link(gone.file_id)).url;
    await ctx.api.ok('/v2/file/delete', { drive_id: ctx.drive, file_id: gone.file_id }, ctx.token);
    expect(await fetchLink(goneUrl)).toMatchObject({ status: 404, code: 'NotFound.File' });

    const v1 = await upload('doc.txt', 'version one');
    const v1Url = (await link(v1.file_id)).url;
    const v2 = await upload('doc.txt', 'version two', 'overwrite');
    expect(v2.file_id).toBe(v1.file_id);
    // A new revision does not end a link: it serves the bytes it was issued for until its revision goes.
    expect((await fetchLink(v1Url)).body.toString()).toBe('version one');
    await ctx.api.ok('/v2/file/revision/delete', { drive_id: ctx.drive, file_id: v1.file_id, revision_id: v1.revision_id }, ctx.token);
    expect(await fetchLink(v1Url)).toMatchObject({ status: 404, code: 'NotFound.File' });
    expect((await fetchLink((await link(v2.file_id)).url)).body.toString()).toBe('version two');
  });

  it('keep Range, ETag and HEAD, with one database statement per request', async () => {
    const content = '0123456789abcdef';
    const file = await upload('ranged.txt', content);
    const { url } = await link(file.file_id);
    const head = await fetchLink(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(content.length));
    const etag = head.headers.get('etag')!;
    // The ETag file/download gives for the same content (download-etag.ts).
    const streamed = await fetch(`${ctx.api.url}/v2/file/download?drive_id=${ctx.drive}&file_id=${file.file_id}`, { method: 'HEAD', headers: { authorization: `Bearer ${ctx.token}` } });
    expect(streamed.headers.get('etag')).toBe(etag);

    const ranged = await fetchLink(url, { headers: { range: 'bytes=4-7' } });
    expect([ranged.status, ranged.body.toString(), ranged.headers.get('content-range')]).toEqual([206, '4567', `bytes 4-7/${content.length}`]);
    expect((await fetchLink(url, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetchLink(url, { headers: { 'if-match': '"other"' } })).status).toBe(412);
    const resumed = await fetchLink(url, { headers: { range: 'bytes=10-', 'if-range': '"stale"' } });
    expect([resumed.status, resumed.body.toString()]).toEqual([200, content]);

    // With the job runner stopped, nothing else in this process queries meanwhile.
    await withJobsHeld(ctx.server, async () => {
      const query = jest.spyOn(ctx.server.deps.db, 'query');
      try {
        expect((await fetchLink(url)).status).toBe(200);
        expect((await fetchLink(url, { method: 'HEAD' })).status).toBe(200);
        expect(query).toHaveBeenCalledTimes(2);
      } finally {
        query.mockRestore();
      }
    });
  });

  it('are refused unread when their signature does not match: drive_id and file_id are signed', async () => {
    const file = await upload('signed.txt', 'signed');
    const other = await upload('other.txt', 'other');
    const url = new URL((await link(file.file_id)).url);
    url.searchParams.set('file_id', other.file_id);
    expect(await fetchLink(url.toString())).toMatchObject({ status: 403, code: 'Forbidden.InvalidSignature' });
  });
});

describe('download links on pg + s3 (radosgw)', () => {
  const { ctx, upload, link, setDriveStatus } = setUp('pg', 's3');

  it('are presigned URLs that keep working after the drive is disabled, until they expire, which is when the call asked', async () => {
    const file = await upload('presigned.txt', 'presigned');
    const short = await link(file.file_id, { expire_sec: 2 });
    const byDefault = await link(file.file_id);
    // OPENPDS_DOWNLOAD_URL_TTL (900 s) when the call gives none; expire_sec at most 32 h.
    expect(new URL(byDefault.url).searchParams.get('X-Amz-Expires')).toBe('900');
    expect((await ctx.api.call('/v2/file/get_download_url', { drive_id: ctx.drive, file_id: file.file_id, expire_sec: 115_201 }, ctx.token)).status).toBe(400);
    expect(new URL((await link(file.file_id, { expire_sec: 115_200 })).url).searchParams.get('X-Amz-Expires')).toBe('115200');

    await setDriveStatus('disabled');
    try {
      expect((await ctx.api.call('/v2/file/get_download_url', { drive_id: ctx.drive, file_id: file.file_id }, ctx.token)).body.code).toBe('Forbidden.DriveDisabled');
      // The known limit: S3 serves the URL itself, and nothing can revoke it before it expires.
      expect((await fetchLink(byDefault.url)).body.toString()).toBe('presigned');
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      expect((await fetch(short.url)).status).toBe(403);
    } finally {
      await setDriveStatus('enabled');
    }
  });
});
