#!/usr/bin/env node
// `npm start`'s build step: `npm run build` when dist/ is not current with the sources (bin/dist-state.js),
// nothing otherwise, so a start with nothing to recompile does not pay for npm and the build (~0.6 s).
const { spawnSync } = require('node:child_process');
const { compiledIsCurrent } = require('./dist-state');

if (!compiledIsCurrent()) {
  const build = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit', cwd: require('node:path').join(__dirname, '..') });
  process.exit(build.status ?? 1);
}
