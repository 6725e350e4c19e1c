import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { KubeApiHooks } from '../hooks';
import { startKubeApiServer } from '../server';
import { loadClientNode, type ClientNode } from './client-node';

// What the contract suite runs against: the in-process test server by default, or a real cluster when
// OPENPDS_KUBE_E2E_KUBECONFIG names its kubeconfig (see hack/kind-contract.sh). Tests only use the hooks
// (fault injection) when they exist, so every other test is the same against both.
export const E2E_KUBECONFIG_ENV = 'OPENPDS_KUBE_E2E_KUBECONFIG';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ContractTarget {
  kind: 'test-server' | 'cluster';
  kubeconfigPath: string;
  hooks?: KubeApiHooks;
  k8s: ClientNode;
  kc: InstanceType<ClientNode['KubeConfig']>;
  objects: InstanceType<ClientNode['KubernetesObjectApi']>;
  /** Runs the preinstalled kubectl against the target with its own discovery cache. */
  kubectl(args: string[], options?: { input?: string }): Promise<KubectlResult>;
  /** A fresh namespace for one test file, deleted by close(). */
  namespace(): Promise<string>;
  close(): Promise<void>;
}

export const FIXTURES = join(__dirname, '..', 'fixtures');

export async function readFixture(name: string): Promise<Record<string, any>> {
  return parseYaml(await readFile(join(FIXTURES, name), 'utf8')) as Record<string, any>;
}

export async function startContractTarget(): Promise<ContractTarget> {
  const dir = await mkdtemp(join(tmpdir(), 'openpds-kube-contract-'));
  const external = process.env[E2E_KUBECONFIG_ENV];
  const server = external ? undefined : await startKubeApiServer({ bookmarkIntervalMs: 500 });
  const kubeconfigPath = external ?? join(dir, 'kubeconfig');
  if (server) await server.writeKubeconfig(kubeconfigPath);
  const k8s = await loadClientNode();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const namespaces: string[] = [];

  const kubectl = (args: string[], options: { input?: string } = {}) =>
    new Promise<KubectlResult>((resolve, reject) => {
      const child = spawn('kubectl', args, { env: { ...process.env, KUBECONFIG: kubeconfigPath, KUBECACHEDIR: join(dir, 'kube-cache') } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(options.input ?? '');
    });

  return {
    kind: server ? 'test-server' : 'cluster',
    kubeconfigPath,
    ...(server ? { hooks: server.hooks } : {}),
    k8s,
    kc,
    objects,
    kubectl,
    async namespace() {
      const name = `contract-${randomBytes(4).toString('hex')}`;
      await objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      namespaces.push(name);
      return name;
    },
    async close() {
      await Promise.allSettled(namespaces.map((name) => objects.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })));
      await server?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Creates (or, on a shared cluster, updates) the sample CRD and waits until it is established. Installed with
 * kubectl, as people do: client-node's typed serializer drops schema keys such as `default` and
 * `x-kubernetes-list-type` (they are `_default`, `x_kubernetes_list_type` in its models).
 */
export async function installWidgetCrd(target: ContractTarget): Promise<void> {
  const crd = join(FIXTURES, 'widget-crd.yaml');
  const applied = await target.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=contract-suite', '-f', crd]);
  if (applied.code !== 0) throw new Error(`kubectl apply of the CRD failed: ${applied.stderr}`);
  const established = await target.kubectl(['wait', '--for=condition=Established', '--timeout=30s', '-f', crd]);
  if (established.code !== 0) throw new Error(`CRD not established: ${established.stderr}`);
}

/** Polls until the check passes (real clusters are eventually consistent; so are the controllers here). */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

/** The HTTP status of a rejected client-node call (ApiException.code). */
export async function statusOf(promise: Promise<unknown>): Promise<{ code: number; body: any }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { code?: number; body?: unknown };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, body: typeof e.body === 'string' ? JSON.parse(e.body) : e.body };
  }
  throw new Error('expected the call to fail');
}
