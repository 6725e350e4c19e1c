// The suites' jest environment: jest's own node environment, plus one report jest does not give. When a run
// ends, jest tells each worker process to end and gives it 500 ms to exit on its own before killing it with
// "A worker process has failed to exit gracefully ... likely caused by tests leaking", without saying what
// kept it alive. Here, 400 ms after that end message, a worker still alive writes to stderr what holds it
// (sockets with their ports, child processes, servers, and timers with the test file that set them and
// their callback), so the warning comes with its cause; a worker held by nothing whose event loop drains
// late says that instead.
// Timers are no handles on Node 20 (process._getActiveHandles() leaves them out, so a leaked setInterval
// alone was reported as nothing): each test file's setTimeout and setInterval are tracked here, with the
// file, and process.getActiveResourcesInfo() counts any other (set outside a test file's global).
// The probe only listens (its timer is unref'd, its listener removed at the
// end message), so it keeps nothing alive itself. It reads jest-worker's message protocol
// (CHILD_MESSAGE_END = 2, the first element of the end message): should that change, it stays silent.
const { TestEnvironment } = require('jest-environment-node');

const CHILD_MESSAGE_END = 2;
const GRACE_MS = 400;

/** Timers set through a test file's global setTimeout/setInterval, each with the file; fired or cleared ones are dropped now and then. */
const trackedTimers = new Map();
let setSinceSweep = 0;

function sweepTimers() {
  setSinceSweep = 0;
  for (const timer of trackedTimers.keys()) if (timer._destroyed) trackedTimers.delete(timer);
}

/** The timers still pending that hold the process (ref'd), with the file that set each. */
function pendingTimers() {
  sweepTimers();
  return [...trackedTimers].filter(([timer]) => !timer._destroyed && timer.hasRef());
}

/** A copy of setTimeout/setInterval that records each timer with `file` (util.promisify's custom form kept). */
function trackingTimerFunction(real, file) {
  function tracked(...args) {
    const timer = real(...args);
    if (timer && typeof timer.hasRef === 'function') {
      trackedTimers.set(timer, file);
      if (++setSinceSweep >= 10_000) sweepTimers(); // a suite polling in a loop sets thousands
    }
    return timer;
  }
  for (const key of Reflect.ownKeys(real)) if (typeof key === 'symbol') tracked[key] = real[key];
  return tracked;
}

function describeHandle(h) {
  const kind = h?.constructor?.name ?? typeof h;
  try {
    if (kind === 'Socket') return h.remotePort ? `Socket ${h.localAddress}:${h.localPort} -> ${h.remoteAddress}:${h.remotePort}` : `Socket fd ${h._handle?.fd ?? '?'}`;
    if (kind === 'ChildProcess') return `ChildProcess pid ${h.pid}: ${[h.spawnfile, ...(h.spawnargs ?? []).slice(1)].join(' ').slice(0, 200)}`;
    if (kind === 'Server') return `Server ${JSON.stringify(h.address())}`;
    if (kind === 'Timeout') return `Timeout ${h._idleTimeout} ms${h._repeat ? ' (interval)' : ''}: ${String(h._onTimeout).replace(/\s+/g, ' ').slice(0, 160)}`;
  } catch {
    // A half-closed handle may throw on a getter: its kind is still worth printing.
  }
  return kind;
}

function armExitProbe() {
  if (process.__openpdsExitProbe || typeof process.send !== 'function') return; // once per worker; not in-band
  process.__openpdsExitProbe = true;
  let endedAt = 0;
  let terminated = false;
  // A worker that nothing holds but whose event loop was busy (a long synchronous teardown, a GC of a heap
  // full of PGlite instances) drains late: that says so too, as the timer below cannot fire on time then.
  process.on('exit', () => {
    const ms = endedAt ? Date.now() - endedAt : 0;
    if (ms > 300 && !terminated) process.stderr.write(`jest worker ${process.pid}: nothing held it, but its event loop drained only ${ms} ms after the end of the run\n`);
  });
  /** What holds the process now, a line each (none: nothing does). */
  const holders = () => {
    const handles = process._getActiveHandles().filter((h) => !(h === process.stdout || h === process.stderr || h === process.stdin));
    const lines = handles.map((h) => `  ${describeHandle(h)}`);
    const timers = pendingTimers();
    lines.push(...timers.map(([timer, file]) => `  ${describeHandle(timer)} (set by ${file})`));
    // Timers set elsewhere (a module holding Node's own timers, the environment's realm): counted only.
    const untracked = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length - timers.length;
    if (untracked > 0) lines.push(`  ${untracked} more timer(s), not set through a test file's setTimeout/setInterval`);
    return [...lines, ...process._getActiveRequests().map((r) => `  request ${r?.constructor?.name ?? typeof r}`)];
  };
  let reported = false;
  const onMessage = (message) => {
    if (!Array.isArray(message) || message[0] !== CHILD_MESSAGE_END) return;
    process.removeListener('message', onMessage);
    endedAt = Date.now();
    setTimeout(() => {
      const lines = holders();
      if (lines.length === 0) return; // nothing holds it: the 'exit' handler says when it drained
      reported = true;
      const late = Date.now() - endedAt - GRACE_MS;
      process.stderr.write(`jest worker ${process.pid} still alive ${GRACE_MS} ms after the end of the run${late > 50 ? ` (its event loop blocked for ~${late} ms more)` : ''}, held by:\n${lines.join('\n')}\n`);
    }, GRACE_MS).unref();
    // jest's force exit is a SIGTERM workerGracefulExitTimeout after this message (500 ms by default; 5 s in
    // jest.config.js). Its default action killed a worker whose
    // event loop was busy all that time at once, before the report above or the 'exit' handler could run:
    // jest's warning then came with no cause at all. Caught from now on, the signal waits for the loop: a
    // worker nothing holds drains and the 'exit' handler says how late; one still held says what holds it
    // (unless the report did) and exits as the signal would have. jest sends SIGKILL 500 ms later.
    process.once('SIGTERM', () => {
      terminated = true;
      if (!reported) {
        const lines = holders();
        process.stderr.write(`jest worker ${process.pid}: jest's SIGTERM ran only ${Date.now() - endedAt} ms after the end of the run (its event loop busy until then), ${lines.length ? `held by:\n${lines.join('\n')}` : 'held by nothing'}\n`);
      }
      process.exit(143);
    });
  };
  process.on('message', onMessage);
}

class OpenPdsEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    armExitProbe();
    const root = config?.projectConfig?.rootDir;
    const file = context?.testPath ? (root ? require('node:path').relative(root, context.testPath) : context.testPath) : 'a test file';
    for (const name of ['setTimeout', 'setInterval']) {
      Object.defineProperty(this.global, name, { value: trackingTimerFunction(globalThis[name], file), writable: true, configurable: true, enumerable: true });
    }
  }

  async teardown() {
    sweepTimers(); // the file's fired and cleared timers (and what their callbacks hold) are let go
    await super.teardown();
  }
}

module.exports = OpenPdsEnvironment;
module.exports.armExitProbe = armExitProbe; // for its test
module.exports.trackingTimerFunction = trackingTimerFunction; // for its test
