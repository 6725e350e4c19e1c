import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// hack/e2e-kind.sh needs docker and kind, which these machines lack; what it does to clusters that are
// not its own is checked here with stand-ins on PATH that record each call (the red team's way).
const ROOT = path.resolve(__dirname, '../..');

function runWith(clusters: string[], env: Record<string, string>) {
  const bin = mkdtempSync(path.join(tmpdir(), 'openpds-e2e-kind-'));
  const log = path.join(bin, 'calls.log');
  const stub = (name: string, body: string) => {
    writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> ${log}\n${body}\n`);
    chmodSync(path.join(bin, name), 0o755);
  };
  stub('kind', `if [ "$1 $2" = "get clusters" ]; then printf '%s\\n' ${clusters.map((c) => `'${c}'`).join(' ')}; exit 0; fi\nif [ "$1" = create ]; then exit 1; fi\nexit 0`);
  stub('docker', 'exit 0');
  stub('kubectl', 'exit 0');
  try {
    const result = spawnSync('bash', [path.join(ROOT, 'hack/e2e-kind.sh')], { cwd: ROOT, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...env }, encoding: 'utf8' });
    let calls: string[] = [];
    try {
      calls = readFileSync(log, 'utf8').trim().split('\n');
    } catch {
      calls = [];
    }
    return { status: result.status, stderr: result.stderr, calls };
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

test('refuses a KIND_CLUSTER that exists and never deletes it', () => {
  const run = runWith(['kind'], { KIND_CLUSTER: 'kind' });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('a kind cluster named kind exists already');
  expect(run.calls.filter((c) => c.startsWith('kind delete') || c.startsWith('kind create'))).toEqual([]);
});

test('a create that fails deletes nothing', () => {
  const run = runWith([], { KIND_CLUSTER: 'openpds-e2e-test' });
  expect(run.status).not.toBe(0);
  expect(run.calls.some((c) => c.startsWith('kind create cluster --name openpds-e2e-test '))).toBe(true);
  expect(run.calls.filter((c) => c.startsWith('kind delete'))).toEqual([]);
});
