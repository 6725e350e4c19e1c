/**
 * What `openpds serve` says at start about the environment: an OPENPDS_* variable nothing reads (a typo
 * such as OPENPDS_PROT was silently ignored, the default port used) is named, with the nearest key.
 */
import { rmSync } from 'node:fs';
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
});
