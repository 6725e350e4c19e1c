import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

// A kubeconfig for the plain-HTTP test server; kubectl and client-node both accept a cluster without
// credentials. The context's namespace is `default`, as for a fresh kind cluster.
export function kubeconfigFor(url: string, name = 'openpds-kube-api'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: url } }],
    users: [{ name, user: {} }],
    contexts: [{ name, context: { cluster: name, user: name, namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  });
}

export async function writeKubeconfig(file: string, url: string): Promise<void> {
  await writeFile(file, kubeconfigFor(url), { mode: 0o600 });
}
