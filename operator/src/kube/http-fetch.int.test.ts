import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpFetch } from './http-fetch';
import { probeReadyz } from './readiness';

// Against a real loopback server: what the Domain reconciler and the admin client rely on, as fetch gives it.
let server: Server;
let url: string;
const sockets = new Set<unknown>();

beforeAll(async () => {
  server = createServer((req, res) => {
    sockets.add(req.socket);
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/slow') return void setTimeout(() => res.writeHead(200).end('late'), 500);
      if (req.url === '/missing') return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"NotFound"}');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, body, auth: req.headers.authorization ?? null }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});

test('answers status, ok and the body; sends method, headers and body; reuses its connection', async () => {
  const fetchFn = createHttpFetch();
  const res = await fetchFn(`${url}/v2/account/login`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer t' }, body: '{"a":1}' });
  expect({ ok: res.ok, status: res.status, body: JSON.parse(await res.text()) }).toEqual({ ok: true, status: 200, body: { method: 'POST', body: '{"a":1}', auth: 'Bearer t' } });
  const missing = await fetchFn(`${url}/missing`);
  expect({ ok: missing.ok, status: missing.status, body: await missing.text() }).toEqual({ ok: false, status: 404, body: '{"code":"NotFound"}' });
  sockets.clear();
  await fetchFn(`${url}/readyz`);
  await fetchFn(`${url}/readyz`);
  expect(sockets.size).toBe(1);
});

test('fails as fetch does: a refused connection is TypeError fetch failed with the socket error as cause; a timeout rejects with the signal reason', async () => {
  const fetchFn = createHttpFetch();
  // A port nothing listens on (fetch refuses "bad ports" such as 9 before connecting).
  const spare = createServer();
  await new Promise<void>((r) => spare.listen(0, '127.0.0.1', () => r()));
  const closed = `http://127.0.0.1:${(spare.address() as AddressInfo).port}`;
  await new Promise<void>((r) => spare.close(() => r()));
  const refused = await fetchFn(`${closed}/readyz`).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(TypeError);
  expect(refused).toMatchObject({ message: 'fetch failed', cause: { code: 'ECONNREFUSED' } });
  const timedOut = await fetchFn(`${url}/slow`, { signal: AbortSignal.timeout(50) }).catch((e: unknown) => e);
  expect(timedOut).toMatchObject({ name: 'TimeoutError' });
  // What the Domain's Ready condition then says, word for word as with global fetch.
  expect(await probeReadyz(fetchFn, closed)).toEqual({ ready: false, message: `${closed}/readyz unreachable: ECONNREFUSED` });
  expect(await probeReadyz(fetch, closed)).toEqual(await probeReadyz(fetchFn, closed));
  expect((await probeReadyz(fetchFn, `${url}/slow/..`, 50)).message).toBe((await probeReadyz(fetch, `${url}/slow/..`, 50)).message);
});
