import express, { Router } from 'express';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { z } from 'zod';
import { createErrorMiddleware } from './error-middleware';
import { AppError } from './errors';
import { createRpcRegistry, declaredStatusCheck, defineRpc } from './rpc';

/**
 * Under validateResponses an answer whose status the route's OpenAPI entry does not declare fails loudly,
 * whether the handler answered it or the error middleware did for what the handler threw.
 */
describe.each([true, false])('declared statuses (validateResponses %s)', (validate) => {
  let url: string;
  let close: () => void;
  let stderr: jest.SpyInstance;

  beforeAll(async () => {
    const registry = createRpcRegistry({ validateResponses: validate });
    const router = Router();
    const thrown = (status: number) => async () => {
      throw new AppError(`Thing.${status}`, status, `answered ${status}`, { headers: { 'Retry-After': '3' } });
    };
    defineRpc(router, registry, { path: '/v2/thing/conflict', summary: 'declares 409', body: z.object({}), errors: [409], auth: false, handler: thrown(409) });
    defineRpc(router, registry, { path: '/v2/thing/throttle', summary: 'declares no 429', body: z.object({}), auth: false, handler: thrown(429) });
    defineRpc(router, registry, { path: '/v2/thing/full', summary: '507 is common', body: z.object({}), auth: false, handler: thrown(507) });
    const get = { path: '/v2/thing/download', method: 'get' as const, summary: 'a download', body: z.object({}), auth: false };
    registry.routes.push(get);
    router.get(get.path, declaredStatusCheck(registry, get), (req, res) => void res.status(req.query.teapot ? 418 : 304).end());
    const app = express();
    app.use(express.json());
    app.use(router);
    app.use(createErrorMiddleware(pino({ level: 'silent' })));
    const server = app.listen(0);
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => close());
  beforeEach(() => (stderr = jest.spyOn(console, 'error').mockImplementation(() => undefined)));
  afterEach(() => stderr.mockRestore());

  const post = async (path: string) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { code: string; message: string } };
  };

  it('passes a declared status through: the route\'s own, and a common one (507)', async () => {
    expect(await post('/v2/thing/conflict')).toMatchObject({ status: 409, body: { code: 'Thing.409' } });
    expect(await post('/v2/thing/full')).toMatchObject({ status: 507, body: { code: 'Thing.507' } });
    expect((await fetch(`${url}/v2/thing/download`)).status).toBe(304);
    expect(stderr).not.toHaveBeenCalled();
  });

  it('replaces an undeclared error by a 500 naming the route, the status and the code, and logs it (tests only)', async () => {
    const answer = await post('/v2/thing/throttle');
    if (!validate) {
      expect(answer).toMatchObject({ status: 429, retryAfter: '3', body: { code: 'Thing.429' } });
      return expect(stderr).not.toHaveBeenCalled();
    }
    expect(answer).toMatchObject({ status: 500, retryAfter: null, body: { code: 'InternalError.UndeclaredStatus' } });
    expect(answer.body.message).toMatch(/^POST \/v2\/thing\/throttle: answered 429 \(Thing\.429\), which its OpenAPI entry does not declare/);
    expect(stderr).toHaveBeenCalledWith(expect.stringContaining('[status check] POST /v2/thing/throttle: answered 429'));
  });

  it('turns an undeclared status answered without JSON into a 500 too', async () => {
    expect((await fetch(`${url}/v2/thing/download?teapot=1`)).status).toBe(validate ? 500 : 418);
    if (validate) expect(stderr).toHaveBeenCalledWith(expect.stringContaining('GET /v2/thing/download: answered 418'));
  });
});
