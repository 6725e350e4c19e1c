/**
 * Timing and the one output format every benchmark prints: figure, baseline measured in the same run, the
 * ratio, and PASS/MISS against the issue's target. A missed target is reported, never an error exit.
 */
import { performance } from 'node:perf_hooks';
import { interrupted, onInterrupt } from './interrupt';

export const KiB = 1024;
export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

export function percentile(samples: readonly number[], p: number): number {
  if (!samples.length) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (samples: readonly number[]) => percentile(samples, 50);
export const mibPerSecond = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);
export const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : String(n));
export const fmtBytes = (n: number) => (n >= GiB ? `${fmt(n / GiB)} GiB` : n >= MiB ? `${fmt(n / MiB, 1)} MiB` : `${fmt(n / KiB, 1)} KiB`);

export interface Verdict {
  name: string;
  pass: boolean;
}
const verdicts: Verdict[] = [];

/**
 * One target. `ratio` is figure/baseline in the direction the target is written in (≥ for throughput,
 * ≤ for times); `unit` labels figure and baseline.
 */
export function reportRatio(t: { name: string; figure: number; baseline: number; unit: string; op: '>=' | '<='; target: number; baselineLabel: string }) {
  const ratio = t.figure / t.baseline;
  const pass = t.op === '>=' ? ratio >= t.target : ratio <= t.target;
  verdicts.push({ name: t.name, pass });
  console.log(
    `${pass ? 'PASS' : 'MISS'}  ${t.name}: ${fmt(t.figure)} ${t.unit} vs ${t.baselineLabel} ${fmt(t.baseline)} ${t.unit}` +
      ` → ratio ${fmt(ratio, 3)}× (target ${t.op === '>=' ? '≥' : '≤'} ${t.target}×)`,
  );
  return { ratio, pass };
}

/** A target on an absolute figure (latency in ms, RSS in MB). */
export function reportAbsolute(t: { name: string; figure: number; unit: string; op: '>=' | '<='; target: number; detail?: string }) {
  const pass = t.op === '>=' ? t.figure >= t.target : t.figure <= t.target;
  verdicts.push({ name: t.name, pass });
  console.log(`${pass ? 'PASS' : 'MISS'}  ${t.name}: ${fmt(t.figure)} ${t.unit} (target ${t.op === '>=' ? '≥' : '≤'} ${t.target} ${t.unit})${t.detail ? ` — ${t.detail}` : ''}`);
  return { pass };
}

export function info(message: string) {
  console.log(`      ${message}`);
}

export function summary(): void {
  const missed = verdicts.filter((v) => !v.pass).map((v) => v.name);
  console.log(missed.length ? `summary: ${verdicts.length - missed.length}/${verdicts.length} targets met; missed: ${missed.join(', ')}` : `summary: all ${verdicts.length} targets met`);
}

/**
 * Runs a benchmark's main: exits 1 only on an error (a missed target is not one). Interrupted (Ctrl-C,
 * SIGTERM), it runs `cleanup` too and exits 130/143 (interrupt.ts); what main does meanwhile (requests
 * failing as their server stops) is no error to report, and must not exit before the cleanup is done.
 */
export function runBench(name: string, main: () => Promise<void>, cleanup: () => Promise<void> = async () => undefined): void {
  console.log(`# ${name} — ${new Date().toISOString()}`);
  const forget = onInterrupt(cleanup);
  main()
    .then(async () => {
      if (interrupted()) return;
      summary();
      forget();
      await cleanup();
      process.exit(0);
    })
    .catch(async (e: unknown) => {
      if (interrupted()) return;
      forget();
      console.error(`${name}: error:`, e);
      await cleanup().catch(() => undefined);
      process.exit(1);
    });
}
