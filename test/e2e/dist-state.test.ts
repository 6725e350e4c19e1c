/**
 * bin/dist-state.js: when dist/ counts as current with the sources. `npm start` builds only when it is not
 * (bin/build-if-stale.js), and bin/openpds.js runs dist/ only when it is, so a change it missed would run
 * stale code, and one it saw where there was none would cost every start a build.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
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

/** A checkout built at BUILT whose sources, directories and build files all date from BEFORE. */
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'openpds-dist-state-'));
  mkdirSync(path.join(root, 'bin'));
  cpSync(path.join(REPO, 'bin/dist-state.js'), path.join(root, 'bin/dist-state.js'));
  const files = ['cli/main.ts', 'api-server/src/db/migrations/001.sql', 'workers/src/main.ts', 'operator/src/main.ts', 'crds/domain.yaml', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];
  for (const f of files) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), f.endsWith('.json') ? '{}' : 'x');
  }
  mkdirSync(path.join(root, 'dist/cli'), { recursive: true });
  writeFileSync(path.join(root, 'dist/cli/main.js'), '');
  writeFileSync(path.join(root, 'dist/.build-stamp'), '');
  for (const f of [...files, 'cli', 'api-server', 'api-server/src', 'api-server/src/db', 'api-server/src/db/migrations', 'workers', 'workers/src', 'operator', 'operator/src', 'crds']) utimesSync(path.join(root, f), BEFORE, BEFORE);
  utimesSync(path.join(root, 'dist/.build-stamp'), BUILT, BUILT);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('nothing changed since the build: current', () => {
  expect(state.compiledIsCurrent()).toBe(true);
});

test.each(['operator/src/main.test.ts', 'operator/src/kube.contract.ts', 'operator/src/testing/fixtures.ts', 'operator/src/__snapshots__/main.test.ts.snap'])(
  '%s (left out of the build, as tsconfig.build.json says) changed after the build: still current',
  (file) => {
    const dir = path.dirname(path.join(root, file));
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(root, file), 'x');
    for (const d of new Set([dir, path.join(root, 'operator/src')])) utimesSync(d, BEFORE, BEFORE); // made before the build
    utimesSync(path.join(root, file), AFTER, AFTER); // edited after it
    expect(state.compiledIsCurrent()).toBe(true);
  },
);

test.each(['cli/main.ts', 'api-server/src/db/migrations/001.sql', 'workers/src/main.ts', 'operator/src/main.ts', 'crds/domain.yaml', 'package.json', 'tsconfig.json', 'tsconfig.build.json'])('%s changed after the build: stale', (file) => {
  utimesSync(path.join(root, file), AFTER, AFTER);
  expect(state.compiledIsCurrent()).toBe(false);
});

test('a source deleted after the build (only its directory changed): stale', () => {
  unlinkSync(path.join(root, 'operator/src/main.ts'));
  utimesSync(path.join(root, 'operator/src'), AFTER, AFTER);
  expect(state.compiledIsCurrent()).toBe(false);
});

test('no build stamp (a build that stopped before its end) or no dist/: stale', () => {
  unlinkSync(path.join(root, 'dist/.build-stamp'));
  expect(state.compiledIsCurrent()).toBe(false);
  rmSync(path.join(root, 'dist'), { recursive: true });
  expect(state.compiledIsCurrent()).toBe(false);
});

test('the Docker image (dist/, bin/ and a package.json copied after dist/, no sources): current', () => {
  for (const d of ['cli', 'api-server', 'workers', 'operator', 'crds', 'tsconfig.json', 'tsconfig.build.json']) rmSync(path.join(root, d), { recursive: true });
  utimesSync(path.join(root, 'package.json'), AFTER, AFTER);
  expect(state.compiledIsCurrent()).toBe(true);
});
