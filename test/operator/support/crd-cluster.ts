/**
 * For one suite (its beforeAll/afterAll): the Kubernetes API test server with the shipped CRDs installed the
 * way O&M installs them (`kubectl apply --server-side -k crds/`), and a kubeconfig for the real kubectl.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeKubeconfig } from '../../kube-api/kubeconfig';
import { startKubeApiServer, type KubeApiServer } from '../../kube-api/server';
import { kubectl } from './kubectl';

export const CRDS_DIR = path.resolve(__dirname, '../../../crds');

export function useCrdCluster(tmpPrefix: string): { kubeconfig: string; readonly server: KubeApiServer; apply(manifest: string): Promise<string> } {
  const dir = mkdtempSync(path.join(tmpdir(), tmpPrefix));
  const kubeconfig = path.join(dir, 'kubeconfig');
  let server: KubeApiServer | undefined;
  beforeAll(async () => {
    server = await startKubeApiServer();
    await writeKubeconfig(kubeconfig, server.url);
    await kubectl(kubeconfig, ['apply', '--server-side', '-k', CRDS_DIR]);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    kubeconfig,
    get server() {
      if (!server) throw new Error('the CRD cluster starts in beforeAll');
      return server;
    },
    apply: (manifest) => kubectl(kubeconfig, ['apply', '-f', '-'], manifest),
  };
}
