/**
 * Test support: the Kubernetes API test server with a kubeconfig on disk, a KubeConfig loaded from it,
 * the operator's kube client, and helpers every operator test needs (namespaces, polling).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { createKubeClient, type KubeClient } from '../../../operator/src/kube/kube-client';
import { startKubeApiServer, type KubeApiServer, type KubeApiServerOptions } from '../../kube-api/server';

export interface TestKube {
  server: KubeApiServer;
  kubeconfig: string;
  kc: KubeConfig;
  client: KubeClient;
  dir: string;
  createNamespace(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function startTestKube(options: KubeApiServerOptions = {}): Promise<TestKube> {
  const server = await startKubeApiServer(options);
  const dir = await mkdtemp(join(tmpdir(), 'openpds-operator-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await server.writeKubeconfig(kubeconfig);
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const client = createKubeClient(kc);
  return {
    server,
    kubeconfig,
    kc,
    client,
    dir,
    createNamespace: async (name) => void (await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })),
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it stops throwing (or returns true), up to `timeoutMs`. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await check();
      if (value !== false) return value;
      throw new Error('condition still false');
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
