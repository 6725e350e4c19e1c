// Whether dist/, what `npm run build` compiles and copies, is current with the sources. bin/openpds.js reads
// it to run dist/ or the sources through tsx; bin/build-if-stale.js (`npm start`) to build only when it is
// not: `npm run build` (swc, bin/build-steps.js) is ~0.6 s, most of it npm and Node starting.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const COMPILED_MAIN = path.join(ROOT, 'dist/cli/main.js');
// Made when `npm run build` starts (bin/build-steps.js) and put in place when it ends, so its time is the
// build's start: a source saved while the build ran is newer than it, and builds again. It holds the list of
// sources there were then (sourceList): a source deleted, added or moved in with an old time changes the list,
// not necessarily any time the build can compare.
const BUILD_STAMP = path.join(ROOT, 'dist/.build-stamp');
// What the build compiles (bin/build-steps.js) or copies into dist/ (migrations, crds).
const SOURCE_DIRS = ['cli', 'api-server/src', 'workers/src', 'operator/src', 'crds'];
// How it compiles them: a changed compiler (its version in package.json) or build script changes the output
// too. Only where the sources are: the Docker image ships package.json and bin/ (copied after dist/, so
// newer) but nothing to build.
const BUILD_FILES = ['package.json', 'bin/build-steps.js'];

// What the build leaves out (besides *.test.ts): never compiled, so neither its times nor its
// presence count. Jest's snapshots too.
const SKIPPED_DIRS = new Set(['testing', '__snapshots__']);
const SKIPPED_FILE = /\.(test|contract)\.ts$/;
// The stamp's first line: a stamp without it (an empty one, from a build before the list was kept) never
// matches, so a checkout built by an earlier version builds once more.
const STAMP_FORMAT = 'openpds-build-sources 1';

/** Paths (from the repository root) of what the build reads under dir; none when dir is absent. */
function listSources(dir, out) {
  let entries;
  try {
    entries = fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true });
  } catch {
    return out; // not shipped (the Docker image carries dist/ only)
  }
  for (const e of entries) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) {
      if (!SKIPPED_DIRS.has(e.name)) listSources(p, out);
    } else if (!SKIPPED_FILE.test(e.name)) out.push(p);
  }
  return out;
}

/** Every source the build reads, sorted (readdir's order is the file system's). */
function currentSources() {
  return SOURCE_DIRS.flatMap((d) => listSources(d, [])).sort();
}

/** The stamp's contents for these sources: what the build writes and what a later check compares. */
function sourceList(sources) {
  return `${STAMP_FORMAT}\n${sources.map((s) => `${s}\n`).join('')}`;
}

function fileMtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0; // not shipped
  }
}

/** dist/ exists, it was built from the sources there are now, and none of them changed after its build began. */
function compiledIsCurrent() {
  if (!fs.existsSync(COMPILED_MAIN)) return false;
  let recorded;
  try {
    recorded = fs.readFileSync(BUILD_STAMP, 'utf8');
  } catch {
    return false; // a build that stopped before its end, or none
  }
  const sources = currentSources();
  if (sources.length === 0) return true; // the Docker image: dist/ is all there is
  if (recorded !== sourceList(sources)) return false;
  const built = fileMtime(BUILD_STAMP);
  return [...sources, ...BUILD_FILES].every((f) => fileMtime(path.join(ROOT, f)) <= built);
}

module.exports = { BUILD_STAMP, COMPILED_MAIN, compiledIsCurrent, currentSources, sourceList };
