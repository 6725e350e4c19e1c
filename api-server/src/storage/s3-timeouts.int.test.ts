/**
 * The S3 store against radosgw behind a TCP proxy that goes silent (s3-timeouts.ts): a request S3 never
 * answers, and a GET body that stops half-way, fail with a TimeoutError after the idle timeout instead of
 * hanging forever; answered 503 ServiceUnavailable by the error middleware. Short timeouts keep it fast.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import pino from 'pino';
import { startTcpProxy, type TcpProxy } from '../../../test/support/tcp-proxy';
import { createErrorMiddleware } from '../shared/error-middleware';
import type { BlobStore } from './blob-store';
import { createS3BlobStore } from './s3.blob-store';

const env = process.env as Record<string, string>;
const IDLE_MS = 400;

/** p's rejection, or a failure naming `what` if it neither settles within ms. */
async function rejectionWithin(p: Promise<unknown>, ms: number, what: string): Promise<Error> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  try {
    const outcome = await Promise.race([p.then(() => 'resolved' as const, (e: Error) => e), late]);
    if (!(outcome instanceof Error)) throw new Error(`${what}: ${outcome === 'late' ? `still pending after ${ms} ms` : 'resolved'}`);
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}

/** What the error middleware answers for err. */
function answerFor(err: unknown): { status: number; code: string } {
  const res = { locals: {}, headersSent: false, status: 0, code: '', setHeader() {} } as unknown as Record<string, unknown>;
  Object.assign(res, {
    status(s: number) { res.statusCode = s; return res; },
    json(body: { code: string }) { res.code = body.code; },
  });
  createErrorMiddleware(pino({ level: 'silent' }))(err, { path: '/x' } as never, res as never, () => {});
  return { status: res.statusCode as number, code: res.code as string };
}

describe('S3 store timeouts, radosgw behind a proxy that goes silent', () => {
  let proxy: TcpProxy;
  let store: BlobStore;
  const content = randomBytes(8 * 1024 ** 2);

  beforeAll(async () => {
    proxy = await startTcpProxy(new URL(env.OPENPDS_TEST_S3_ENDPOINT!));
    store = createS3BlobStore({
      endpoint: proxy.url,
      region: env.OPENPDS_TEST_S3_REGION ?? 'us-east-1',
      bucket: env.OPENPDS_TEST_S3_BUCKET!,
      prefix: `timeouts-${randomBytes(4).toString('hex')}`,
      forcePathStyle: true,
      credentials: { accessKeyId: env.OPENPDS_TEST_S3_ACCESS_KEY_ID!, secretAccessKey: env.OPENPDS_TEST_S3_SECRET_ACCESS_KEY! },
      timeouts: { connectMs: 500, idleMs: IDLE_MS },
    });
    await store.put('blobs/big', Readable.from([content]), { size: content.length });
  });
  afterEach(() => {
    proxy.mode = 'pass';
  });
  afterAll(() => proxy?.close());

  // 3 attempts of IDLE_MS each, plus the SDK's backoff: well under 5 s.
  it.each([
    ['head', () => store.head('blobs/big')],
    ['get', () => store.get('blobs/big')],
    ['copy', () => store.copy('blobs/big', 'blobs/copy')],
    ['delete', () => store.delete('blobs/other')],
  ])('a %s S3 never answers fails with a timeout, answered 503 ServiceUnavailable', async (_name, call) => {
    proxy.mode = 'silent';
    const error = await rejectionWithin(call(), 5000, 'the call');
    expect(error.name).toBe('TimeoutError');
    expect(answerFor(error)).toEqual({ status: 503, code: 'ServiceUnavailable' });
  });

  it('a GET body that stops half-way errors after the idle timeout', async () => {
    const body = (await store.get('blobs/big')) as Readable;
    const read = (async () => {
      let bytes = 0;
      for await (const chunk of body) {
        bytes += (chunk as Buffer).length;
        proxy.mode = 'silent'; // after the first bytes: what is in flight arrives, then nothing
      }
      return bytes;
    })();
    const error = await rejectionWithin(read, 5000, 'reading the body');
    expect(error.name).toBe('TimeoutError');
    expect(proxy.bytesDown).toBeLessThan(content.length);
  });

  it('works again once S3 answers', async () => {
    expect(await store.head('blobs/big')).toMatchObject({ size: content.length });
  });
});
