/**
 * bin/dist-state.js: when dist/ counts as current with the sources. `npm start` builds only when it is not
 * (bin/build-if-stale.js), and bin/openpds.js runs dist/ only when it is, so a change it missed would run
 * stale code, and one it saw where there was none would cost every start a build. The stamp it reads is made
 * by the build's own steps (bin/build-steps.js), run here as `npm run build` runs them, the compiler aside.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

const REPO = path.resolve(__dirname, '../..');
let root: string;

/**
 * One Node process of its own for the suite, outside jest's module system, that loads the checkout's
 * bin/dist-state.js and bin/build-steps.js afresh for each request (as a process of their own each would):
 * `current` is what bin/openpds.js asks, `step` runs `node bin/build-steps.js STEP` (its argv, its exit code).
 * A process per request was ~100 Node starts, most of the suite's time (23 s in a full run).
 */
const RUNNER = `
const path = require('node:path');
const load = (file) => {
  for (const name of ['dist-state.js', 'build-steps.js']) delete require.cache[path.join(path.dirname(file), name)];
  return require(file);
};
require('node:readline').createInterface({ input: process.stdin }).on('line', async (line) => {
  const { root, step } = JSON.parse(line);
  let reply;
  try {
    if (step === undefined) reply = { value: load(path.join(root, 'bin/dist-state.js')).compiledIsCurrent() };
    else {
      process.argv = [process.argv[0], path.join(root, 'bin/build-steps.js'), step];
      process.exitCode = 0;
      load(process.argv[1]);
      await new Promise((resolve) => setImmediate(resolve)); // its main() reports a failure a tick later
      reply = process.exitCode ? { error: 'build-steps ' + step + ' exited ' + process.exitCode } : { value: true };
      process.exitCode = 0;
    }
  } catch (error) {
    reply = { error: String(error && error.stack || error) };
  }
  process.stdout.write(JSON.stringify(reply) + '\\n');
});`;
let runner: { child: ChildProcessByStdio<Writable, Readable, null>; replies: AsyncIterator<string> } | undefined;
async function ask(step?: 'begin' | 'end'): Promise<boolean> {
  if (!runner) {
    const child = spawn(process.execPath, ['-e', RUNNER], { stdio: ['pipe', 'pipe', 'inherit'] });
    runner = { child, replies: createInterface({ input: child.stdout })[Symbol.asyncIterator]() };
  }
  runner.child.stdin.write(`${JSON.stringify({ root, step })}\n`);
  const { value, done } = await runner.replies.next();
  if (done) throw new Error('the dist-state runner exited');
  const reply = JSON.parse(value as string) as { value?: boolean; error?: string };
  if (reply.error) throw new Error(reply.error);
  return reply.value!;
}
afterAll(() => runner?.child.stdin.end());

/** What bin/dist-state.js says in the checkout, asked as bin/openpds.js asks it: from a Node process of its own. */
const state = { compiledIsCurrent: () => ask() };
const BUILT = new Date('2026-01-02T00:00:00Z');
const BEFORE = new Date('2026-01-01T00:00:00Z');
const AFTER = new Date('2026-01-03T00:00:00Z');
const SOURCES = ['cli/main.ts', 'api-server/src/db/migrations/001.sql', 'workers/src/main.ts', 'operator/src/main.ts', 'crds/domain.yaml'];
/** What the build is made with: a change to either can change its output. */
const BUILD_FILES = ['package.json', 'bin/build-steps.js'];
/** What the build leaves out (bin/dist-state.js), and jest's snapshots. */
const LEFT_OUT = ['operator/src/main.test.ts', 'operator/src/kube.contract.ts', 'operator/src/testing/fixtures.ts', 'operator/src/__snapshots__/main.test.ts.snap'];
const DIRS = ['cli', 'api-server', 'api-server/src', 'api-server/src/db', 'api-server/src/db/migrations', 'workers', 'workers/src', 'operator', 'operator/src', 'crds'];

const steps = (step: 'begin' | 'end') => ask(step);
/** Dates every directory holding sources from BEFORE, as if a file came or went without changing any. */
function dateDirs(): void {
  for (const d of DIRS) utimesSync(path.join(root, d), BEFORE, BEFORE);
}
function write(file: string, when: Date): void {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), file.endsWith('.json') ? '{}' : 'x');
  utimesSync(path.join(root, file), when, when);
}
/** `npm run build`, begun at BUILT, with `during` run while it compiled. */
async function build(during: () => void = () => {}): Promise<void> {
  await steps('begin');
  utimesSync(path.join(root, 'dist/.build-started'), BUILT, BUILT);
  mkdirSync(path.join(root, 'dist/cli'), { recursive: true });
  writeFileSync(path.join(root, 'dist/cli/main.js'), ''); // what the compile step writes
  during();
  await steps('end');
}

/** A checkout whose sources, directories and build files all date from BEFORE, built at BUILT. */
beforeEach(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'openpds-dist-state-'));
  mkdirSync(path.join(root, 'bin'));
  for (const f of ['dist-state.js', 'build-steps.js']) cpSync(path.join(REPO, 'bin', f), path.join(root, 'bin', f));
  for (const f of [...SOURCES, 'package.json']) write(f, BEFORE);
  utimesSync(path.join(root, 'bin/build-steps.js'), BEFORE, BEFORE);
  dateDirs();
  await build();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('nothing changed since the build: current', async () => {
  expect(await state.compiledIsCurrent()).toBe(true);
});

describe.each(LEFT_OUT)('%s (left out of the build)', (file) => {
  test('edited after the build: still current', async () => {
    write(file, BEFORE);
    dateDirs();
    await build();
    utimesSync(path.join(root, file), AFTER, AFTER);
    expect(await state.compiledIsCurrent()).toBe(true);
  });

  test('added after the build (its directory changed too): still current, no build for a new test', async () => {
    write(file, AFTER);
    utimesSync(path.dirname(path.join(root, file)), AFTER, AFTER);
    utimesSync(path.join(root, 'operator/src'), AFTER, AFTER);
    expect(await state.compiledIsCurrent()).toBe(true);
  });

  test('deleted after the build: still current', async () => {
    write(file, BEFORE);
    dateDirs();
    await build();
    unlinkSync(path.join(root, file));
    utimesSync(path.dirname(path.join(root, file)), AFTER, AFTER);
    expect(await state.compiledIsCurrent()).toBe(true);
  });
});

test.each([...SOURCES, ...BUILD_FILES])('%s changed after the build: stale', async (file) => {
  utimesSync(path.join(root, file), AFTER, AFTER);
  expect(await state.compiledIsCurrent()).toBe(false);
});

test('a source saved while the build ran (after it began): stale', async () => {
  await build(() => utimesSync(path.join(root, 'operator/src/main.ts'), AFTER, AFTER));
  expect(await state.compiledIsCurrent()).toBe(false);
});

test('a source added while the build ran, with a time from before the build (a copy keeping its time): stale', async () => {
  await build(() => write('workers/src/jobs.ts', BEFORE));
  dateDirs();
  expect(await state.compiledIsCurrent()).toBe(false);
});

// Only the list of sources tells these: no time the check reads changed (a directory's time is not read).
test('a source deleted after the build: stale', async () => {
  unlinkSync(path.join(root, 'operator/src/main.ts'));
  dateDirs();
  expect(await state.compiledIsCurrent()).toBe(false);
});

test('a source added after the build with an older time (moved in, or unpacked keeping its time): stale', async () => {
  write('operator/src/reconcile.ts', BEFORE);
  dateDirs();
  expect(await state.compiledIsCurrent()).toBe(false);
});

test('a source renamed after the build: stale', async () => {
  renameSync(path.join(root, 'cli/main.ts'), path.join(root, 'cli/index.ts'));
  dateDirs();
  expect(await state.compiledIsCurrent()).toBe(false);
});

test('a build begun and not ended (it failed after emptying dist/) leaves no stamp: stale, even with nothing changed', async () => {
  await steps('begin');
  expect(await state.compiledIsCurrent()).toBe(false);
});

test('no build stamp (a build that stopped before its end) or no dist/: stale', async () => {
  unlinkSync(path.join(root, 'dist/.build-stamp'));
  expect(await state.compiledIsCurrent()).toBe(false);
  rmSync(path.join(root, 'dist'), { recursive: true });
  expect(await state.compiledIsCurrent()).toBe(false);
});

test('a stamp from an earlier version (empty: no list of sources) newer than every source: stale, so it builds once', async () => {
  writeFileSync(path.join(root, 'dist/.build-stamp'), '');
  utimesSync(path.join(root, 'dist/.build-stamp'), BUILT, BUILT);
  expect(await state.compiledIsCurrent()).toBe(false);
});

test('the Docker image (dist/, bin/ and a package.json copied after dist/, no sources): current', async () => {
  for (const d of ['cli', 'api-server', 'workers', 'operator', 'crds']) rmSync(path.join(root, d), { recursive: true });
  for (const f of BUILD_FILES) utimesSync(path.join(root, f), AFTER, AFTER);
  expect(await state.compiledIsCurrent()).toBe(true);
});
