import express from 'express';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createErrorMiddleware } from './error-middleware';

/** Serves one route that throws `err` through the error middleware; resolves to the answer. */
async function answerFor(err: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const app = express();
  app.get('/', () => {
    throw err;
  });
  app.use(createErrorMiddleware(pino({ level: 'silent' })));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } finally {
    await new Promise((r) => server.close(r));
  }
}

const pgError = (code: string) => Object.assign(new Error(`invalid byte sequence for encoding "UTF8": 0x00 in SELECT * FROM files WHERE drive_id = $1`), { code });

describe('error middleware', () => {
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

  it.each(['40P01', '40001'])('answers %s (deadlock, serialization failure) with 503 and Retry-After', async (code) => {
    const { status, body } = await answerFor(pgError(code));
    expect([status, body.code]).toEqual([503, 'ServiceUnavailable.Conflict']);
  });
});
