import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import pino from 'pino';
import { createErrorMiddleware } from './error-middleware';
import { createJsonBodyParser, findUnsafeStructure } from './json-body';
import { MAX_BODY_NESTING } from './rpc';
import { rawExchange } from './testing/raw-exchange';

describe('JSON bodies of /v2 calls', () => {
  let server: Server;
  let port: number;
  const logs: { level: number; msg: string }[] = [];

  beforeAll(async () => {
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const app = express();
    app.use('/v2', ...createJsonBodyParser({ receiveTimeoutMs: 300, limitBytes: 1000, smallLimitBytes: 100 }));
    app.post('/v2/echo', (req, res) => void res.json({ body: req.body ?? null }));
    app.post('/v2/account/login', (req, res) => void res.json({ body: req.body ?? null }));
    app.use(createErrorMiddleware(logger));
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const post = (headers: string, body = '', path = '/v2/echo') => `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

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

  const nested = (levels: number, open = '{"a":', close = '}') => `${open.repeat(levels)}1${close.repeat(levels)}`;

  it('refuses a body nested deeper than rpc.ts allows before parsing it, and takes one at the limit', async () => {
    // rpc.ts counts the body itself as level 0: MAX_BODY_NESTING levels inside it pass, one more does not.
    const json = 'Content-Type: application/json\r\n';
    const atLimit = `{"x":${nested(MAX_BODY_NESTING, '[', ']')}}`;
    expect(await rawExchange(port, post(json, atLimit))).toMatchObject({ status: 200 });
    for (const [deep, code] of [
      [`{"x":${nested(MAX_BODY_NESTING + 1, '[', ']')}}`, 'InvalidParameter.X'],
      [`{"a":1,"user_data":${nested(MAX_BODY_NESTING + 1)}}`, 'InvalidParameter.UserData'],
      ['['.repeat(900), 'InvalidParameter.Body'],
      [`{"\\u0000":${nested(MAX_BODY_NESTING + 1)}}`, 'InvalidParameter.Body'],
    ])
      expect(await rawExchange(port, post(json, deep))).toMatchObject({ status: 400, body: { code, message: expect.stringMatching(/deeper than 64 levels/) } });
    // Brackets in strings, escaped quotes and backslashes included, are text, not nesting.
    const text = `{"s":"${'[{'.repeat(200)}\\"${'{'.repeat(100)}\\\\","t":"\\\\"}`;
    expect(await rawExchange(port, post(json, text))).toMatchObject({ status: 200, body: { body: { t: '\\' } } });
  });

  it('refuses a key named __proto__ at any depth, however escaped, naming the top-level field; a value of that text is fine', async () => {
    const json = 'Content-Type: application/json\r\n';
    for (const [body, code] of [
      ['{"user_data":{"__proto__":{"admin":true},"a":1}}', 'InvalidParameter.UserData'],
      ['{"user_data":{"a":[{"b":{"__proto__" :1}}]}}', 'InvalidParameter.UserData'],
      ['{"user_data":{"\\u005f_proto\\u005F_":1}}', 'InvalidParameter.UserData'],
      ['{"a":{"\\u005f\\u005f\\u0070\\u0072\\u006f\\u0074\\u006f\\u005f\\u005f":1}}', 'InvalidParameter.A'],
      ['{"__proto__":{"x":1}}', 'InvalidParameter.Body'],
      ['[{"__proto__":1}]', 'InvalidParameter.Body'],
    ])
      expect([body, await rawExchange(port, post(json, body))]).toMatchObject([body, { status: 400, body: { code, message: expect.stringMatching(/key named __proto__/) } }]);
    const fine = '{"a":"__proto__","b":{"__proto":1,"proto__":2,"__proto__x":3,"\\u005f_proto_":4,"\\\\_proto__":5},"c":["__proto__"]}';
    expect(await rawExchange(port, post(json, fine))).toMatchObject({ status: 200, body: { body: JSON.parse(fine) } });
  });

  it('counts nesting as JSON does: strings, escapes and multi-byte text', () => {
    const bytes = (s: string) => Buffer.from(s);
    const exceedsNesting = (b: Buffer, max: number) => findUnsafeStructure(b, max) !== undefined;
    expect(exceedsNesting(bytes('[[[]]]'), 3)).toBe(false);
    expect(exceedsNesting(bytes('[[[[]]]]'), 3)).toBe(true);
    expect(exceedsNesting(bytes('[[],[],[],[],[]]'), 2)).toBe(false);
    expect(exceedsNesting(bytes('["[[[[[", "\\\"[[[[", {"é[":"ü{{{"}]'), 2)).toBe(false);
    expect(exceedsNesting(bytes('["\\\\", [[[]]]]'), 3)).toBe(true);
    expect(findUnsafeStructure(bytes('{"a":"b","c":[[1]],"d\\"é":{"e":[[]]}}'), 3)).toEqual({ field: 'd"é', problem: 'deep' });
    // A 4 MB body of 690k levels (the red team's) is refused in a few milliseconds, not the 0.4 s its JSON.parse took.
    const huge = bytes(nested(690_000));
    const started = performance.now();
    expect(exceedsNesting(huge, MAX_BODY_NESTING + 1)).toBe(true);
    expect(performance.now() - started).toBeLessThan(250); // microseconds alone; room for a GC pause or a busy core
  });

  it('holds login and token refresh to the small limit, as the router spells their paths', async () => {
    const json = 'Content-Type: application/json\r\n';
    const body = JSON.stringify({ username: 'u', password: 'p'.repeat(200) });
    expect(await rawExchange(port, post(json, body))).toMatchObject({ status: 200 });
    for (const path of ['/v2/account/login', '/v2/Account/LOGIN', '/v2/account/login/', '/v2/account/token']) {
      const r = await rawExchange(port, post(json, body, path));
      expect([path, r.status, r.body?.code]).toEqual([path, 413, 'InvalidParameter.Body']);
    }
    // Chunked, no length announced: body-parser's own limit refuses it.
    const chunked = `POST /v2/account/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${json}Transfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    expect(await rawExchange(port, chunked)).toMatchObject({ status: 413, body: { code: 'InvalidParameter.Body' } });
    expect(await rawExchange(port, post(json, '{"username":"u","password":"p"}', '/v2/account/login'))).toMatchObject({ status: 200 });
  });
});
