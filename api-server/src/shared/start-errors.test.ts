/**
 * ensureDataDir makes the data directory a level at a time and names OPENPDS_DATA_DIR when it cannot. Under
 * /proc, Node's recursive mkdir looped for ever on ENOENT (the start hung with no output); it runs in a
 * child process here, so the old code fails the test on its time limit instead of hanging jest.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../config/config';
import { ensureDataDir } from './start-errors';

describe('ensureDataDir', () => {
  let parent: string;
  beforeEach(() => void (parent = mkdtempSync(path.join(tmpdir(), 'openpds-ensure-'))));
  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  it('creates the missing levels, and takes a directory already there', () => {
    const dir = path.join(parent, 'a', 'b', 'c');
    ensureDataDir(dir);
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(() => ensureDataDir(dir)).not.toThrow();
    expect(() => ensureDataDir(path.relative(process.cwd(), dir))).not.toThrow();
  });

  it('a path through a file: ENOTDIR, naming OPENPDS_DATA_DIR', () => {
    writeFileSync(path.join(parent, 'file'), '');
    const bad = path.join(parent, 'file', 'data');
    expect(() => ensureDataDir(bad)).toThrow(ConfigError);
    expect(() => ensureDataDir(bad)).toThrow(`OPENPDS_DATA_DIR=${bad}: cannot create or write the data directory (ENOTDIR`);
    expect(() => ensureDataDir(path.join(parent, 'file'))).toThrow('(ENOTDIR');
  });

  it('a dangling symbolic link on the path: one line naming the link and its missing target', () => {
    symlinkSync(path.join(parent, 'gone'), path.join(parent, 'x'));
    const bad = path.join(parent, 'x', 'data');
    const why = `${path.join(parent, 'x')} is a symbolic link to ${path.join(parent, 'gone')}, which does not exist`;
    expect(() => ensureDataDir(bad)).toThrow(ConfigError);
    expect(() => ensureDataDir(bad)).toThrow(`OPENPDS_DATA_DIR=${bad}: cannot create the data directory: ${why}: create ${path.join(parent, 'gone')}, or set OPENPDS_DATA_DIR to a writable directory`);
    // The data dir itself the link: the same.
    expect(() => ensureDataDir(path.join(parent, 'x'))).toThrow(why);
    let message = '';
    try {
      ensureDataDir(bad);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toContain('\n');
    // Nothing was made where the link points.
    expect(() => statSync(path.join(parent, 'gone'))).toThrow();
  });

  it('a relative link to a further dangling link: names the end of the chain, as an absolute path', () => {
    mkdirSync(path.join(parent, 'sub'));
    symlinkSync('../gone', path.join(parent, 'sub', 'hop'));
    symlinkSync('sub/hop', path.join(parent, 'x'));
    expect(() => ensureDataDir(path.join(parent, 'x', 'data'))).toThrow(`${path.join(parent, 'x')} is a symbolic link to ${path.join(parent, 'gone')}, which does not exist`);
    // Once the target exists, the link is followed and the data dir made under it.
    mkdirSync(path.join(parent, 'gone'));
    ensureDataDir(path.join(parent, 'x', 'data'));
    expect(statSync(path.join(parent, 'gone', 'data')).isDirectory()).toBe(true);
  });

  it('a file system that takes no new directories (/proc): a clear error at once, not a hang', () => {
    const script = `try { require(${JSON.stringify(require.resolve('./start-errors'))}).ensureDataDir('/proc/openpds'); console.log('created') } catch (e) { console.log(e.message) }`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(child.signal).toBeNull(); // the old code was killed at the time limit
    expect(child.stdout).toContain('OPENPDS_DATA_DIR=/proc/openpds: cannot create or write the data directory (ENOENT: that file system does not take new directories)');
  }, 30_000);
});
