import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * A stand-in for hack/start-postgres.sh: a daemon in a session of its own (as pg_ctl's and ceph's are, so
 * a terminal's Ctrl-C never reaches it), its pid in DIR, and DIR/stop that stops it.
 */
const FAKE_START = `#!/bin/bash
set -e
DIR=$1
setsid sleep 300 </dev/null >/dev/null 2>&1 &
echo $! >"$DIR/daemon.pid"
printf '#!/bin/bash\\nkill $(cat %s/daemon.pid)\\n' "$DIR" >"$DIR/stop"
chmod +x "$DIR/stop"
`;

/** A benchmark that starts the fake service, then runs until it is interrupted. */
const benchmark = (fakeStart: string, serviceDir: string) => `
import { runBench } from ${JSON.stringify(path.join(ROOT, 'bench/lib/report'))};
import { startService } from ${JSON.stringify(path.join(ROOT, 'bench/lib/services'))};
runBench('fake', async () => {
  await startService(${JSON.stringify(fakeStart)}, ${JSON.stringify(serviceDir)});
  console.log('READY');
  await new Promise((resolve) => setTimeout(resolve, 300_000));
}, async () => console.log('OWN CLEANUP'));
`;

/** Running: a zombie (dead, not yet reaped by an init that reaps late) is not. */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('an interrupted benchmark', () => {
  // Ctrl-C or SIGTERM left PostgreSQL, ceph-mon, ceph-osd and radosgw running, with their temp dirs.
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('stops on %s what it started, removes its temp dirs and exits %i', async (signal, code) => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'openpds-bench-interrupt-'));
    const pids: number[] = [];
    try {
      const fakeStart = path.join(work, 'start-fake.sh');
      writeFileSync(fakeStart, FAKE_START);
      chmodSync(fakeStart, 0o755);
      const serviceDir = mkdtempSync(path.join(work, 'service-'));
      const script = path.join(work, 'fake.bench.ts');
      writeFileSync(script, benchmark(fakeStart, serviceDir));
      const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      for (const deadline = Date.now() + 50_000; !out.includes('READY'); await new Promise((r) => setTimeout(r, 50))) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`not ready: ${out}`);
      }
      const daemon = Number(readFileSync(path.join(serviceDir, 'daemon.pid'), 'utf8'));
      pids.push(daemon);
      expect(alive(daemon)).toBe(true);

      child.kill(signal);
      expect(await exited).toBe(code);
      expect(out).toContain(`${signal}: stopping the servers and services this run started`);
      expect(out).toContain('OWN CLEANUP');
      expect(out).not.toContain('fake: error');
      // The daemon's exit after its kill: waited for (a loaded machine may take longer than any fixed wait).
      for (const deadline = Date.now() + 10_000; alive(daemon) && Date.now() < deadline; await new Promise((r) => setTimeout(r, 20)));
      expect(alive(daemon)).toBe(false);
      expect(existsSync(serviceDir)).toBe(false);
    } finally {
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(work, { recursive: true, force: true });
    }
  });
});
