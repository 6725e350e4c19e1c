/**
 * The S3 store's connect timeout (s3-agents.ts) against servers on loopback, with a small pool and short
 * timeouts: a call queued behind a full pool waits its turn however long that takes, and a connection that
 * does not open in time (here: a TLS handshake that never completes) still fails the call with a timeout.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { createS3Head } from './s3-head';
import type { S3Signing } from './s3-signing';
import { createSigV4Signer } from './s3-sigv4';
import { createS3BlobStore } from './s3.blob-store';

const CONNECT_MS = 200;
const POOL = 2;
/** Several times what the old timer allowed (3 attempts × CONNECT_MS plus backoff). */
const QUEUED_MS = 1500;

let server: Server;
let held: ServerResponse[];
const served: string[] = [];

beforeAll(async () => {
  // Requests for keys under held/ get no answer until release(); the rest answer at once.
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    served.push(`${request.method} ${request.url}`);
    if (request.url!.includes('/held/')) held.push(response);
    else response.writeHead(request.method === 'DELETE' ? 204 : 200, { 'content-length': '0' }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
beforeEach(() => {
  held = [];
  served.length = 0;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const origin = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const release = () => held.splice(0).forEach((response) => response.writeHead(200, { 'content-length': '1' }).end('x'));
const waitFor = async (check: () => boolean) => {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
};
const storeAt = (endpoint: string) =>
  createS3BlobStore({
    endpoint,
    region: 'us-east-1',
    bucket: 'bucket',
    prefix: '',
    forcePathStyle: true,
    credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
    timeouts: { connectMs: CONNECT_MS, idleMs: 10_000 },
    maxSockets: POOL,
  });
const signingAt = (endpoint: string): S3Signing => {
  const url = new URL(endpoint);
  const scope = { region: 'us-east-1', service: 's3' };
  return {
    endpoint: { origin: url.origin, host: url.host, basePath: '/bucket/', scope },
    signer: createSigV4Signer(scope),
    credentials: async () => ({ accessKeyId: 'AK', secretAccessKey: 'SK' }),
  };
};

test('SDK calls queued behind a full pool wait their turn, not the connect timeout', async () => {
  const store = storeAt(origin());
  // Each body read as soon as it comes, which frees its socket.
  const downloads = Array.from({ length: POOL }, (_, i) => store.get(`held/${i}`).then((body) => body.resume()));
  await waitFor(() => held.length === POOL);
  const started = Date.now();
  const queued = store.delete('other');
  const settled = queued.then(() => 'deleted', (e: Error) => e);
  await new Promise((resolve) => setTimeout(resolve, QUEUED_MS));
  expect(served.filter((s) => s.startsWith('DELETE'))).toHaveLength(0); // still queued: the pool is full
  release();
  expect(await settled).toBe('deleted');
  expect(Date.now() - started).toBeGreaterThanOrEqual(QUEUED_MS);
  await Promise.all(downloads);
});

test('HEADs queued behind a full pool wait their turn too', async () => {
  const signing = signingAt(origin());
  const head = createS3Head({ signing: async () => signing, sdkHead: () => Promise.reject(new Error('not used')), timeouts: { connectMs: CONNECT_MS, idleMs: 10_000 }, maxSockets: POOL });
  const first = Array.from({ length: POOL }, (_, i) => head(`held/${i}`));
  await waitFor(() => held.length === POOL);
  const queued = head('other').then((info) => info, (e: Error) => e);
  await new Promise((resolve) => setTimeout(resolve, QUEUED_MS));
  release();
  expect(await queued).toEqual({ size: 0, etag: undefined });
  await Promise.all(first);
});

describe('a TLS handshake that never completes', () => {
  let silent: net.Server;
  const sockets = new Set<net.Socket>();
  beforeAll(async () => {
    // Accepts the TCP connection, then says nothing: the handshake hangs.
    silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => {
    sockets.forEach((socket) => socket.destroy());
    return new Promise((resolve) => silent.close(resolve));
  });
  const httpsOrigin = () => `https://127.0.0.1:${(silent.address() as AddressInfo).port}`;

  test('fails an SDK call with a TimeoutError after 3 attempts', async () => {
    const started = Date.now();
    await expect(storeAt(httpsOrigin()).delete('k')).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * CONNECT_MS);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test('fails a HEAD with a TimeoutError after 3 attempts', async () => {
    const signing = signingAt(httpsOrigin());
    const head = createS3Head({ signing: async () => signing, sdkHead: () => Promise.reject(new Error('not used')), timeouts: { connectMs: CONNECT_MS, idleMs: 10_000 } });
    const started = Date.now();
    await expect(head('k')).rejects.toMatchObject({ name: 'TimeoutError', code: 'ETIMEDOUT' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * CONNECT_MS);
  });
});
