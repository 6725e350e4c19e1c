/**
 * `--name value` / `--name=value` flags with numeric and size ("1GiB", "64MiB", "500k") parsing.
 *
 * The flags a script takes are the ones the usage line of its header comment lists
 * (`npx tsx bench/x.ts [--size 1GiB] [--skip-rss]`), so they cannot drift apart. The first flag a script
 * reads (each reads its flags first thing, before it starts anything) checks the command line: `--help` or
 * `-h` prints the header and exits 0; a flag it does not list, a flag without its value, or a stray word
 * exits 2 with the usage. Before, a typo (`--sizes 128MiB`) or `--help` itself was ignored and the whole
 * benchmark ran at its full size (red team F5). bench/run-all.sh passes its arguments to every benchmark,
 * so another benchmark's flag is only warned about and skipped.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { editDistance } from '../../api-server/src/config/config';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 };
const BENCH_DIR = path.resolve(__dirname, '..');

export interface FlagSpec {
  name: string;
  /** `[--size 1GiB]` takes a value; `[--skip-rss]` does not. */
  takesValue: boolean;
}

/** The text of a script's first `/** … *\/` comment, without the comment marks. */
export function headerComment(source: string): string {
  const block = /\/\*\*([\s\S]*?)\*\//.exec(source)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

/** The usage lines of a header: the `npx tsx <script>.ts …` line and the `[--flag …]` lines under it. */
export function usageLines(header: string): string[] {
  const lines = header.split('\n');
  const start = lines.findIndex((line) => /^\s*npx tsx \S+\.ts\b/.test(line));
  if (start < 0) return [];
  let end = start + 1;
  while (end < lines.length && /^\s+\[/.test(lines[end]!)) end++;
  return lines.slice(start, end).map((line) => line.trim());
}

/** The flags usage lines list. */
export function usageFlags(usage: readonly string[]): FlagSpec[] {
  return [...usage.join(' ').matchAll(/\[--([a-z0-9-]+)(?:[ =]([^\]]*))?\]/gi)].map((m) => ({ name: m[1]!, takesValue: Boolean(m[2]?.trim()) }));
}

export interface ArgsCheck {
  help: boolean;
  /** Why the command line is refused (exit 2). */
  error?: string;
  /** Other benchmarks' flags, skipped. */
  warnings: string[];
}

/** Checks `argv` against a script's own flags (`own`) and the other benchmarks' (`others`, skipped). */
export function checkArgs(argv: readonly string[], own: readonly FlagSpec[], others: readonly FlagSpec[] = []): ArgsCheck {
  const warnings: string[] = [];
  if (argv.includes('--help') || argv.includes('-h')) return { help: true, warnings };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) return { help: false, error: `unexpected argument "${arg}"`, warnings };
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const spec = own.find((f) => f.name === name);
    const other = spec ? undefined : others.find((f) => f.name === name);
    const takesValue = (spec ?? other)?.takesValue ?? false;
    if (spec || other) {
      if (!takesValue && eq >= 0) return { help: false, error: `--${name} takes no value, got "${arg}"`, warnings };
      if (takesValue && eq < 0) {
        const next = argv[i + 1];
        if (next === undefined || next.startsWith('--')) return { help: false, error: `--${name} needs a value`, warnings };
        i++;
      }
      if (other) warnings.push(`--${name} is another benchmark's flag, not this one's: ignored`);
      continue;
    }
    const nearest = own.map((f) => ({ f, d: editDistance(name, f.name) })).sort((a, b) => a.d - b.d)[0];
    const hint = nearest && nearest.d <= 2 ? ` (did you mean --${nearest.f.name}?)` : '';
    return { help: false, error: `unknown flag --${name}${hint}`, warnings };
  }
  return { help: false, warnings };
}

let checked = false;

/** Checks process.argv against the running script's usage once; prints and exits on --help or a bad flag. */
function checkCommandLine(): void {
  if (checked) return;
  checked = true;
  const script = path.resolve(process.argv[1] ?? '');
  const header = headerComment(readFileSync(script, 'utf8'));
  const usage = usageLines(header);
  if (!usage.length) throw new Error(`${script}: no usage line (\`npx tsx ${path.relative(process.cwd(), script)} [--flag value]\`) in its header comment`);
  const others =
    path.dirname(script) === BENCH_DIR
      ? readdirSync(BENCH_DIR)
          .filter((f) => f.endsWith('.ts') && path.join(BENCH_DIR, f) !== script)
          .flatMap((f) => usageFlags(usageLines(headerComment(readFileSync(path.join(BENCH_DIR, f), 'utf8')))))
      : [];
  const result = checkArgs(process.argv.slice(2), usageFlags(usage), others);
  if (result.help) {
    console.log(header);
    process.exit(0);
  }
  const name = path.basename(script);
  if (result.error) {
    console.error(`${name}: ${result.error}\nusage: ${usage.join('\n       ')}\n(--help tells more)`);
    process.exit(2);
  }
  for (const warning of result.warnings) console.error(`${name}: ${warning}`);
}

export function flag(name: string): string | undefined {
  checkCommandLine();
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${name}`) return argv[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

export function hasFlag(name: string): boolean {
  checkCommandLine();
  return process.argv.slice(2).includes(`--${name}`);
}

export function intFlag(name: string, def: number): number {
  const raw = flag(name);
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

export function sizeFlag(name: string, def: number): number {
  const raw = flag(name);
  if (raw === undefined) return def;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`--${name} must be a size like 1GiB, 64MiB or 500k, got "${raw}"`);
  return Math.round(Number(m[1]) * unit);
}
