import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { runAdminCommand } from './admin-command';

/** A data dir that looks like `serve` made it, and an openDb that fails the test if the command gets that far. */
function setUp() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'openpds-admin-cmd-'));
  mkdirSync(path.join(dataDir, 'db'));
  writeFileSync(path.join(dataDir, 'db', 'PG_VERSION'), '17\n');
  const lines: string[] = [];
  const opened: string[] = [];
  const deps = {
    env: { OPENPDS_DATA_DIR: dataDir },
    openDb: async () => {
      opened.push(dataDir);
      throw new Error('the database must not be opened');
    },
    out: { log: (l: string) => void lines.push(l), error: (l: string) => void lines.push(l) },
  };
  return { deps, lines, opened, done: () => rmSync(dataDir, { recursive: true, force: true }) };
}

describe('openpds admin reset-password --password-stdin', () => {
  // The API refuses passwords shorter than 8 characters; the command set `x` as the superadmin's (red team F3).
  it.each([
    ['x', 'at least 8 characters, as the API requires for any password; got 1'],
    ['1234567', 'at least 8 characters, as the API requires for any password; got 7'],
    ['y'.repeat(257), 'at most 256 characters, as the API requires for any password; got 257'],
  ])('refuses %j as the API would, before opening the database', async (password, message) => {
    const { deps, lines, opened, done } = setUp();
    try {
      expect(await runAdminCommand(['reset-password', '--password-stdin'], { ...deps, stdin: Readable.from([`${password}\n`]) })).toBe(2);
      expect(lines.join('\n')).toBe(`openpds admin: the password read by --password-stdin must be ${message}: nothing changed`);
      expect(lines.join('\n')).not.toContain(password);
      expect(opened).toEqual([]);
    } finally {
      done();
    }
  });

  it('takes a password the API takes, and says the rule in its usage', async () => {
    const { deps, opened, done } = setUp();
    try {
      // Past the check: the (fake) database is opened.
      await expect(runAdminCommand(['reset-password', '--password-stdin'], { ...deps, stdin: Readable.from(['12345678\n']) })).rejects.toThrow('the database must not be opened');
      expect(opened).toHaveLength(1);
      const help: string[] = [];
      expect(await runAdminCommand(['--help'], { ...deps, out: { log: (l) => void help.push(l), error: (l) => void help.push(l) } })).toBe(0);
      expect(help.join('\n')).toContain("The API's rule applies: 8 to 256 characters");
    } finally {
      done();
    }
  });
});
