/**
 * The request log line names the client's address (as the login throttle resolves it: X-Forwarded-For
 * only from a proxy OPENPDS_TRUST_PROXY trusts) and the authenticated caller's user_id. It had neither
 * (red team, bruteforce.sh: a password-guessing client could not be told from the log).
 */
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../support/test-server';

type Line = { req_id?: string; route?: string; status?: number; client_ip?: string; user_id?: string };

describe.each([
  ['trusting loopback (the default)', {}, '203.0.113.7'],
  ['trusting no proxy', { OPENPDS_TRUST_PROXY: '' }, '127.0.0.1'],
])('the request log line, %s', (_what, extra: Record<string, string>, expectedClient) => {
  let server: TestServer;
  let lines: Line[];
  let info: jest.SpyInstance;
  beforeAll(async () => {
    server = await startTestServer('pglite', 'local', extra);
  });
  beforeEach(() => {
    lines = [];
    info = jest.spyOn(server.deps.logger, 'info').mockImplementation(((fields: Line, msg?: string) => void (msg === 'request' && lines.push(fields))) as never);
  });
  afterEach(() => info.mockRestore());
  afterAll(() => server?.stop());

  const post = (path: string, id: string, token?: string) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': id, 'x-forwarded-for': '203.0.113.7', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: '{}',
    }).then((r) => r.text());
  const lineOf = async (id: string) => {
    await new Promise((r) => setTimeout(r, 50));
    return lines.find((l) => l.req_id === id);
  };

  it('names the client address and the authenticated user', async () => {
    const { access_token, user_id } = await server.api.login('admin', ADMIN_PASSWORD);
    await post('/v2/drive/get_default_drive', 'with-token', access_token);
    expect(await lineOf('with-token')).toMatchObject({ route: '/v2/drive/get_default_drive', status: 200, client_ip: expectedClient, user_id });
  });

  it('names the client address of a call without a user, and no user_id', async () => {
    await post('/v2/drive/get_default_drive', 'no-token');
    const line = await lineOf('no-token');
    expect(line).toMatchObject({ status: 401, client_ip: expectedClient });
    expect(line).not.toHaveProperty('user_id');
  });
});
