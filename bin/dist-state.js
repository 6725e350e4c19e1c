// Whether dist/, what `npm run build` compiles and copies, is current with the sources. bin/openpds.js reads
// it to run dist/ or the sources through tsx; bin/build-if-stale.js (`npm start`) to build only when it is
// not: a build with nothing to recompile still costs tsc a parse of ~2,000 files (6 s of CPU, 9-15 s on a
// busy 2-core machine) before every start.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const COMPILED_MAIN = path.join(ROOT, 'dist/cli/main.js');
// Made when `npm run build` (package.json) starts and put in place when it ends, so its time is the build's
// start: a source saved while tsc ran is newer than it, and builds again. tsc rewrites only the outputs whose
// sources changed.
const BUILD_STAMP = path.join(ROOT, 'dist/.build-stamp');
// What the build compiles (tsconfig.build.json) or copies into dist/ (migrations, crds).
const SOURCE_DIRS = ['cli', 'api-server/src', 'workers/src', 'operator/src', 'crds'];
// How it compiles them: a changed compiler setting or script changes the output too. Only where the
// sources are: the Docker image ships package.json (copied after dist/, so newer) but nothing to build.
const BUILD_FILES = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];

// What tsconfig.build.json leaves out (besides *.test.ts): never compiled, so never stale. Jest's snapshots too.
const SKIPPED_DIRS = new Set(['testing', '__snapshots__']);
const SKIPPED_FILE = /\.(test|contract)\.ts$/;

/**
 * Newest modification time under dir of what the build reads (0 when dir is absent), directories included:
 * a source deleted or renamed since the build changes only its directory's time (so does a test file added
 * beside sources: one build more).
 */
function newestSourceMtime(dir) {
  let newest;
  let entries;
  try {
    newest = fs.statSync(dir).mtimeMs;
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0; // not shipped (the Docker image carries dist/ only)
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIPPED_DIRS.has(e.name)) newest = Math.max(newest, newestSourceMtime(p));
    } else if (!SKIPPED_FILE.test(e.name)) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

function fileMtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0; // not shipped
  }
}

/** dist/ exists and nothing the build reads changed after its last build. */
function compiledIsCurrent() {
  if (!fs.existsSync(COMPILED_MAIN)) return false;
  const built = fileMtime(BUILD_STAMP);
  if (built === 0) return false;
  const sources = SOURCE_DIRS.map((d) => newestSourceMtime(path.join(ROOT, d)));
  if (sources.every((t) => t === 0)) return true; // the Docker image: dist/ is all there is
  return sources.every((t) => t <= built) && BUILD_FILES.every((f) => fileMtime(path.join(ROOT, f)) <= built);
}

module.exports = { COMPILED_MAIN, compiledIsCurrent };
