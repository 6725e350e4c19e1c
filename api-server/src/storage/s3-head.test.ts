/**
 * The store's own HEAD against a scripted HTTP server on loopback: answers, retries, the raw path. Signing
 * itself is checked in s3-sigv4.test.ts and against radosgw in s3-signing.int.test.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createS3Head } from './s3-head';
import type { S3Signing } from './s3-signing';
import { createSigV4Signer } from './s3-sigv4';

type Answer = (request: IncomingMessage, response: ServerResponse) => void;

let server: Server;
let answers: Answer[];
let seen: IncomingMessage[];
let signing: S3Signing;

beforeAll(async () => {
  server = createServer((request, response) => {
    seen.push(request);
    (answers.shift() ?? status(599))(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const scope = { region: 'us-east-1', service: 's3' };
  signing = {
    endpoint: { origin: `http://${host}`, host, basePath: '/bucket/', scope },
    signer: createSigV4Signer(scope),
    credentials: async () => ({ accessKeyId: 'AK', secretAccessKey: 'SK', sessionToken: 'TOKEN' }),
  };
});

beforeEach(() => {
  answers = [];
  seen = [];
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

const head = () => createS3Head({ signing: async () => signing, sdkHead: () => Promise.reject(new Error('not used')) });
const status = (code: number, headers: Record<string, string> = {}): Answer => (_request, response) => response.writeHead(code, headers).end();
const reset: Answer = (request) => request.socket.destroy();

test('200 gives size and bare etag; the path goes out raw and signed, with the session token', async () => {
  answers = [status(200, { 'content-length': '1234', etag: '"abc"' })];
  expect(await head()('a b/./é')).toEqual({ size: 1234, etag: 'abc' });
  expect(seen[0]!.method).toBe('HEAD');
  expect(seen[0]!.url).toBe('/bucket/a%20b/./%C3%A9');
  expect(seen[0]!.headers).toMatchObject({ 'x-amz-security-token': 'TOKEN', authorization: expect.stringMatching(/^AWS4-HMAC-SHA256 Credential=AK\//) });
});

test('404 is null; 403 is an error with the status, not retried', async () => {
  answers = [status(404)];
  expect(await head()('missing')).toBeNull();
  answers = [status(403)];
  await expect(head()('forbidden')).rejects.toMatchObject({ name: 'UnknownError', $metadata: { httpStatusCode: 403 } });
  expect(seen).toHaveLength(2);
});

test('5xx and a reset connection are retried, three attempts in all', async () => {
  answers = [status(503), reset, status(200, { 'content-length': '1' })];
  expect(await head()('flaky')).toEqual({ size: 1, etag: undefined });
  answers = [status(500), status(502), status(500), status(200)];
  await expect(head()('down')).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
  expect(seen).toHaveLength(6);
});

test('without our signing (probe not recognised) the SDK HEAD answers', async () => {
  const sdkHead = jest.fn(async () => ({ size: 7 }));
  expect(await createS3Head({ signing: async () => null, sdkHead })('k')).toEqual({ size: 7 });
  expect(sdkHead).toHaveBeenCalledWith('k');
});
