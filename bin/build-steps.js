#!/usr/bin/env node
// The steps of `npm run build` (package.json) around tsc: `begin` before it, `end` after it.
//   begin: dist/.build-started, holding the sources there are now (bin/dist-state.js): its time is the build's
//          start, so a source saved while tsc runs is newer than the stamp and counts as not built.
//   end:   copies what tsc does not compile (migrations, crds) into dist/, then renames the file to
//          dist/.build-stamp (a rename keeps its time): a build that failed before leaves no new stamp.
const fs = require('node:fs');
const path = require('node:path');
const { BUILD_STAMP, currentSources, sourceList } = require('./dist-state');

const ROOT = path.join(__dirname, '..');
const STARTED = path.join(ROOT, 'dist/.build-started');
const COPIED = [
  ['api-server/src/db/migrations', 'dist/api-server/src/db/migrations'],
  ['crds', 'dist/crds'],
];

const step = process.argv[2];
if (step === 'begin') {
  fs.mkdirSync(path.dirname(STARTED), { recursive: true });
  fs.writeFileSync(STARTED, sourceList(currentSources()));
} else if (step === 'end') {
  for (const [from, to] of COPIED) {
    fs.rmSync(path.join(ROOT, to), { recursive: true, force: true });
    fs.cpSync(path.join(ROOT, from), path.join(ROOT, to), { recursive: true });
  }
  fs.renameSync(STARTED, BUILD_STAMP);
} else {
  console.error('usage: node bin/build-steps.js begin|end');
  process.exit(2);
}
