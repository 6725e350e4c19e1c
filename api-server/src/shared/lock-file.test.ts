import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lockFileProblem, removeStale, takeLockFile, type LockHolder } from './lock-file';

class Busy extends Error {
  constructor(readonly holder: LockHolder | undefined, readonly ours: boolean) {
    super(`busy: ${JSON.stringify(holder)}`);
  }
}
const busy = (holder: LockHolder | undefined, ours: boolean) => new Busy(holder, ours);

describe('lock files', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'openpds-lock-'));
    file = path.join(dir, 'x.lock');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A pid of this host that ran and has exited. */
  const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

  it('takes over a lock whose holder no longer runs, and refuses one whose holder does', () => {
    writeFileSync(file, JSON.stringify({ host: os.hostname(), pid: deadPid(), tool: 'old' }));
    const release = takeLockFile(file, { tool: 'new' }, busy);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid, tool: 'new' });
    expect(() => takeLockFile(file, {}, busy)).toThrow(Busy); // ours already
    release();
    expect(existsSync(file)).toBe(false);

    // A live pid of this host that is not ours: our parent's.
    writeFileSync(file, JSON.stringify({ host: os.hostname(), pid: process.ppid }));
    expect(() => takeLockFile(file, {}, busy)).toThrow(expect.objectContaining({ holder: expect.objectContaining({ pid: process.ppid }), ours: false }));
  });

  it('never removes a lock another taker made after the stale one was judged: it is put back, and the taker is told busy', () => {
    writeFileSync(file, JSON.stringify({ host: os.hostname(), pid: deadPid() }));
    const stale = { ino: statSync(file).ino, text: readFileSync(file, 'utf8') };
    // The race: another process judged the same stale lock, removed it and made its own before this one acts.
    unlinkSync(file);
    writeFileSync(file, JSON.stringify({ host: 'other-host', pid: 4242 }));
    expect(removeStale(file, stale)).toBe(false); // whether or not the file system gave it the stale one's inode
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ host: 'other-host', pid: 4242 });
    expect(readdirSync(dir)).toEqual(['x.lock']); // nothing left aside

    // The judged one itself is removed.
    expect(removeStale(file, { ino: statSync(file).ino, text: readFileSync(file, 'utf8') })).toBe(true);
    expect(existsSync(file)).toBe(false);
  });
});

describe('a lock that is lost while held', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'openpds-lock-lost-'));
  });
  afterEach(() => {
    jest.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is reported once by the heartbeat to a holder that asks (onLost), with why; a holder that does not ask is left as before', () => {
    jest.useFakeTimers();
    const watched = path.join(dir, 'watched.lock');
    const plain = path.join(dir, 'plain.lock');
    const lost: string[] = [];
    const releaseWatched = takeLockFile(watched, {}, busy, { onLost: (problem) => lost.push(problem) });
    const releasePlain = takeLockFile(plain, {}, busy);
    try {
      jest.advanceTimersByTime(30_000);
      expect(lost).toEqual([]);
      unlinkSync(watched);
      unlinkSync(plain);
      jest.advanceTimersByTime(90_000);
      expect(lost).toEqual([`the lock file ${watched} is gone (removed, or its folder moved or deleted)`]);
    } finally {
      releaseWatched();
      releasePlain();
    }
  });

  it('lockFileProblem: undefined while held, then why not: gone, or another holder in the file', () => {
    const file = path.join(dir, 'x.lock');
    const release = takeLockFile(file, {}, busy);
    try {
      expect(lockFileProblem(file)).toBeUndefined();
      writeFileSync(file, JSON.stringify({ host: 'elsewhere', pid: 7 }));
      expect(lockFileProblem(file)).toBe(`the lock file ${file} now names process 7 on elsewhere, not this process`);
      unlinkSync(file);
      expect(lockFileProblem(file)).toMatch(/ is gone /);
    } finally {
      release();
    }
    writeFileSync(file, JSON.stringify({ host: os.hostname(), pid: process.pid }));
    expect(lockFileProblem(file)).toMatch(/now names process \d+ on .*, not this process/); // released: not held any more
  });
});
