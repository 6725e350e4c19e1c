/**
 * A signed local-disk download URL is the holder's to use, not to rewrite. The red team's forgery: a
 * get_download_url file_name carrying "\n<param>=…" lines, re-split into real parameters, named another
 * user's object and never expired (url-signer.test.ts replays it against the signer). Here, against a real
 * data plane on PGlite + local disk: such a file_name is refused, and a link changes only by being re-issued.
 */
import { randomBytes } from 'node:crypto';
import { startTestServer, ADMIN_PASSWORD, type ApiClient } from '../support/test-server';

describe('signed download URLs cannot be rewritten (pglite + local)', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let api: ApiClient;
  const users: Record<string, { access_token: string; default_drive_id: string }> = {};

  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
    api = server.api;
    const admin = await api.login('admin', ADMIN_PASSWORD);
    for (const name of ['alice', 'bob']) {
      await api.ok('/v2/user/create', { user_name: name, password: `${name}-password` }, admin.access_token);
      users[name] = await api.login(name, `${name}-password`);
    }
  });
  afterAll(() => server?.stop());

  async function upload(owner: string, name: string, content: Buffer) {
    const { access_token: token, default_drive_id: d } = users[owner]!;
    const created = await api.ok('/v2/file/create', { drive_id: d, name, type: 'file', size: content.length }, token);
    expect((await fetch(created.part_info_list[0].upload_url, { method: 'PUT', body: content })).status).toBe(200);
    await api.ok('/v2/file/complete', { drive_id: d, file_id: created.file_id, upload_id: created.upload_id }, token);
    await server.services.jobs.drain();
    return created.file_id as string;
  }

  it('a link to a file named with newlines downloads, and verifies only as issued', async () => {
    // A name stored before OpenPDS refused control characters in new ones (names.ts) may hold a newline,
    // as PDS allows; the URL carries the name, signed. (A name cannot hold a key, which has a '/';
    // get_download_url's file_name could, before the two fixes tested here.)
    const trap = 'x\nexpires=9999999999\nname=stolen.txt';
    const file = await upload('alice', 'x.txt', randomBytes(10));
    await server.deps.db.query(`UPDATE files SET name = $1 WHERE file_id = $2`, [trap, file]);
    const link = new URL((await api.ok('/v2/file/get_download_url', { drive_id: users.alice!.default_drive_id, file_id: file }, users.alice!.access_token)).url);
    const ok = await fetch(link);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-disposition')).not.toMatch(/[\r\n]/);

    const changed = (edit: (q: URLSearchParams) => void) => {
      const q = new URLSearchParams(link.search);
      edit(q);
      return fetch(`${link.origin}${link.pathname}?${q}`);
    };
    for (const res of [
      await changed((q) => q.set('expires', '9999999999')),
      await changed((q) => q.append('key', 'blobs/other')),
      await changed((q) => q.set('disposition', 'inline')),
    ]) {
      expect(res.status).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe('Forbidden.InvalidSignature');
    }
  });

  it('a file_name or response_content_type with control characters is refused with 400', async () => {
    const file = await upload('alice', 'plain.txt', randomBytes(10));
    for (const body of [{ file_name: 'a\nb' }, { response_content_type: 'text/plain\r\nx: y' }]) {
      const res = await api.call('/v2/file/get_download_url', { drive_id: users.alice!.default_drive_id, file_id: file, ...body }, users.alice!.access_token);
      expect(res.status).toBe(400);
      expect(res.body.code).toMatch(/^InvalidParameter/);
    }
  });
});
