/**
 * `openpds serve` as a child process, the way an operator runs it: a clean environment (only PATH and
 * HOME are inherited, so nothing from the test runner leaks into the server's config), a port picked
 * here so signed URLs are known before start, stdout/stderr captured to show when a test fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';

const REPO = path.resolve(__dirname, '../../..');
const READY_TIMEOUT_MS = 30_000;

export interface ChildServer {
  url: string;
  pid: number;
  /** Everything the child wrote to stdout and stderr so far. */
  output(): string;
  /** SIGKILL: no shutdown hook runs, exactly like a crash or an OOM kill. */
  kill9(): Promise<void>;
  /** SIGTERM, then its exit code: a graceful stop answers 0. */
  stop(): Promise<number | null>;
}

/** A free loopback port: bind to 0, read it, release it. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const running = new Set<ChildProcess>();

/** An `openpds` command run as a child process. */
export interface OpenpdsProcess {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Its exit code once it ended (null when a signal ended it). */
  exited: Promise<number | null>;
  /** SIGTERM, the way Kubernetes stops a pod, then its exit code (a graceful stop answers 0). */
  stop(): Promise<number | null>;
}

/**
 * Runs `node bin/openpds.js ...args` with a clean environment: PATH and HOME, then `env`. Output captured;
 * killAllChildServers ends it whatever the test left it in.
 */
export function spawnOpenpds(args: string[], env: Record<string, string>): OpenpdsProcess {
  const childEnv: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(process.env.HOME ? { HOME: process.env.HOME } : {}), ...env };
  const child = spawn(process.execPath, [path.join(REPO, 'bin/openpds.js'), ...args], { cwd: REPO, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => running.delete(child));
  return {
    child,
    output: () => output,
    exited,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Starts `node bin/openpds.js serve` and resolves once /readyz reports database and storage ok. */
export async function startChildServer(env: Record<string, string>, port?: number): Promise<ChildServer> {
  const chosen = port ?? (await freePort());
  const { child, output, exited, stop } = spawnOpenpds(['serve'], { ...env, OPENPDS_PORT: String(chosen), OPENPDS_HOST: '127.0.0.1', OPENPDS_PUBLIC_URL: `http://127.0.0.1:${chosen}` });

  const url = `http://127.0.0.1:${chosen}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`openpds serve exited (${child.exitCode ?? child.signalCode}):\n${output()}`);
    // The server listens before it migrates and attaches its routes (so signed URLs know the port): a probe
    // sent meanwhile gets no answer at all, hence the per-probe timeout.
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`openpds serve not ready after ${READY_TIMEOUT_MS} ms:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid!,
    output,
    stop,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** For afterAll: every child still alive is killed, whatever state the test left it in. */
export async function killAllChildServers(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      else return;
      await exited;
    }),
  );
}

/** Runs fn; on failure, appends the child's output so the reason the server gave is in the report. */
export async function withServerOutput<T>(server: Pick<ChildServer, 'output'> | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (server && error instanceof Error) error.message += `\n--- openpds serve output ---\n${server.output().slice(-8000)}`;
    throw error;
  }
}
