// One jest run for everything; @swc/jest transpiles TypeScript (no type check: `npm run typecheck` does that).
/** @type {import('jest').Config} */
const transform = { '^.+\\.(t|j|mj)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] };
module.exports = {
  // jest's node environment, plus a report of what holds a worker still alive when the run ends (the cause
  // of jest's "failed to exit gracefully" warning, which jest does not name).
  testEnvironment: '<rootDir>/test/support/jest-environment.js',
  transform,
  // ESM-only packages (jose, openid-client, @kubernetes/client-node, cel-js) must be transpiled too.
  transformIgnorePatterns: ['/node_modules/(?!(jose|openid-client|oauth4webapi|@kubernetes/client-node|@marcbachmann/cel-js)/)'],
  testMatch: ['<rootDir>/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.openpds/'],
  // `npm start` compiles to dist/ (with a copy of package.json): not modules jest should map.
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
  testTimeout: 60_000,
  // Two workers, not jest's default of cores − 1 (one on CI's 2-core machines): the suites mostly wait on
  // PostgreSQL, radosgw, child processes and sockets, and test/api ran in 207 s with two against 319 s with one.
  maxWorkers: 2,
  // jest kills a worker that has not exited 500 ms after the end of the run, with "A worker process has
  // failed to exit gracefully". A worker that ran PGlite suites holds GBs of WebAssembly memory, and the
  // process's own teardown after its JavaScript 'exit' (freeing that memory) took longer than that on a
  // busy machine: the warning came with nothing holding the worker (the probe in jest-environment.js names
  // a holder 400 ms after the end, and named none). A worker really held is still named, then killed.
  workerGracefulExitTimeout: 5000,
};
