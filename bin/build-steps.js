#!/usr/bin/env node
// `npm run build`: the sources `openpds` runs, compiled to dist/ (bin/openpds.js prefers them to tsx).
//   begin:   dist/.build-started, holding the sources there are now (bin/dist-state.js): its time is the
//            build's start, so a source saved while the build runs is newer than the stamp and counts as
//            not built.
//   compile: every TypeScript source to CommonJS with swc, as the tests run them (jest.config.js), the
//            compiled folders emptied first, so the output of a deleted source goes with it. Type checking
//            is `npm run typecheck`'s (tsc); tsc also compiled here (--noCheck) but took 7-8 s of a first
//            `npm start` where swc takes ~0.3 s, and a no-op run still cost it 4 s of parsing.
//   end:     copies what is not compiled (migrations, crds, the package.json version.ts reads) into dist/,
//            then renames the file to dist/.build-stamp (a rename keeps its time): a build that failed
//            before leaves no new stamp.
// With no step, all three in turn.
const fs = require('node:fs');
const path = require('node:path');
const { BUILD_STAMP, currentSources, sourceList } = require('./dist-state');

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
const STARTED = path.join(DIST, '.build-started');
const COMPILED_DIRS = ['cli', 'api-server', 'workers', 'operator'];
const COPIED = [
  ['api-server/src/db/migrations', 'dist/api-server/src/db/migrations'],
  ['crds', 'dist/crds'],
];
// As tsc (module node16, esModuleInterop) emitted them: CommonJS, default imports through the interop
// helper; import() left as is, so an ESM-only package loads as ESM. No source maps (bin/openpds.js).
const SWC_OPTIONS = {
  swcrc: false,
  configFile: false,
  jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
  module: { type: 'commonjs', ignoreDynamic: true },
  sourceMaps: false,
};

function begin() {
  fs.mkdirSync(DIST, { recursive: true });
  // compile empties dist/ first: a build that fails after it must not leave that tree marked current.
  fs.rmSync(BUILD_STAMP, { force: true });
  fs.writeFileSync(STARTED, sourceList(currentSources()));
}

async function compile() {
  const swc = require('@swc/core');
  for (const dir of COMPILED_DIRS) fs.rmSync(path.join(DIST, dir), { recursive: true, force: true });
  const sources = currentSources().filter((file) => file.endsWith('.ts'));
  await Promise.all(
    sources.map(async (file) => {
      const { code } = await swc.transformFile(path.join(ROOT, file), SWC_OPTIONS);
      const out = path.join(DIST, file.replace(/\.ts$/, '.js'));
      await fs.promises.mkdir(path.dirname(out), { recursive: true });
      await fs.promises.writeFile(out, code);
    }),
  );
  fs.rmSync(path.join(DIST, '.tsbuildinfo'), { force: true }); // tsc's, from a build before this one
}

function end() {
  for (const [from, to] of COPIED) {
    fs.rmSync(path.join(ROOT, to), { recursive: true, force: true });
    fs.cpSync(path.join(ROOT, from), path.join(ROOT, to), { recursive: true });
  }
  // api-server/src/version.ts imports ../../package.json: from dist/api-server/src that is dist/package.json.
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(DIST, 'package.json'));
  fs.renameSync(STARTED, BUILD_STAMP);
}

const STEPS = { begin, compile, end };

async function main(step) {
  if (step === undefined) {
    begin();
    await compile();
    end();
  } else if (STEPS[step]) await STEPS[step]();
  else {
    console.error('usage: node bin/build-steps.js [begin|compile|end]');
    process.exitCode = 2;
  }
}

main(process.argv[2]).catch((error) => {
  // A source swc cannot parse: its message names the file and line, as tsc's did.
  console.error(`openpds build: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
