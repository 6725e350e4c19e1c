/**
 * A request whose client goes away before the response has finished is logged once, with `aborted: true`
 * and status 499, and its duration observed under status 499. Only finished responses were logged: an
 * abandoned download, upload or slow call left no trace (red team, aborted.sh).
 */
import net from 'node:net';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../support/test-server';

type Line = { req_id?: string; route?: string; status?: number; aborted?: boolean; ms?: number };

describe('requests the client abandons', () => {
  let server: TestServer;
  let lines: Line[];
  let info: jest.SpyInstance;
  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
  });
  beforeEach(() => {
    lines = [];
    info = jest.spyOn(server.deps.logger, 'info').mockImplementation(((fields: Line, msg?: string) => void (msg === 'request' && lines.push(fields))) as never);
  });
  afterEach(() => info.mockRestore());
  afterAll(() => server?.stop());

  const waitFor = async <T>(find: () => T | undefined): Promise<T> => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = find();
      if (found !== undefined || Date.now() > deadline) return found as T;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const observations = async (route: string, status: string) => {
    const text = await server.deps.metrics.registry.metrics();
    const line = text.split('\n').find((l) => l.startsWith('openpds_http_request_duration_seconds_count{') && l.includes(`route="${route}"`) && l.includes(`status="${status}"`));
    return Number(line?.split(' ').pop() ?? 0);
  };

  it('logs and observes a call given up while its handler runs, once, as 499 aborted', async () => {
    const { access_token } = await server.api.login('admin', ADMIN_PASSWORD);
    const drives = server.services.drives;
    const getDefault = drives.getDefault;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    drives.getDefault = (async (...args: Parameters<typeof getDefault>) => {
      await held;
      return getDefault(...args);
    }) as typeof getDefault;
    const before = await observations('/v2/drive/get_default_drive', '499');
    try {
      const controller = new AbortController();
      const call = fetch(`${server.url}/v2/drive/get_default_drive`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${access_token}`, 'x-request-id': 'abandoned-1' },
        body: '{}',
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(), 300);
      await expect(call).rejects.toThrow();
      const line = await waitFor(() => lines.find((l) => l.req_id === 'abandoned-1'));
      expect(line).toMatchObject({ route: '/v2/drive/get_default_drive', status: 499, aborted: true });
      expect(line.ms).toBeGreaterThanOrEqual(250);
      expect(await observations('/v2/drive/get_default_drive', '499')).toBe(before + 1);
    } finally {
      release();
      drives.getDefault = getDefault;
    }
    // The handler then answers a closed connection: no second line.
    await new Promise((r) => setTimeout(r, 300));
    expect(lines.filter((l) => l.req_id === 'abandoned-1')).toHaveLength(1);
  });

  it('logs a body the client stopped sending half-way as 499 aborted, under its route', async () => {
    const port = Number(new URL(server.url).port);
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('POST /v2/account/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nX-Request-Id: half-body\r\n\r\n{"user');
    await new Promise((r) => setTimeout(r, 200));
    socket.destroy();
    const line = await waitFor(() => lines.find((l) => l.req_id === 'half-body'));
    expect(line).toMatchObject({ route: '/v2/account/login', status: 499, aborted: true });
    await new Promise((r) => setTimeout(r, 200));
    expect(lines.filter((l) => l.req_id === 'half-body')).toHaveLength(1);
  });

  it('logs a finished request once, without `aborted`', async () => {
    await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'finished-1' } }).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 200));
    const mine = lines.filter((l) => l.req_id === 'finished-1');
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ status: 200 });
    expect(mine[0]).not.toHaveProperty('aborted');
  });
});
