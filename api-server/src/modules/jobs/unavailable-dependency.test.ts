import { isDependencyUnavailable } from './unavailable-dependency';

describe('isDependencyUnavailable', () => {
  const err = (props: Record<string, unknown>, message = 'x') => Object.assign(new Error(message), props);

  it.each([
    ['a refused connection', err({ code: 'ECONNREFUSED' })],
    ['an SDK timeout', err({ name: 'TimeoutError' }, 'socket hang up')],
    ['a reset two causes down', err({ cause: err({ cause: err({ code: 'ECONNRESET' }) }) })],
    ['an S3 5xx', err({ name: 'UnknownError', $metadata: { httpStatusCode: 503 } })],
    ['S3 SlowDown', err({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } })],
    ['S3 throttled (429)', err({ name: 'TooManyRequests', $metadata: { httpStatusCode: 429 } })],
    ['PostgreSQL shutting down', err({ code: '57P01' })],
    ['the SDK wrapper of a cross-realm timeout', new Error('AWS SDK error wrapper for TimeoutError: connect ECONNRESET 127.0.0.1:41031')],
    ['the SDK wrapper of a cross-realm reset', new Error('AWS SDK error wrapper for Error: read ECONNRESET')],
  ])('%s: yes', (_what, e) => expect(isDependencyUnavailable(e)).toBe(true));

  it.each([
    ['a plain failure', new Error('object holds 3 bytes, the blob says 4')],
    ['an S3 4xx', err({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } })],
    ['a lock wait given up', err({ code: '55P03' })],
    ['the SDK wrapper of something else', new Error('AWS SDK error wrapper for Error: bad digest')],
    ['not an error', 'ECONNRESET'],
    ['a cause cycle', (() => { const a = err({}); a.cause = a; return a; })()],
  ])('%s: no', (_what, e) => expect(isDependencyUnavailable(e)).toBe(false));
});
