/**
 * Node's process warnings in a real `openpds serve` (bin/openpds.js): one JSON log line each, among the
 * others, where Node printed a multi-line `(node:123) Warning: …` block on stderr that a log pipeline
 * reading JSON lines could not parse (the AWS SDK's NodeVersionSupportWarning on Node 20, deprecations).
 * With NODE_NO_WARNINGS=1 there are none, as Node prints none. A preloaded fixture provokes them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnOpenpds } from '../e2e/support/child-server';
import { testServerEnv } from '../support/test-server';

const ROOT = path.join(__dirname, '../..');

// Main thread only: a loader thread (tsx's, from the sources) preloads it too.
const FIXTURE = `
if (require('node:worker_threads').isMainThread) {
  process.emitWarning('fixture warning\\nover two lines', { code: 'OPENPDS_FIXTURE', detail: 'a detail' });
  const deprecated = require('node:util').deprecate(() => undefined, 'fixture deprecation', 'DEP_OPENPDS_FIXTURE');
  deprecated();
  setTimeout(deprecated, 100).unref();
}
`;

interface Run {
  lines: string[];
  exitCode: number | null;
}

/** Starts `openpds serve` with the fixture preloaded, waits until it listens, stops it: every line it wrote. */
async function serveWithFixture(extraEnv: Record<string, string>): Promise<Run> {
  const dir = mkdtempSync(path.join(tmpdir(), 'openpds-warnings-'));
  const fixture = path.join(dir, 'emit-warnings.js');
  writeFileSync(fixture, FIXTURE);
  const { env, dataDir } = await testServerEnv('pglite', 'local', { OPENPDS_LOG_LEVEL: 'info' });
  const serve = spawnOpenpds(['serve'], { ...env, NODE_OPTIONS: `--require ${fixture}`, ...extraEnv });
  let exitCode: number | null;
  try {
    const deadline = Date.now() + 45_000;
    while (!serve.output().includes('openpds data plane listening') && serve.child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // The fixture's timer has fired by now: a deprecation called again is not logged again.
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    exitCode = await serve.stop();
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
  return { lines: outputLines(serve.output()), exitCode };
}

/**
 * The lines a process wrote, less bin/openpds.js's own notice in a checkout whose dist/ is older than the
 * sources (it then runs them through tsx): a line about the checkout, not the server's log.
 */
const outputLines = (output: string) => output.split('\n').filter((line) => line && !line.startsWith('openpds: dist/ is older than the sources'));

const parsed = (lines: string[]) => lines.map((line) => JSON.parse(line) as { level: number; msg: string; warning?: { name: string; code?: string; detail?: string } });

describe('process warnings of `openpds serve`', () => {
  // Both serves start with the block, a process each (most of their seconds are PGlite's WebAssembly
  // compiling in the child): the second no longer waits for the first. Each test reads its own.
  const runs: Partial<Record<'plain' | 'quiet', Promise<Run>>> = {};
  beforeAll(() => {
    runs.plain = serveWithFixture({});
    runs.quiet = serveWithFixture({ NODE_NO_WARNINGS: '1' });
    for (const run of Object.values(runs)) run.catch(() => undefined); // reported by its own test
  });

  it('are one JSON warn line each, and every line it writes is JSON', async () => {
    const { lines, exitCode } = await runs.plain!;
    expect(exitCode).toBe(0);
    expect(lines.filter((line) => !/^\{.*\}$/.test(line))).toEqual([]);
    const records = parsed(lines);
    expect(records.some((r) => r.msg === 'openpds data plane listening')).toBe(true);
    expect(records.filter((r) => r.warning)).toEqual([
      expect.objectContaining({ level: 40, msg: 'fixture warning\nover two lines', warning: { name: 'Warning', code: 'OPENPDS_FIXTURE', detail: 'a detail' } }),
      expect.objectContaining({ level: 40, msg: 'fixture deprecation', warning: { name: 'DeprecationWarning', code: 'DEP_OPENPDS_FIXTURE' } }),
    ]);
  }, 90_000);

  it('are not written at all with NODE_NO_WARNINGS=1', async () => {
    const { lines, exitCode } = await runs.quiet!;
    expect(exitCode).toBe(0);
    expect(lines.filter((line) => !/^\{.*\}$/.test(line))).toEqual([]);
    const records = parsed(lines);
    expect(records.some((r) => r.msg === 'openpds data plane listening')).toBe(true);
    expect(records.filter((r) => r.warning || r.msg.includes('fixture'))).toEqual([]);
  }, 90_000);
});

describe('`openpds migrate`, the worker pods\' init container', () => {
  it('writes JSON lines only: its process warnings, an unknown OPENPDS_* variable, what it applied', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'openpds-warnings-'));
    const fixture = path.join(dir, 'emit-warnings.js');
    writeFileSync(fixture, FIXTURE);
    const { env, dataDir } = await testServerEnv('pglite', 'local', { OPENPDS_LOG_LEVEL: 'info' });
    const migrate = () => {
      const run = spawnSync(process.execPath, [path.join(ROOT, 'bin/openpds.js'), 'migrate'], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, NODE_OPTIONS: `--require ${fixture}`, OPENPDS_PROT: '9000' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      const lines = outputLines(`${run.stdout}${run.stderr}`);
      return { status: run.status, lines };
    };
    try {
      const first = migrate();
      expect(first.status).toBe(0);
      expect(first.lines.filter((line) => !/^\{.*\}$/.test(line))).toEqual([]);
      const records = parsed(first.lines);
      expect(records.filter((r) => r.warning).map((r) => r.warning!.code)).toEqual(['OPENPDS_FIXTURE', 'DEP_OPENPDS_FIXTURE']);
      expect(records.filter((r) => r.msg.startsWith('OPENPDS_PROT is set but is no OpenPDS setting')).map((r) => r.level)).toEqual([40]);
      const summary = records.find((r) => r.msg.startsWith('applied '));
      expect(summary).toMatchObject({ level: 30, msg: expect.stringMatching(/^applied \d+ migrations: 001_foundation, /) });
      expect((summary as unknown as { applied: string[] }).applied[0]).toBe('001_foundation');

      const again = migrate();
      expect(again.status).toBe(0);
      expect(again.lines.filter((line) => !/^\{.*\}$/.test(line))).toEqual([]);
      expect(parsed(again.lines).filter((r) => r.level === 30).map((r) => r.msg)).toContain('database is up to date');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 150_000);
});
