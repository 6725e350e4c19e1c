import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { checkArgs, headerComment, usageFlags, usageLines, type FlagSpec } from './args';

const BENCH = path.resolve(__dirname, '..');
const ROOT = path.resolve(BENCH, '..');
const own: FlagSpec[] = [
  { name: 'size', takesValue: true },
  { name: 'runs', takesValue: true },
  { name: 'skip-rss', takesValue: false },
];
const others: FlagSpec[] = [{ name: 'files', takesValue: true }];

describe('bench flags', () => {
  it('reads the flags from the usage line of a header comment, continuation lines included', () => {
    const header = headerComment(`/**\n * x: what it measures.\n *\n *   npx tsx bench/x.ts [--size 1GiB] [--runs 3]\n *                      [--skip-rss] [--api-cpu-prof DIR]\n *\n * --size is [--not a flag].\n */\nimport x from 'y';`);
    expect(header.split('\n')[0]).toBe('x: what it measures.');
    const usage = usageLines(header);
    expect(usage).toEqual(['npx tsx bench/x.ts [--size 1GiB] [--runs 3]', '[--skip-rss] [--api-cpu-prof DIR]']);
    expect(usageFlags(usage)).toEqual([
      { name: 'size', takesValue: true },
      { name: 'runs', takesValue: true },
      { name: 'skip-rss', takesValue: false },
      { name: 'api-cpu-prof', takesValue: true },
    ]);
  });

  // Nothing refused a flag: `--help` and `--sizes 128MiB` ran the whole benchmark at its full size.
  it.each([
    [['--sizes', '128MiB'], 'unknown flag --sizes (did you mean --size?)'],
    [['--verbose'], 'unknown flag --verbose'],
    [['--size'], '--size needs a value'],
    [['--size', '--runs', '3'], '--size needs a value'],
    [['--skip-rss=yes'], '--skip-rss takes no value, got "--skip-rss=yes"'],
    [['128MiB'], 'unexpected argument "128MiB"'],
  ])('refuses %j', (argv, error) => {
    expect(checkArgs(argv, own, others)).toEqual({ help: false, error, warnings: [] });
  });

  it('answers --help and -h wherever they are, and takes what the usage lists', () => {
    expect(checkArgs(['--size', '1GiB', '--help'], own).help).toBe(true);
    expect(checkArgs(['-h'], own).help).toBe(true);
    expect(checkArgs(['--size', '128MiB', '--runs=3', '--skip-rss'], own)).toEqual({ help: false, warnings: [] });
    expect(checkArgs([], own)).toEqual({ help: false, warnings: [] });
  });

  it("skips another benchmark's flag with a warning: bench/run-all.sh passes its arguments to all of them", () => {
    expect(checkArgs(['--files', '200', '--runs', '3'], own, others)).toEqual({ help: false, warnings: ["--files is another benchmark's flag, not this one's: ignored"] });
  });

  it('lists in each bench script\'s usage line every flag the script reads', () => {
    const scripts = readdirSync(BENCH).filter((f) => f.endsWith('.ts'));
    expect(scripts.length).toBeGreaterThanOrEqual(9);
    for (const script of scripts) {
      const source = readFileSync(path.join(BENCH, script), 'utf8');
      const listed = usageFlags(usageLines(headerComment(source))).map((f) => f.name);
      const read = [...source.matchAll(/\b(?:flag|intFlag|sizeFlag|hasFlag)\('([a-z0-9-]+)'/g)].map((m) => m[1]!);
      expect({ script, missing: read.filter((name) => !listed.includes(name)) }).toEqual({ script, missing: [] });
      expect(listed.length).toBeGreaterThan(0);
    }
  });

  // presign starts no services, so this stays harmless should the check ever let a run through.
  it('makes a bench script print its header on --help and refuse a typo with exit 2, before it starts anything', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'bench/presign.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('npx tsx bench/presign.ts [--urls 10000] [--rounds 5]');
    expect(help.stdout).not.toContain('# presign');
    const typo = run('--url', '10');
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('presign.ts: unknown flag --url (did you mean --urls?)\nusage: npx tsx bench/presign.ts [--urls 10000] [--rounds 5]');
    expect(typo.stdout).not.toContain('# presign');
  });
});
