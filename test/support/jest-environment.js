// The suites' jest environment: jest's own node environment, plus one report jest does not give. When a run
// ends, jest tells each worker process to end and gives it 500 ms to exit on its own before killing it with
// "A worker process has failed to exit gracefully ... likely caused by tests leaking", without saying what
// kept it alive. Here, 400 ms after that end message, a worker still alive writes to stderr the handles
// that hold it (sockets with their ports, child processes, servers, timers with their callback), so the
// warning comes with its cause; a worker held by nothing whose event loop drains late says that instead.
// The probe only listens (its timer is unref'd, its listener removed at the
// end message), so it keeps nothing alive itself. It reads jest-worker's message protocol
// (CHILD_MESSAGE_END = 2, the first element of the end message): should that change, it stays silent.
const { TestEnvironment } = require('jest-environment-node');

const CHILD_MESSAGE_END = 2;
const GRACE_MS = 400;

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
  // A worker that nothing holds but whose event loop was busy (a long synchronous teardown, a GC of a heap
  // full of PGlite instances) drains late: that says so too, as the timer below cannot fire on time then.
  process.on('exit', () => {
    const ms = endedAt ? Date.now() - endedAt : 0;
    if (ms > 300) process.stderr.write(`jest worker ${process.pid}: nothing held it, but its event loop drained only ${ms} ms after the end of the run\n`);
  });
  const onMessage = (message) => {
    if (!Array.isArray(message) || message[0] !== CHILD_MESSAGE_END) return;
    process.removeListener('message', onMessage);
    endedAt = Date.now();
    setTimeout(() => {
      const handles = process._getActiveHandles().filter((h) => !(h === process.stdout || h === process.stderr || h === process.stdin));
      const lines = handles.map((h) => `  ${describeHandle(h)}`);
      const requests = process._getActiveRequests().map((r) => `  request ${r?.constructor?.name ?? typeof r}`);
      if (lines.length + requests.length === 0) return; // nothing holds it: the 'exit' handler says when it drained
      const late = Date.now() - endedAt - GRACE_MS;
      process.stderr.write(`jest worker ${process.pid} still alive ${GRACE_MS} ms after the end of the run${late > 50 ? ` (its event loop blocked for ~${late} ms more)` : ''}, held by:\n${[...lines, ...requests].join('\n')}\n`);
    }, GRACE_MS).unref();
  };
  process.on('message', onMessage);
}

class OpenPdsEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    armExitProbe();
  }
}

module.exports = OpenPdsEnvironment;
module.exports.armExitProbe = armExitProbe; // for its test
