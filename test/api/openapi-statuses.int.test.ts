/**
 * The OpenAPI document declares the statuses calls answer: each route's success status (201 for creates,
 * 204 for deletes without a body, the download's 206 and 302), the errors every call may answer (400, 401,
 * 403, 404, 408, 413, 415, 500, 503, 507) and a route's own (409, 429). It declared 200 and 4XX for everything.
 */
import { DB_KINDS } from '../support/test-db';
import { ADMIN_PASSWORD, startTestServer } from '../support/test-server';

type Operation = { responses: Record<string, { description: string; content?: Record<string, { schema: { $ref: string } }> }>; security: unknown[] };
type Doc = { paths: Record<string, Record<string, Operation>> };

describe.each(DB_KINDS)('OpenAPI statuses on %s', (dbKind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let doc: Doc;
  const statuses = (path: string, method = 'post') => Object.keys(doc.paths[path]![method]!.responses);

  beforeAll(async () => {
    server = await startTestServer(dbKind, 'local');
    doc = (await (await fetch(`${server.url}/v2/openapi.json`)).json()) as Doc;
  });
  afterAll(() => server?.stop());

  it('declares on every operation its success, the common errors with the Error body, and a catch-all 4XX', () => {
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));
    expect(operations.length).toBeGreaterThan(30);
    for (const { path, method, op } of operations) {
      const declared = Object.keys(op.responses);
      const authenticated = op.security.length > 0;
      const expected = ['400', '500', '503', '507', '4XX', ...(authenticated ? ['401', '403', '404'] : []), ...(method === 'post' ? ['408', '413', '415'] : [])];
      expect([path, method, declared]).toEqual([path, method, expect.arrayContaining(expected)]);
      // One success status (a download's 206 is a part of its 200).
      expect([path, declared.filter((s) => /^2/.test(s) && s !== '206')]).toEqual([path, [expect.stringMatching(/^20[014]$/)]]);
      for (const [status, response] of Object.entries(op.responses))
        if (/^[45]/.test(status)) expect([path, status, response.content?.['application/json']?.schema.$ref]).toEqual([path, status, '#/components/schemas/Error']);
    }
  });

  it('declares 201, 204, the download statuses and a route\'s own errors where they are answered', () => {
    expect(statuses('/v2/user/create')).toEqual(expect.arrayContaining(['201', '409']));
    expect(statuses('/v2/drive/create')).toEqual(expect.arrayContaining(['201', '409']));
    expect(statuses('/v2/user/update')).toEqual(expect.arrayContaining(['200', '429']));
    for (const path of ['/v2/user/create', '/v2/drive/create', '/v2/user/delete', '/v2/drive/delete']) expect([path, statuses(path)]).not.toEqual([path, expect.arrayContaining(['200'])]);
    expect(statuses('/v2/user/delete')).toContain('204');
    expect(statuses('/v2/drive/delete')).toContain('204');
    expect(statuses('/v2/file/revision/delete')).toContain('204');
    expect(statuses('/v2/file/delete')).toContain('204');
    expect(statuses('/v2/recyclebin/trash')).toContain('204');
    expect(statuses('/v2/file/download', 'get')).toEqual(expect.arrayContaining(['200', '206', '302', '304', '412', '416']));
    expect(statuses('/v2/account/login')).toEqual(expect.arrayContaining(['200', '401']));
    // Not the 404 of the calls with a token; its 403 is its own (a disabled user), declared in auth.routes.ts.
    expect(statuses('/v2/account/login')).not.toContain('404');
  });

  it('declares the conflicts and throttles routes answer, and 507 (a full database or blob volume) everywhere', () => {
    // Every answer a suite meets is checked against these under test (rpc.ts declaredStatusCheck); these
    // were answered but left to the 4XX catch-all until red team F4.
    expect(statuses('/v2/file/create')).toEqual(expect.arrayContaining(['201', '409', '429'])); // PreHashMatched, AlreadyExist.File, LimitExceeded.OpenUploads
    expect(statuses('/v2/account/login')).toEqual(expect.arrayContaining(['403', '429'])); // Forbidden.UserDisabled, TooManyRequests.Login
    expect(statuses('/v2/account/token')).toContain('403'); // Forbidden.UserDisabled, as login
    for (const path of ['/v2/file/complete', '/v2/file/move', '/v2/file/copy', '/v2/file/update', '/v2/file/list_uploaded_parts', '/v2/file/get_download_url']) expect([path, statuses(path)]).toEqual([path, expect.arrayContaining(['409'])]);
    expect(statuses('/v2/file/download', 'get')).toContain('409'); // ContentReplaced
    for (const [path, ops] of Object.entries(doc.paths)) for (const method of Object.keys(ops)) expect([method, path, statuses(path, method)]).toEqual([method, path, expect.arrayContaining(['507'])]);
  });

  it('the answers match: creates 201, deletes 204, and a call without a token a status its operation declares', async () => {
    const admin = (await server.api.login('admin', ADMIN_PASSWORD)).access_token;
    const user = await server.api.call('/v2/user/create', { user_name: 'openapi-user' }, admin);
    expect(user.status).toBe(201);
    const drive = await server.api.call('/v2/drive/create', { drive_name: 'd', owner: user.body.user_id }, admin);
    expect(drive.status).toBe(201);
    expect((await server.api.call('/v2/drive/delete', { drive_id: drive.body.drive_id }, admin)).status).toBe(204);
    expect((await server.api.call('/v2/user/delete', { user_id: user.body.user_id }, admin)).status).toBe(204);
    for (const [path, ops] of Object.entries(doc.paths))
      for (const method of Object.keys(ops)) {
        const res = await fetch(`${server.url}${path}`, { method: method.toUpperCase(), headers: { 'content-type': 'application/json' }, body: method === 'get' ? undefined : '{}' });
        await res.arrayBuffer();
        expect([method, path, statuses(path, method)]).toEqual([method, path, expect.arrayContaining([String(res.status)])]);
      }
  });
});
