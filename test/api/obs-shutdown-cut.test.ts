/**
 * close() (Ctrl-C, SIGTERM) gives the requests in flight a grace period, then cuts what is left and says so
 * in the log: a download or upload cut at shutdown left no trace on the server's side (red team F6).
 */
import { rmSync } from 'node:fs';
import net from 'node:net';
import { Writable } from 'node:stream';
import { startServer } from '../../api-server/src/main';
import { testServerEnv } from '../support/test-server';

it('cuts a request still in flight after the grace period and logs how many it cut', async () => {
  const { env, dataDir } = await testServerEnv('pglite', 'local');
  const lines: { level: number; msg: string; connections?: number }[] = [];
  const logDestination = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(...chunk.toString().trim().split('\n').map((l) => JSON.parse(l))), done()) });
  const running = await startServer({ ...env, OPENPDS_LOG_LEVEL: 'info' }, { logDestination, shutdownGraceMs: 300 });
  try {
    // A body promised and never sent: the request stays in flight until the server cuts it.
    const socket = net.connect(new URL(running.url).port as unknown as number, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const received = new Promise((resolve) => running.server.once('request', resolve));
    socket.write('POST /v2/account/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"user');
    await received; // in flight: not an idle connection the first closeIdleConnections() would close
    const started = Date.now();
    await running.close();
    await ended;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(lines.find((l) => l.msg.startsWith('shutting down: closing'))).toMatchObject({ level: 40, connections: 1, msg: 'shutting down: closing 1 connection(s) still busy after 0.3 s' });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
