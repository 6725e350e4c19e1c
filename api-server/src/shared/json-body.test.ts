import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import pino from 'pino';
import { createErrorMiddleware } from './error-middleware';
import { createJsonBodyParser } from './json-body';
import { rawExchange } from './testing/raw-exchange';

describe('JSON bodies of /v2 calls', () => {
  let server: Server;
  let port: number;
  const logs: { level: number; msg: string }[] = [];

  beforeAll(async () => {
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const app = express();
    app.use('/v2', ...createJsonBodyParser({ receiveTimeoutMs: 300, limitBytes: 1000 }));
    app.post('/v2/echo', (req, res) => void res.json({ body: req.body ?? null }));
    app.use(createErrorMiddleware(logger));
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const post = (headers: string, body = '') => `POST /v2/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

  it('answers body-parser refusals with their 4xx and a stable code, never a 500', async () => {
    expect(await rawExchange(port, post('Content-Type: application/json; charset=bogus\r\n', '{}'))).toMatchObject({ status: 415, body: { code: 'InvalidParameter.ContentType', message: expect.stringMatching(/charset "bogus".*UTF-8/) } });
    expect(await rawExchange(port, post('Content-Type: application/json; charset=utf-16\r\n', '{}'))).toMatchObject({ status: 400, body: { code: 'InvalidParameter.Body' } });
    expect(await rawExchange(port, post('Content-Type: application/json\r\nContent-Encoding: br2\r\n', '{}'))).toMatchObject({ status: 415, body: { code: 'InvalidParameter.ContentEncoding' } });
    expect(await rawExchange(port, post('Content-Type: application/json\r\nContent-Encoding: gzip\r\n', '{}'))).toMatchObject({ status: 400, body: { code: 'InvalidParameter.Body', message: expect.stringMatching(/Content-Encoding/) } });
    expect(await rawExchange(port, post('Content-Type: application/json\r\n', '{'))).toMatchObject({ status: 400, body: { code: 'InvalidParameter.Body' } });
    expect(logs.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('reads a non-empty body as JSON whatever its type, answers 400 when it is not JSON, and still takes an empty one of any type', async () => {
    // A browser fetch with a string body, curl -d, no type at all: the JSON is read, never ignored.
    for (const type of ['Content-Type: text/plain;charset=UTF-8\r\n', 'Content-Type: application/x-www-form-urlencoded\r\n', 'Content-Type: application/octet-stream\r\n', ''])
      expect(await rawExchange(port, post(type, '{"limit":1}'))).toMatchObject({ status: 200, body: { body: { limit: 1 } } });
    expect(await rawExchange(port, post('Content-Type: application/json\r\n', '{"limit":1}'))).toMatchObject({ status: 200, body: { body: { limit: 1 } } });
    // Not JSON, whatever it is sent as: it did not parse.
    for (const [type, body] of [['Content-Type: application/x-www-form-urlencoded\r\n', 'limit=1'], ['Content-Type: text/plain\r\n', 'hello'], ['', '{"limit":']] as const)
      expect(await rawExchange(port, post(type, body))).toMatchObject({ status: 400, body: { code: 'InvalidParameter.Body' } });
    // Only a charset JSON cannot be read in is refused with 415.
    expect(await rawExchange(port, post('Content-Type: text/plain; charset=iso-8859-1\r\n', '{"limit":1}'))).toMatchObject({ status: 415, body: { code: 'InvalidParameter.ContentType' } });
    expect(await rawExchange(port, post(''))).toMatchObject({ status: 200 });
    expect(await rawExchange(port, post('Content-Type: text/plain\r\n'))).toMatchObject({ status: 200 });
    expect(await rawExchange(port, 'POST /v2/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatchObject({ status: 200 });
  });

  it('answers an announced length over the limit with 413 at once and closes, without reading the body', async () => {
    const r = await rawExchange(port, `POST /v2/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n{"a":`);
    expect(r).toMatchObject({ status: 413, closed: true, body: { code: 'InvalidParameter.Body' } });
    expect(r.ms).toBeLessThan(1000);
  });

  it.each([
    ['Content-Length 100 with 6 bytes sent', 'Content-Length: 100\r\n\r\n{"user'],
    ['chunked with no last chunk', 'Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n'],
  ])('answers a body that never finishes (%s) with 408 and closes', async (_label, rest) => {
    const r = await rawExchange(port, `POST /v2/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${rest}`);
    expect(r).toMatchObject({ status: 408, closed: true, body: { code: 'RequestTimeout.Body' } });
    expect(r.ms).toBeLessThan(2000);
  });

  it('logs a client that aborts mid-body at debug, not as an unhandled error', async () => {
    logs.length = 0;
    await rawExchange(port, `POST /v2/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user`, { then: (s) => setTimeout(() => s.destroy(), 50) });
    for (let i = 0; i < 50 && !logs.length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(logs.map((l) => [l.level, l.msg])).toEqual([[20, 'client aborted the request body']]);
  });
});
