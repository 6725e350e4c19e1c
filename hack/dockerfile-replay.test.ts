import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

/**
 * As an unprivileged user where this runs as root: a replay that ignored its arguments (as before) then
 * stops at once at its "run as root" check instead of building the image.
 */
const replay = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'hack/dockerfile-replay.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    ...(process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}),
  });

describe('hack/dockerfile-replay.ts', () => {
  // `--help` ran the whole replay (npm ci, a build, servers as uid 10001) and left its temp dir behind.
  it('prints what it does on --help, and refuses an unknown argument with exit 2', () => {
    const help = replay('--help');
    expect(help.stderr).toBe('');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('npx tsx hack/dockerfile-replay.ts [--keep]');
    const typo = replay('--kep');
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('dockerfile-replay: unexpected argument "--kep"\nusage: npx tsx hack/dockerfile-replay.ts [--keep]');
  });
});
