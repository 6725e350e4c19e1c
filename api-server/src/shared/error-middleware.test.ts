import express from 'express';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { LocalStoreGoneError } from '../storage/local-root';
import { createErrorMiddleware } from './error-middleware';
import { AppError } from './errors';

/** Serves one route that throws `err` through the error middleware; resolves to the answer. */
async function answerFor(err: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const { status, body } = await answerWithHeaders(err);
  return { status, body };
}

async function answerWithHeaders(err: unknown): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const app = express();
  app.get('/', () => {
    throw err;
  });
  app.use(createErrorMiddleware(pino({ level: 'silent' })));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
  } finally {
    await new Promise((r) => server.close(r));
  }
}

/** Like answerFor, with the JSON lines the middleware logged. */
async function answerAndLog(err: unknown): Promise<{ status: number; lines: Array<Record<string, unknown>> }> {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const app = express();
  app.get('/', () => {
    throw err;
  });
  app.use(createErrorMiddleware(logger));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await res.arrayBuffer();
    return { status: res.status, lines };
  } finally {
    await new Promise((r) => server.close(r));
  }
}

const pgError = (code: string) => Object.assign(new Error(`invalid byte sequence for encoding "UTF8": 0x00 in SELECT * FROM files WHERE drive_id = $1`), { code });

describe('error middleware', () => {
  it('logs a 5xx AppError that wraps a cause (a local store whose directory is gone), with the cause', async () => {
    const gone = new LocalStoreGoneError('/srv/openpds/blobs', Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' }));
    const { status, lines } = await answerAndLog(gone);
    expect(status).toBe(503);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, msg: gone.message, path: '/' });
    expect(JSON.stringify(lines[0])).toContain('/srv/openpds/blobs');
    expect(JSON.stringify(lines[0])).toContain('ENOENT');
  });

  it('does not log AppErrors that say it all: 4xx, or a 503 Busy without a cause', async () => {
    expect((await answerAndLog(new AppError('NotFound.File', 404, 'no such file'))).lines).toEqual([]);
    expect((await answerAndLog(new AppError('ServiceUnavailable.Busy', 503, 'busy', { reason: 'login' }))).lines).toEqual([]);
  });

  it.each(['22021', '22P05', '22P02', '22007', '22008'])('answers PostgreSQL %s (a malformed value) with 400 InvalidParameter, without the SQL', async (code) => {
    const { status, body } = await answerFor(pgError(code));
    expect(status).toBe(400);
    expect(body.code).toBe('InvalidParameter');
    expect(JSON.stringify(body)).not.toMatch(/SELECT|UTF8|0x00/);
  });

  it('still answers other database errors with a 500 that leaks nothing', async () => {
    const { status, body } = await answerFor(pgError('42P01'));
    expect([status, body.code]).toEqual([500, 'InternalError']);
    expect(JSON.stringify(body)).not.toMatch(/SELECT/);
  });

  it('answers a statement_timeout (57014) with 503 and Retry-After, not a 500', async () => {
    const { status, body } = await answerFor(pgError('57014'));
    expect([status, body.code]).toEqual([503, 'ServiceUnavailable.Timeout']);
    expect(JSON.stringify(body)).not.toMatch(/SELECT/);
  });

  it('answers 58P01 (a database file missing: PGlite\'s data dir moved under the server) with 503 and Retry-After, logged', async () => {
    const err = Object.assign(new Error('could not open file "base/5/2620": No such file or directory'), { code: '58P01' });
    const { status, lines } = await answerAndLog(err);
    expect(status).toBe(503);
    expect(lines).toEqual([expect.objectContaining({ level: 50, msg: 'database files missing (data dir moved or removed?)' })]);
    const { body, headers } = await answerWithHeaders(err);
    expect([body.code, headers.get('retry-after')]).toEqual(['ServiceUnavailable', '5']);
    expect(JSON.stringify(body)).not.toMatch(/base\/5/);
  });

  it.each(['40P01', '40001'])('answers %s (deadlock, serialization failure) with 503 and Retry-After', async (code) => {
    const { status, body } = await answerFor(pgError(code));
    expect([status, body.code]).toEqual([503, 'ServiceUnavailable.Conflict']);
  });

  /** Shaped as the AWS SDK's S3 errors: the S3 code in `name`, the HTTP status in `$metadata`. */
  const s3Error = (name: string, httpStatusCode: number) => Object.assign(new Error('We encountered an internal error'), { name, $metadata: { httpStatusCode } });

  it.each([
    ['SlowDown', 503],
    ['ServiceUnavailable', 503],
    ['InternalError', 500],
    ['UnknownError', 502],
    ['UnknownError', 504],
  ])('answers an S3 %s (HTTP %i) with 503 ServiceUnavailable and Retry-After, not a 500', async (name, httpStatusCode) => {
    const { status, body, headers } = await answerWithHeaders(s3Error(name, httpStatusCode));
    expect([status, body.code]).toEqual([503, 'ServiceUnavailable']);
    expect(headers.get('retry-after')).toBe('5');
    expect(JSON.stringify(body)).not.toMatch(/internal error/);
  });

  it('still answers an S3 refusal (403 AccessDenied: a misconfiguration) with a 500', async () => {
    const { status, body } = await answerFor(s3Error('AccessDenied', 403));
    expect([status, body.code]).toEqual([500, 'InternalError']);
  });

  it.each(['ENOSPC', 'EDQUOT'])('answers %s (the blob volume full) with 507 InsufficientStorage.Disk', async (code) => {
    const { status, body } = await answerFor(Object.assign(new Error(`${code}: no space left on device, write`), { code }));
    expect([status, body.code]).toEqual([507, 'InsufficientStorage.Disk']);
    expect(JSON.stringify(body)).not.toMatch(/device/);
  });

  it('answers the database volume full (SQLSTATE 53100, as PGlite and PostgreSQL raise it) with 507, not a 500', async () => {
    const err = Object.assign(new Error('could not extend file "base/5/16525_fsm": No space left on device'), { code: '53100', severity: 'ERROR', routine: 'mdzeroextend', hint: 'Check free disk space.' });
    const { status, body } = await answerFor(err);
    expect([status, body.code]).toEqual([507, 'InsufficientStorage.Disk']);
    expect(JSON.stringify(body)).not.toMatch(/extend|base\//);
  });

  it.each(['53000', '53200', '53300'])('answers PostgreSQL %s (short of memory or connections) with 503 and Retry-After', async (code) => {
    const { status, body, headers } = await answerWithHeaders(pgError(code));
    expect([status, body.code]).toEqual([503, 'ServiceUnavailable']);
    expect(headers.get('retry-after')).toBe('5');
    expect(JSON.stringify(body)).not.toMatch(/SELECT/);
  });
});
