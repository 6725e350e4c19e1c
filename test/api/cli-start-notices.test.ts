/**
 * What `openpds serve` says at start about the environment: an OPENPDS_* variable nothing reads (a typo
 * such as OPENPDS_PROT was silently ignored, the default port used) is named, with the nearest key; a
 * first start says that it is creating the embedded database (~10 s of silence before) and how long it took.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startServer } from '../../api-server/src/main';
import { testServerEnv } from '../support/test-server';

function logSink() {
  const records: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) records.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  return { records, stream };
}

describe('openpds serve start notices', () => {
  it('warns about a mistyped OPENPDS_* variable, naming the nearest key and not the value, and starts all the same', async () => {
    const { env, dataDir } = await testServerEnv('pglite', 'local', { OPENPDS_LOG_LEVEL: 'info', OPENPDS_PROT: '9000-xyzzy' });
    const log = logSink();
    const server = await startServer(env, { logDestination: log.stream });
    try {
      expect(log.records.filter((r) => r.level === 40 && r.msg.startsWith('OPENPDS_PROT'))).toEqual([
        expect.objectContaining({ msg: expect.stringContaining('it is ignored; did you mean OPENPDS_PORT?') }),
      ]);
      expect(JSON.stringify(log.records)).not.toContain('xyzzy');
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('says before and after creating the embedded database on a first start, and not on the next', async () => {
    const parent = mkdtempSync(path.join(tmpdir(), 'openpds-first-start-'));
    const { env, dataDir } = await testServerEnv('pglite', 'local', { OPENPDS_LOG_LEVEL: 'info', OPENPDS_DATA_DIR: path.join(parent, 'data') });
    try {
      const first = logSink();
      await (await startServer(env, { logDestination: first.stream })).close();
      const dbDir = path.join(parent, 'data', 'db');
      const messages = first.records.map((r) => r.msg);
      const before = messages.indexOf(`creating the embedded database in ${dbDir} (first start)`);
      const after = messages.findIndex((m) => /^created the embedded database in \d+\.\d s$/.test(m));
      expect(before).toBeGreaterThanOrEqual(0);
      expect(after).toBeGreaterThan(before);
      expect(first.records[after]).toMatchObject({ level: 30, duration_ms: expect.any(Number) });
      const second = logSink();
      await (await startServer(env, { logDestination: second.stream })).close();
      expect(second.records.map((r) => r.msg).filter((m) => m.includes('embedded database'))).toEqual([]);
    } finally {
      rmSync(parent, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
