import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

// A kubeconfig for the plain-HTTP test server, without credentials. client-node 1.x refuses an http://
// server unless insecure-skip-tls-verify is set (kubectl ignores the flag for http). The context's
// namespace is `default`, as for a fresh kind cluster.
export function kubeconfigFor(url: string, name = 'openpds-kube-api'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name, user: {} }],
    contexts: [{ name, context: { cluster: name, user: name, namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  });
}

export async function writeKubeconfig(file: string, url: string): Promise<void> {
  await writeFile(file, kubeconfigFor(url), { mode: 0o600 });
}
