import { createServer, type Server } from 'node:http';
import { answerClientErrors } from './client-errors';
import { applyServerTimeouts } from './server-timeouts';
import { closeNow, listenOnLoopback, rawExchange } from './testing/raw-exchange';

describe("requests Node's parser refuses answer {code, message, request_id} and close", () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer({ connectionsCheckingInterval: 100 }, (_req, res) => res.end('{"ok":true}'));
    applyServerTimeouts(server, { idleMs: 10_000, headersMs: 500 });
    answerClientErrors(server);
    port = await listenOnLoopback(server);
  });
  afterAll(async () => {
    await closeNow(server);
  });

  it.each([
    ['a query string past the header limit', `GET /v2/file/download?file_id=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, 'InvalidParameter.Headers'],
    ['a Range header past the header limit', `GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=${'0-0,'.repeat(5000)}0-0\r\n\r\n`, 431, 'InvalidParameter.Headers'],
    ['an unknown method', 'FOO /v2/file/list HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'InvalidParameter.Method'],
    ['a malformed header line', 'POST /v2/file/list HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 400, 'InvalidParameter.Request'],
  ])('%s', async (_label, payload, status, code) => {
    const r = await rawExchange(port, payload);
    expect(r).toMatchObject({ status, closed: true, body: { code, message: expect.any(String), request_id: expect.any(String) } });
  });

  it('headers not received within the headers timeout: 408 RequestTimeout.Headers', async () => {
    const r = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n', { waitMs: 5000 });
    expect(r).toMatchObject({ status: 408, closed: true, body: { code: 'RequestTimeout.Headers' } });
  });

  it('leaves well-formed requests alone', async () => {
    const r = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(r).toMatchObject({ status: 200, body: { ok: true } });
  });
});
