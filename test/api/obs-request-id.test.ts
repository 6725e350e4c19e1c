/**
 * A caller's X-Request-Id is echoed, and logged, only when it is a plain token ([A-Za-z0-9._:-]{1,128});
 * any other value gets a fresh id. Tabs, quotes, latin-1 bytes and 128-character slices of longer values
 * used to be echoed as sent (red team, /tmp/redobs/reqid.mjs).
 */
import net from 'node:net';
import { startTestServer, type TestServer } from '../support/test-server';

/** One raw GET with the header bytes as given (fetch refuses some of them); the echoed id. */
function echoedRequestId(port: number, id: Buffer): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => (data = Buffer.concat([data, d])));
    socket.on('error', () => resolve(undefined));
    socket.on('close', () => resolve(/\r\nx-request-id: ([^\r]*)/i.exec(data.toString('latin1'))?.[1]));
    socket.write(Buffer.concat([Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Request-Id: '), id, Buffer.from('\r\n\r\n')]));
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('X-Request-Id', () => {
  let server: TestServer;
  let port: number;
  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
    port = Number(new URL(server.url).port);
  });
  afterAll(() => server?.stop());

  it.each(['3f2b8c1e-9d4a-4c56-8e0f-1a2b3c4d5e6f', 'req-42', 'trace:00.af_7', 'A'.repeat(128)])('keeps the plain id %s', async (id) => {
    expect(await echoedRequestId(port, Buffer.from(id))).toBe(id);
  });

  it.each([
    ['a tab', Buffer.from('abc\tdef')],
    ['quotes', Buffer.from('x","level":60,"msg":"FORGED')],
    ['latin-1 bytes', Buffer.from([0x61, 0xe9, 0xff, 0x62])],
    ['UTF-8', Buffer.from('id-é-😀')],
    ['129 characters', Buffer.from('A'.repeat(129))],
    ['8000 characters', Buffer.from('A'.repeat(8000))],
  ])('replaces an id with %s by a fresh one, in the header and the log', async (_what, id) => {
    const info = jest.spyOn(server.deps.logger, 'info');
    try {
      const echoed = await echoedRequestId(port, id);
      expect(echoed).toMatch(UUID);
      const logged = info.mock.calls.map(([fields]) => fields as { req_id?: string }).find((f) => f.req_id !== undefined);
      expect(logged?.req_id).toBe(echoed);
    } finally {
      info.mockRestore();
    }
  });

  // Node's parser refuses a header value with control characters before the app: its 400 carries a fresh
  // id of its own (client-errors.ts), never the one sent.
  it.each([['an escape sequence', Buffer.from('\x1b[31mRED', 'latin1')], ['DEL', Buffer.from('abc\x7fdef')]])('never echoes an id with %s', async (_what, id) => {
    expect(await echoedRequestId(port, id)).toMatch(UUID);
  });
});
