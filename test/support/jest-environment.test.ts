/**
 * The suites' jest environment names what keeps a jest worker alive at the end of a run (the cause jest's
 * "failed to exit gracefully" warning leaves out), and keeps nothing alive itself.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const ENVIRONMENT = path.join(__dirname, 'jest-environment.js');

/**
 * A jest worker stand-in: arms the probe, listens for jest's end message as jest-worker's child does (removing
 * its listener, which lets the IPC channel go), optionally leaks something, and is sent the end message. A
 * timer leaked "by a test file" is set as a test file sets it: through the environment's setInterval.
 */
const LEAKS = {
  server: "require('node:net').createServer().listen(0, '127.0.0.1', () => process.send('ready'));",
  timer: `require(${JSON.stringify(ENVIRONMENT)}).trackingTimerFunction(setInterval, 'test/api/leaky.test.ts')(function poll() {}, 60_000); process.send('ready');`,
  untrackedTimer: "setTimeout(() => {}, 60_000); process.send('ready');",
};

function runWorker(leak: keyof typeof LEAKS | false, blockMs = 0, stopAs: 'jest' | 'late' = 'late'): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; ms: number }> {
  const script = `require(${JSON.stringify(ENVIRONMENT)}).armExitProbe();
    const jestWorker = (m) => { if (m[0] === 2) { process.removeListener('message', jestWorker); for (const until = Date.now() + ${blockMs}; Date.now() < until; ); } };
    process.on('message', jestWorker);
    ${leak ? LEAKS[leak] : "process.send('ready');"}`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const started = Date.now();
  // jest's force exit, later than the probe's 400 ms, counted as jest counts it: from the end message (from the
  // spawn, a start slowed past 1.6 s on the loaded machine left the probe no time and failed the test).
  let forceExit: NodeJS.Timeout | undefined;
  child.once('message', () => {
    child.send([2, false]); // jest-worker's CHILD_MESSAGE_END
    // 'jest': as jest-worker does it, SIGTERM after 500 ms, SIGKILL 500 ms after that.
    forceExit =
      stopAs === 'jest'
        ? setTimeout(() => {
            child.kill('SIGTERM');
            forceExit = setTimeout(() => child.kill('SIGKILL'), 500);
          }, 500)
        : setTimeout(() => child.kill('SIGKILL'), 2000);
  });
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(forceExit);
      resolve({ code, signal, stderr, ms: Date.now() - started });
    }),
  );
}

test('a worker held by a leaked server says so on stderr, naming the server', async () => {
  const result = await runWorker('server');
  expect(result.signal).toBe('SIGKILL'); // still held: the stand-in for jest's force exit took it
  expect(result.stderr).toMatch(/still alive 400 ms after the end of the run, held by:\n {2}Server \{"address":"127\.0\.0\.1"/);
});

// Node 20 lists no timer among process._getActiveHandles(): a leaked setInterval alone held a worker while
// the probe said nothing, and jest's warning came without a cause.
test('a worker held by a timer a test file set names the timer and the file', async () => {
  const result = await runWorker('timer', 0, 'jest');
  expect(result).toMatchObject({ code: 143, signal: null }); // reported, then ended by jest's SIGTERM
  expect(result.stderr).toMatch(/held by:\n {2}Timeout 60000 ms \(interval\): function poll\(\) \{\s*\} \(set by test\/api\/leaky\.test\.ts\)\n$/);
});

test('a worker held by a timer set elsewhere counts it', async () => {
  const result = await runWorker('untrackedTimer', 0, 'jest');
  expect(result).toMatchObject({ code: 143, signal: null });
  expect(result.stderr).toMatch(/held by:\n {2}1 more timer\(s\), not set through a test file's setTimeout\/setInterval\n$/);
});

test('a worker with nothing left exits at once and prints nothing', async () => {
  const result = await runWorker(false);
  expect(result).toMatchObject({ code: 0, signal: null, stderr: '' });
  expect(result.ms).toBeLessThan(2000);
});

test('a worker held by nothing but busy past the end says its event loop drained late', async () => {
  const result = await runWorker(false, 600);
  expect(result).toMatchObject({ code: 0, signal: null });
  expect(result.stderr).toMatch(/^jest worker \d+: nothing held it, but its event loop drained only (6\d\d|[7-9]\d\d|\d{4}) ms after the end of the run\n$/);
});

// jest's force exit is a SIGTERM 500 ms after the end message: a worker busy all that time (here 900 ms) was
// killed by the signal's default action before it could say anything, and jest's warning came without a cause.
test("a worker busy past jest's SIGTERM is not killed silently by it: it says it drained late", async () => {
  const result = await runWorker(false, 900, 'jest');
  expect(result).toMatchObject({ code: 0, signal: null });
  expect(result.stderr).toMatch(/^jest worker \d+: nothing held it, but its event loop drained only (9\d\d|1\d{3}) ms after the end of the run\n$/);
});

test("a worker held by a leak and sent jest's SIGTERM reports once, then exits", async () => {
  const result = await runWorker('server', 0, 'jest');
  expect(result).toMatchObject({ code: 143, signal: null });
  expect(result.stderr.match(/still alive 400 ms after the end of the run, held by:\n {2}Server/g)).toHaveLength(1);
  expect(result.stderr).not.toContain("jest's SIGTERM");
});
