/**
 * Ctrl-C or SIGTERM during a benchmark. Without a handler Node exits at once, and what the run started
 * outlived it: PostgreSQL and radosgw (ceph-mon, ceph-osd with a 4 GiB memstore) run in sessions of their
 * own, so the signal never reaches them, and their temp dirs stayed too (red team F5). The cleanups
 * registered here run once, in the order registered (a benchmark's own, from runBench, before the
 * services it runs on), then the process exits 128 + the signal's number, as a shell reports it: 130 for
 * SIGINT, 143 for SIGTERM.
 */
const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
type Signal = keyof typeof EXIT_CODES;

const cleanups: (() => Promise<void>)[] = [];
let signalled: Signal | undefined;
let installed = false;

/** Runs `cleanup` if the process is interrupted; returns a function that unregisters it. */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  cleanups.push(cleanup);
  if (!installed) {
    installed = true;
    for (const signal of Object.keys(EXIT_CODES) as Signal[]) process.on(signal, () => void handle(signal));
  }
  return () => {
    const i = cleanups.indexOf(cleanup);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/** Whether a signal arrived: the benchmark's own ending (summary, exit 0/1) then yields to the cleanup's. */
export function interrupted(): boolean {
  return signalled !== undefined;
}

async function handle(signal: Signal): Promise<void> {
  if (signalled) {
    // A second Ctrl-C must not cut the stop short: that left the daemons running before.
    console.error(`${signal} again: still stopping what this run started (SIGKILL to give up)`);
    return;
  }
  signalled = signal;
  console.error(`\n${signal}: stopping the servers and services this run started, removing their temp dirs`);
  for (const cleanup of cleanups.splice(0)) {
    await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  }
  process.exit(EXIT_CODES[signal]);
}
