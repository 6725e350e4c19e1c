/**
 * Runs the real `kubectl` against a kubeconfig. Asynchronous on purpose: the Kubernetes API test server
 * runs in the test's own process, so a synchronous child would block the server it talks to.
 */
import { spawn } from 'node:child_process';

export function kubectl(kubeconfig: string, args: string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', args, { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`kubectl ${args.join(' ')} exited ${code}: ${err || out}`))));
    child.stdin.end(stdin ?? '');
  });
}
