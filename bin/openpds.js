#!/usr/bin/env -S node --max-semi-space-size=1
// The `openpds` CLI. Sources are TypeScript; tsx compiles them on load so `npm start` needs no build step.
//
// Memory (issue 2, idle RSS of `openpds serve`): the shebang caps V8's young generation at 1 MB
// semi-spaces; the default 16 MB ones grow during start-up and stay committed (measured −25 MB idle RSS,
// V8 reads the flag only at start, so it cannot be set from here at run time). Run as
// `node bin/openpds.js`, pass the flag yourself. Source maps, which tsx turns on, keep every compiled
// module's map in memory (−11 MB): they stay off unless Node runs with --enable-source-maps.
require('tsx/cjs');
const wantsSourceMaps = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].includes('--enable-source-maps');
if (!wantsSourceMaps) process.setSourceMapsEnabled(false);
require('../cli/main.ts');
