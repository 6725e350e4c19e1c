/**
 * Malformed HTTP in front of the RPC layer (red team session 14, /tmp/rt-fuzz probe-raw, probe-stall,
 * probe-deep): each answered 500, 200 with the body ignored, 401 on a public call, or held the connection
 * for ever. Each is now a 4xx with a stable code. Time bounds themselves (408 after 60 s, idle sockets cut
 * after 120 s) are tested with short limits in api-server/src/shared/{json-body,server-timeouts}.test.ts.
 */
import { rawExchange } from '../../api-server/src/shared/testing/raw-exchange';
import { IDLE_SOCKET_TIMEOUT_MS } from '../../api-server/src/shared/server-timeouts';
import { ADMIN_PASSWORD, startTestServer } from '../support/test-server';

describe('bad HTTP input on pglite + local', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let port: number;
  let admin: string;

  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
    port = Number(new URL(server.url).port);
    admin = (await server.api.login('admin', ADMIN_PASSWORD)).access_token;
  });
  afterAll(() => server?.stop());

  const request = (path: string, headers: string, body = '') =>
    rawExchange(port, `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  const login = JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD });

  it('answers an unreadable body with its 4xx and a stable code, also before login', async () => {
    expect(await request('/v2/account/login', 'Content-Type: application/json; charset=bogus\r\n', login)).toMatchObject({ status: 415, body: { code: 'InvalidParameter.ContentType' } });
    expect(await request('/v2/account/login', 'Content-Type: application/json\r\nContent-Encoding: br2\r\n', login)).toMatchObject({ status: 415, body: { code: 'InvalidParameter.ContentEncoding' } });
    expect(await request('/v2/account/login', 'Content-Type: application/json\r\nContent-Encoding: gzip\r\n', login)).toMatchObject({ status: 400, body: { code: 'InvalidParameter.Body' } });
    expect(await request('/v2/user/list', `Authorization: Bearer ${admin}\r\nContent-Type: application/json; charset=bogus\r\n`, '{}')).toMatchObject({ status: 415 });
  });

  it('reads a JSON body sent with another type (not running the call with its defaults), and answers 400 to one that is not JSON', async () => {
    const auth = `Authorization: Bearer ${admin}\r\n`;
    // As a browser fetch with a string body, and curl -d, send them.
    expect(await request('/v2/user/list', `${auth}Content-Type: text/plain\r\n`, '{"limit":1}')).toMatchObject({ status: 200, body: { items: [expect.anything()] } });
    expect(await request('/v2/user/list', `${auth}Content-Type: application/x-www-form-urlencoded\r\n`, '{"limit":1}')).toMatchObject({ status: 200, body: { items: [expect.anything()] } });
    expect(await request('/v2/account/login', 'Content-Type: text/plain;charset=UTF-8\r\n', login)).toMatchObject({ status: 200, body: { access_token: expect.any(String) } });
    expect(await request('/v2/user/list', `${auth}Content-Type: application/x-www-form-urlencoded\r\n`, '{}')).toMatchObject({ status: 200 });
    expect(await request('/v2/user/list', `${auth}Content-Type: application/x-www-form-urlencoded\r\n`, 'limit=1')).toMatchObject({ status: 400, body: { code: 'InvalidParameter.Body' } });
    expect(await request('/v2/account/login', 'Content-Type: text/plain\r\n', 'admin')).toMatchObject({ status: 400, body: { code: 'InvalidParameter.Body' } });
    // A call whose body is optional still takes none, with or without a type.
    expect(await request('/v2/user/list', auth)).toMatchObject({ status: 200 });
    expect(await request('/v2/user/list', `${auth}Content-Type: text/plain\r\n`)).toMatchObject({ status: 200 });
    expect(await request('/v2/user/list', `${auth}Content-Type: application/json\r\n`, '{"limit":1}')).toMatchObject({ status: 200, body: { items: [expect.anything()] } });
  });

  it('answers an announced body over 4 MB with 413 at once, without waiting for it', async () => {
    const r = await rawExchange(port, `POST /v2/account/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${4 * 1024 * 1024 + 1}\r\n\r\n{`);
    expect(r).toMatchObject({ status: 413, closed: true, body: { code: 'InvalidParameter.Body' } });
    expect(r.ms).toBeLessThan(2000);
  });

  it("answers what Node's HTTP parser refuses (a query string past 16 KiB, an unknown method) with a stable code, not a bare status", async () => {
    const longQuery = await rawExchange(port, `GET /v2/file/download?drive_id=x&file_id=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${admin}\r\n\r\n`);
    expect(longQuery).toMatchObject({ status: 431, closed: true, body: { code: 'InvalidParameter.Headers', message: expect.any(String), request_id: expect.any(String) } });
    const method = await rawExchange(port, 'FOO /v2/file/list HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(method).toMatchObject({ status: 400, closed: true, body: { code: 'InvalidParameter.Method' } });
  });

  it('serves a route under its registered spelling only: any other is a 404, never a public call or a protected one without a token', async () => {
    for (const path of ['/V2/ACCOUNT/LOGIN', '/v2/account/login/', '/v2/Account/Login', '/v2/account/login//']) {
      const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: login });
      expect([path, res.status, ((await res.json()) as { code: string }).code]).toEqual([path, 404, 'NotFound.Route']);
    }
    for (const path of ['/V2/USER/LIST', '/v2/user/list/', '/v2/User/List', '/V2/user/list'])
      for (const token of [undefined, admin]) {
        const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: '{}' });
        await res.arrayBuffer();
        expect([path, Boolean(token), res.status]).toEqual([path, Boolean(token), 404]);
      }
    const download = await fetch(`${server.url}/V2/FILE/DOWNLOAD?drive_id=x&file_id=y`);
    expect(download.status).toBe(404);
    await download.arrayBuffer();
    // The registered spellings are unchanged.
    expect((await server.api.call('/v2/account/login', { username: 'admin', password: ADMIN_PASSWORD })).status).toBe(200);
    expect((await server.api.call('/v2/user/list', {})).status).toBe(401);
  });

  it('refuses user_data nested thousands of levels deep with 400 InvalidParameter.UserData, not a 500', async () => {
    const deep = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const user = await server.api.ok('/v2/user/create', { user_name: 'deep-user' }, admin);
    const auth = `Authorization: Bearer ${admin}\r\nContent-Type: application/json\r\n`;
    for (const depth of [65, 5000, 100_000]) {
      const update = await request('/v2/user/update', auth, `{"user_id":"${user.user_id}","user_data":${deep(depth)}}`);
      expect([depth, update.status, update.body?.code]).toEqual([depth, 400, 'InvalidParameter.UserData']);
    }
    const create = await request('/v2/user/create', auth, `{"user_name":"deeper","user_data":${deep(5000)}}`);
    expect([create.status, create.body?.code]).toEqual([400, 'InvalidParameter.UserData']);
    const ok = await request('/v2/user/update', auth, `{"user_id":"${user.user_id}","user_data":${deep(60)}}`);
    expect(ok.status).toBe(200);
    expect((await server.api.call('/v2/user/get', { user_id: user.user_id }, admin)).status).toBe(200);
  });

  it('refuses user_data with a key named __proto__ (it was dropped silently) and keeps what was stored', async () => {
    const user = await server.api.ok('/v2/user/create', { user_name: 'proto-user', user_data: { team: 'a' } }, admin);
    const auth = `Authorization: Bearer ${admin}\r\nContent-Type: application/json\r\n`;
    const update = await request('/v2/user/update', auth, `{"user_id":"${user.user_id}","user_data":{"__proto__":{"role":"admin"},"team":"b"}}`);
    expect([update.status, update.body?.code]).toEqual([400, 'InvalidParameter.UserData']);
    const create = await request('/v2/user/create', auth, '{"user_name":"proto-two","user_data":{"__proto__":1}}');
    expect([create.status, create.body?.code]).toEqual([400, 'InvalidParameter.UserData']);
    expect((await server.api.ok('/v2/user/get', { user_id: user.user_id }, admin)).user_data).toEqual({ team: 'a' });
    // Not created: the name is free.
    expect((await server.api.call('/v2/user/create', { user_name: 'proto-two' }, admin)).status).toBe(201);
  });

  it('limits idleness, not duration, on the server', () => {
    expect([server.server.timeout, server.server.requestTimeout]).toEqual([IDLE_SOCKET_TIMEOUT_MS, 0]);
  });
});
