/**
 * Stands in for a Domain's data plane where only its readiness matters: /readyz answers 200 `ok`, every
 * other path (usage, login) 404. Its `url` goes to the operator's domainEndpoints.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReadyzStub {
  url: string;
  close(): void;
}

export async function startReadyzStub(): Promise<ReadyzStub> {
  const server = createServer((req, res) => void (req.url === '/readyz' ? res.writeHead(200).end('ok') : res.writeHead(404).end()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** The three Prometheus Operator kinds the Domain chart renders: [version, kind, plural]. */
export const MONITORING_KINDS = [
  ['v1', 'ServiceMonitor', 'servicemonitors'],
  ['v1', 'PrometheusRule', 'prometheusrules'],
  ['v1alpha1', 'AlertmanagerConfig', 'alertmanagerconfigs'],
] as const;

/** Their CRDs, with schemas that accept any spec: what installing the Prometheus Operator adds. */
export const MONITORING_CRDS_YAML = MONITORING_KINDS.map(
  ([version, kind, plural]) => `---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: ${plural}.monitoring.coreos.com }
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: { kind: ${kind}, plural: ${plural}, singular: ${kind.toLowerCase()}, listKind: ${kind}List }
  versions:
    - name: ${version}
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
`,
).join('');
