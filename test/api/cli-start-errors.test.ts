/**
 * A start that fails on the machine names the setting to change: a port in use (OPENPDS_PORT,
 * OPENPDS_METRICS_PORT, the operator's --metrics-port), a host that does not resolve or is not this
 * machine's (OPENPDS_HOST), a data dir that cannot be made (OPENPDS_DATA_DIR). They printed Node's raw
 * error and a stack trace, naming no variable; now one JSON line with the code InvalidConfiguration.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../api-server/src/config/config';
import { startServer } from '../../api-server/src/main';
import { fatalLogLine } from '../../api-server/src/shared/fatal-log-line';
import { runOperatorCommand } from '../../operator/src/cli-operator';
import { startWorker } from '../../workers/src/main';
import { testServerEnv } from '../support/test-server';

const ROOT = path.join(__dirname, '../..');

async function listenAnywhere(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function startFailure(env: Record<string, string>): Promise<{ error: unknown; line: { code: string; msg: string } }> {
  const error = await startServer(env).then(
    (server) => server.close().then(() => undefined),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return { error, line: JSON.parse(fatalLogLine(error)) as { code: string; msg: string } };
}

describe('start errors name the setting', () => {
  let busy: Awaited<ReturnType<typeof listenAnywhere>>;
  let env: Record<string, string>;
  let dataDir: string;
  beforeAll(async () => {
    busy = await listenAnywhere();
    ({ env, dataDir } = await testServerEnv('pglite', 'local'));
  });
  afterAll(async () => {
    await busy.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a port in use: OPENPDS_PORT and the port', async () => {
    const { line } = await startFailure({ ...env, OPENPDS_PORT: String(busy.port) });
    expect(line).toMatchObject({ code: 'InvalidConfiguration', msg: expect.stringContaining(`OPENPDS_PORT=${busy.port}: port ${busy.port} is already in use on 127.0.0.1`) });
  });

  it('a metrics port in use: OPENPDS_METRICS_PORT', async () => {
    const { line } = await startFailure({ ...env, OPENPDS_METRICS_PORT: String(busy.port) });
    expect(line.msg).toContain(`OPENPDS_METRICS_PORT=${busy.port}: port ${busy.port} is already in use`);
  });

  it.each([['no-such-host.invalid'], ['192.0.2.1']])('a host that does not resolve or is not this machine\'s (%s): OPENPDS_HOST', async (host) => {
    const { line } = await startFailure({ ...env, OPENPDS_HOST: host });
    expect(line).toMatchObject({ code: 'InvalidConfiguration', msg: expect.stringContaining(`OPENPDS_HOST=${host}: cannot listen on that address`) });
  });

  it('a data dir through a file: OPENPDS_DATA_DIR, and no port taken', async () => {
    const parent = mkdtempSync(path.join(tmpdir(), 'openpds-datadir-'));
    try {
      writeFileSync(path.join(parent, 'file'), '');
      const bad = path.join(parent, 'file', 'data');
      const { line } = await startFailure({ ...env, OPENPDS_DATA_DIR: bad, OPENPDS_PORT: String(busy.port) });
      expect(line.msg).toContain(`OPENPDS_DATA_DIR=${bad}: cannot create or write the data directory (ENOTDIR`);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('`openpds worker` on a port in use: OPENPDS_PORT', async () => {
    const error = await startWorker({ OPENPDS_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', OPENPDS_HOST: '127.0.0.1', OPENPDS_PORT: String(busy.port), OPENPDS_LOG_LEVEL: 'silent' }).then(
      (worker) => worker.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect((error as Error).message).toContain(`OPENPDS_PORT=${busy.port}: port ${busy.port} is already in use`);
  });

  it('`openpds operator` on a metrics port in use: --metrics-port', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'openpds-kube-'));
    const kubeconfig = path.join(dir, 'config');
    writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
    const terminationLog = path.join(dir, 'termination-log');
    writeFileSync(terminationLog, ''); // as the kubelet makes it
    const errors: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    let termination: string;
    try {
      expect(await runOperatorCommand(['--kubeconfig', kubeconfig, '--monitoring', 'false', '--metrics-port', String(busy.port)], { terminationMessagePath: terminationLog })).toBe(1);
      termination = readFileSync(terminationLog, 'utf8');
    } finally {
      spy.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(errors.join('\n')).toContain(`openpds operator: --metrics-port ${busy.port}: port ${busy.port} is already in use`);
    // What `kubectl describe pod` shows of the operator's crash loop.
    expect(termination).toBe(errors.find((line) => line.startsWith('openpds operator: --metrics-port')));
  });

  it('`openpds serve` prints it as one JSON line and exits 1, and leaves it as the container\'s termination message', async () => {
    // As the kubelet does: the file exists before the container starts.
    const terminationLog = path.join(dataDir, 'termination-log');
    writeFileSync(terminationLog, '');
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/openpds.js'), 'serve'], {
      env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env, OPENPDS_PORT: String(busy.port), OPENPDS_TERMINATION_MESSAGE_PATH: terminationLog },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(1);
    const lines = output.split('\n').filter((l) => l.trim() && !l.startsWith('openpds: dist/ is older'));
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as { code: string; msg: string };
    expect(line).toMatchObject({ level: 60, code: 'InvalidConfiguration', msg: expect.stringContaining(`OPENPDS_PORT=${busy.port}`) });
    expect(readFileSync(terminationLog, 'utf8')).toBe(`InvalidConfiguration: ${line.msg}`);
  }, 60_000);
});
