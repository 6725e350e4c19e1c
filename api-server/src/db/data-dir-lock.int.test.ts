import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from '../main';
import { testServerEnv } from '../../../test/support/test-server';
import { lockDataDir } from './data-dir-lock';

describe('one process per embedded database (the data dir lock)', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test('a second open of one data dir is refused, with what to do; after a close it opens again', () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'openpds-lock-')), 'db');
    dirs.push(path.dirname(dir));
    const release = lockDataDir(dir);
    expect(readFileSync(`${dir}.lock`, 'utf8').trim()).toBe(String(process.pid));
    expect(() => lockDataDir(dir)).toThrow(/in use by this process already .*another OPENPDS_DATA_DIR/s);
    release();
    expect(existsSync(`${dir}.lock`)).toBe(false);
    lockDataDir(dir)();
  });

  test('a lock left by a process that is gone is taken over; one held by a live process is not', () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'openpds-lock-')), 'db');
    dirs.push(path.dirname(dir));
    writeFileSync(`${dir}.lock`, '2147483646\n'); // no such process
    const release = lockDataDir(dir);
    release();
    writeFileSync(`${dir}.lock`, '1\n'); // init: alive
    expect(() => lockDataDir(dir)).toThrow(/in use by process 1 /);
  });

  test('two data planes on one OPENPDS_DATA_DIR: the second refuses to start (they each saw a database of their own, and GC deleted the other\'s blobs)', async () => {
    const { env, dataDir } = await testServerEnv('pglite', 'local');
    dirs.push(dataDir);
    const first = await startServer(env);
    try {
      await expect(startServer({ ...env })).rejects.toMatchObject({ name: 'ConfigError', message: expect.stringContaining('is in use by this process already') });
      expect((await fetch(`${first.url}/readyz`)).status).toBe(200); // the refused one did not disturb it
    } finally {
      await first.close();
    }
    const again = await startServer(env);
    await again.close();
  }, 60_000);
});
