import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
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
    expect(JSON.parse(readFileSync(`${dir}.lock`, 'utf8'))).toEqual({ host: hostname(), pid: process.pid });
    expect(() => lockDataDir(dir)).toThrow(/in use by this process already .*another OPENPDS_DATA_DIR/s);
    release();
    expect(existsSync(`${dir}.lock`)).toBe(false);
    lockDataDir(dir)();
  });

  test('taken over when its holder is surely gone: a dead pid of this host, our own pid from a previous life, or untouched for 2 minutes', () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'openpds-lock-')), 'db');
    dirs.push(path.dirname(dir));
    const lock = (holder: object, ageMs = 0) => {
      writeFileSync(`${dir}.lock`, JSON.stringify(holder));
      const at = new Date(Date.now() - ageMs);
      utimesSync(`${dir}.lock`, at, at);
    };
    lock({ host: hostname(), pid: 2147483646 }); // no such process here
    lockDataDir(dir)();
    lock({ host: hostname(), pid: process.pid }); // our pid, not held here: a restarted container's pid 1
    lockDataDir(dir)();
    lock({ host: hostname(), pid: 1 }); // init: alive
    expect(() => lockDataDir(dir)).toThrow(/in use by process 1 on /);
    // Another host (a second pod on a shared volume): its pid means nothing here, even our own.
    lock({ host: 'other-pod', pid: process.pid });
    expect(() => lockDataDir(dir)).toThrow(/in use by process \d+ on other-pod/);
    lock({ host: 'other-pod', pid: 1 }, 121_000); // not touched for over 2 minutes: gone
    lockDataDir(dir)();
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
