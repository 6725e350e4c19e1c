/**
 * bin/dist-state.js: when dist/ counts as current with the sources. `npm start` builds only when it is not
 * (bin/build-if-stale.js), and bin/openpds.js runs dist/ only when it is, so a change it missed would run
 * stale code, and one it saw where there was none would cost every start a build. The stamp it reads is made
 * by the build's own steps (bin/build-steps.js), run here as `npm run build` runs them, the compiler aside.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const REPO = path.resolve(__dirname, '../..');
let root: string;
/** What bin/dist-state.js says in the checkout, asked as bin/openpds.js asks it: from a Node process of its own. */
const state = {
  compiledIsCurrent: () => execFileSync(process.execPath, ['-e', `process.stdout.write(String(require(${JSON.stringify(path.join(root, 'bin/dist-state.js'))}).compiledIsCurrent()))`]).toString() === 'true',
};
const BUILT = new Date('2026-01-02T00:00:00Z');
const BEFORE = new Date('2026-01-01T00:00:00Z');
const AFTER = new Date('2026-01-03T00:00:00Z');
const SOURCES = ['cli/main.ts', 'api-server/src/db/migrations/001.sql', 'workers/src/main.ts', 'operator/src/main.ts', 'crds/domain.yaml'];
/** What the build is made with: a change to either can change its output. */
const BUILD_FILES = ['package.json', 'bin/build-steps.js'];
/** What the build leaves out (bin/dist-state.js), and jest's snapshots. */
const LEFT_OUT = ['operator/src/main.test.ts', 'operator/src/kube.contract.ts', 'operator/src/testing/fixtures.ts', 'operator/src/__snapshots__/main.test.ts.snap'];
const DIRS = ['cli', 'api-server', 'api-server/src', 'api-server/src/db', 'api-server/src/db/migrations', 'workers', 'workers/src', 'operator', 'operator/src', 'crds'];

const steps = (step: 'begin' | 'end') => execFileSync(process.execPath, [path.join(root, 'bin/build-steps.js'), step]);
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
function build(during: () => void = () => {}): void {
  steps('begin');
  utimesSync(path.join(root, 'dist/.build-started'), BUILT, BUILT);
  mkdirSync(path.join(root, 'dist/cli'), { recursive: true });
  writeFileSync(path.join(root, 'dist/cli/main.js'), ''); // what the compile step writes
  during();
  steps('end');
}

/** A checkout whose sources, directories and build files all date from BEFORE, built at BUILT. */
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'openpds-dist-state-'));
  mkdirSync(path.join(root, 'bin'));
  for (const f of ['dist-state.js', 'build-steps.js']) cpSync(path.join(REPO, 'bin', f), path.join(root, 'bin', f));
  for (const f of [...SOURCES, 'package.json']) write(f, BEFORE);
  utimesSync(path.join(root, 'bin/build-steps.js'), BEFORE, BEFORE);
  dateDirs();
  build();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('nothing changed since the build: current', () => {
  expect(state.compiledIsCurrent()).toBe(true);
});

describe.each(LEFT_OUT)('%s (left out of the build)', (file) => {
  test('edited after the build: still current', () => {
    write(file, BEFORE);
    dateDirs();
    build();
    utimesSync(path.join(root, file), AFTER, AFTER);
    expect(state.compiledIsCurrent()).toBe(true);
  });

  test('added after the build (its directory changed too): still current, no build for a new test', () => {
    write(file, AFTER);
    utimesSync(path.dirname(path.join(root, file)), AFTER, AFTER);
    utimesSync(path.join(root, 'operator/src'), AFTER, AFTER);
    expect(state.compiledIsCurrent()).toBe(true);
  });

  test('deleted after the build: still current', () => {
    write(file, BEFORE);
    dateDirs();
    build();
    unlinkSync(path.join(root, file));
    utimesSync(path.dirname(path.join(root, file)), AFTER, AFTER);
    expect(state.compiledIsCurrent()).toBe(true);
  });
});

test.each([...SOURCES, ...BUILD_FILES])('%s changed after the build: stale', (file) => {
  utimesSync(path.join(root, file), AFTER, AFTER);
  expect(state.compiledIsCurrent()).toBe(false);
});

test('a source saved while the build ran (after it began): stale', () => {
  build(() => utimesSync(path.join(root, 'operator/src/main.ts'), AFTER, AFTER));
  expect(state.compiledIsCurrent()).toBe(false);
});

test('a source added while the build ran, with a time from before the build (a copy keeping its time): stale', () => {
  build(() => write('workers/src/jobs.ts', BEFORE));
  dateDirs();
  expect(state.compiledIsCurrent()).toBe(false);
});

// Only the list of sources tells these: no time the check reads changed (a directory's time is not read).
test('a source deleted after the build: stale', () => {
  unlinkSync(path.join(root, 'operator/src/main.ts'));
  dateDirs();
  expect(state.compiledIsCurrent()).toBe(false);
});

test('a source added after the build with an older time (moved in, or unpacked keeping its time): stale', () => {
  write('operator/src/reconcile.ts', BEFORE);
  dateDirs();
  expect(state.compiledIsCurrent()).toBe(false);
});

test('a source renamed after the build: stale', () => {
  renameSync(path.join(root, 'cli/main.ts'), path.join(root, 'cli/index.ts'));
  dateDirs();
  expect(state.compiledIsCurrent()).toBe(false);
});

test('a build begun and not ended (it failed after emptying dist/) leaves no stamp: stale, even with nothing changed', () => {
  steps('begin');
  expect(state.compiledIsCurrent()).toBe(false);
});

test('no build stamp (a build that stopped before its end) or no dist/: stale', () => {
  unlinkSync(path.join(root, 'dist/.build-stamp'));
  expect(state.compiledIsCurrent()).toBe(false);
  rmSync(path.join(root, 'dist'), { recursive: true });
  expect(state.compiledIsCurrent()).toBe(false);
});

test('a stamp from an earlier version (empty: no list of sources) newer than every source: stale, so it builds once', () => {
  writeFileSync(path.join(root, 'dist/.build-stamp'), '');
  utimesSync(path.join(root, 'dist/.build-stamp'), BUILT, BUILT);
  expect(state.compiledIsCurrent()).toBe(false);
});

test('the Docker image (dist/, bin/ and a package.json copied after dist/, no sources): current', () => {
  for (const d of ['cli', 'api-server', 'workers', 'operator', 'crds']) rmSync(path.join(root, d), { recursive: true });
  for (const f of BUILD_FILES) utimesSync(path.join(root, f), AFTER, AFTER);
  expect(state.compiledIsCurrent()).toBe(true);
});
