#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 MALLOC_ARENA_MAX=2 node --max-semi-space-size=1 --no-maglev
// The `openpds` CLI. It runs the JavaScript `npm run build` compiled to dist/ when that is there and no
// older than the sources (the Docker image, `npm start`); otherwise the TypeScript sources through tsx,
// so a fresh clone and a tree edited since the last build need no build step.
//
// Memory (issue 2, idle RSS of `openpds serve`): the shebang caps V8's young generation at 1 MB
// semi-spaces; the default 16 MB ones grow during start-up and stay committed (measured −25 MB idle RSS;
// V8 reads the flag only at start, so it cannot be set from here at run time). MALLOC_MMAP_THRESHOLD_
// gives every glibc block of 128 KiB or more its own mapping, returned to the OS when freed: by default
// the threshold rises to the largest block freed so far (start-up reads PGlite's multi-MB binary and
// bundle into buffers), later such blocks come from the heap, and freed heap memory under a live block
// stays resident (measured −15 MB). Not lower: at 32 KiB it also maps V8's 32 KiB zone segments, which
// TurboFan fills while compiling PGlite's functions on the main thread and which otherwise leave 10–25 MB
// freed but resident in the heap (idle RSS −8 to −12 MB), but then every 64 KiB socket or file read buffer
// is a fresh mapping too (measured +20% server CPU streaming 1 GiB, +50 µs per buffer). Only malloc_trim()
// returns that memory, and Node cannot call it. The image runs Node 24, whose idle RSS with embedded PGlite
// was 150-168 MB against Node 20's 133-138 (`npx tsx bench/range-download.ts --skip-range --restarts 2`
// with a Node 24 first on PATH): MALLOC_ARENA_MAX=2 keeps V8's background compiler and GC threads from
// leaving freed memory resident in arenas of their own (glibc makes up to 8 per core), and --no-maglev
// drops V8's mid-tier compiler, on by default since Node 22, and the code it keeps (TurboFan still
// optimises hot code; small-files measured 0.619x on Node 24 with it, as on Node 20). Together 140-151 MB
// on Node 24; on Node 20 (no Maglev by default) they change nothing measurable. Run as `node
// bin/openpds.js`, set them yourself. The compiled
// JavaScript saves tsx, its compile cache and the esbuild service (−5 MB). Source maps, which tsx turns
// on, keep every compiled module's map in memory (−11 MB): they stay off unless Node runs with
// --enable-source-maps.
//
// Thread pool (red team, resources): libuv runs every password hash (argon2id, 64 MiB, ~200 ms), every
// asynchronous file call of the local blob store and of /readyz's storage check, DNS lookups and zlib on
// one pool of UV_THREADPOOL_SIZE threads, 4 by default. Logins alone could hold all 4, and a download then
// crawled at ~80 KiB/s and /readyz timed out. The server runs at most 2 login checks at once
// (modules/auth/password-check-slots.ts); 16 threads leave 14 to the files whatever the logins do, and
// cost ~nothing idle (a stack each, reserved, not resident: idle RSS 179-187 MB with 4 or 16). libuv
// reads the variable once, when the pool first starts (the first asynchronous fs, dns, crypto or zlib
// call): so here, before anything is required. A value set in the environment is kept.
process.env.UV_THREADPOOL_SIZE ??= '16';

const { COMPILED_MAIN, compiledIsCurrent } = require('./dist-state');

if (compiledIsCurrent()) {
  require(COMPILED_MAIN);
} else {
  if (require('node:fs').existsSync(COMPILED_MAIN)) console.error('openpds: dist/ is older than the sources, running them through tsx (`npm run build` compiles them)');
  require('tsx/cjs');
  const wantsSourceMaps = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].includes('--enable-source-maps');
  if (!wantsSourceMaps) process.setSourceMapsEnabled(false);
  require('../cli/main.ts');
}
