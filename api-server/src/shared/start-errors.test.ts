/**
 * ensureDataDir makes the data directory a level at a time and names OPENPDS_DATA_DIR when it cannot. Under
 * /proc, Node's recursive mkdir looped for ever on ENOENT (the start hung with no output); it runs in a
 * child process here, so the old code fails the test on its time limit instead of hanging jest.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

  it('a file system that takes no new directories (/proc): a clear error at once, not a hang', () => {
    const script = `try { require(${JSON.stringify(require.resolve('./start-errors'))}).ensureDataDir('/proc/openpds'); console.log('created') } catch (e) { console.log(e.message) }`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(child.signal).toBeNull(); // the old code was killed at the time limit
    expect(child.stdout).toContain('OPENPDS_DATA_DIR=/proc/openpds: cannot create or write the data directory (ENOENT: that file system does not take new directories)');
  }, 30_000);
});
