/**
 * What a Domain's condition says about a data plane that is up but not ready, end to end on the Kubernetes
 * API test server: the operator probes a stub /readyz that answers as the data plane does on a frozen
 * database (503 within ~2 s, naming the check), then one that does not answer at all, then one that is
 * ready. The red team saw "readyz unreachable: The operation was aborted due to timeout" for the first.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runOperator, type RunningOperator } from '../../operator/src/main';
import type { Condition, Domain } from '../../operator/src/domain-types';
import type { KubeObject } from '../../operator/src/kube/kube-client';
import { READYZ_TIMEOUT_MS } from '../../operator/src/kube/readiness';
import { acmeSecretsYaml, domainYaml, startKubeWithCrds } from './support/acme-domain';
import { markDeploymentAvailable } from './support/deployments';
import { eventually, type TestKube } from './support/kube';
import { kubectl } from './support/kubectl';

const NS = 'frozen';
let kube: TestKube;
let operator: RunningOperator | undefined;
let stub: Server;
let mode: 'frozen-db' | 'hung' | 'ready' = 'frozen-db';

beforeAll(async () => {
  kube = await startKubeWithCrds(NS);
  stub = createServer((req, res) => {
    if (req.url !== '/readyz') return void res.writeHead(404).end();
    if (mode === 'hung') return; // accepted, never answered
    if (mode === 'ready') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready","database":"ok","storage":"ok","storage_claim":"ok"}');
    // The data plane's own deadline on its database check has passed: it says which check and how.
    setTimeout(() => res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"not ready","database":"timeout","storage":"ok","storage_claim":"ok"}'), 2000);
  });
  await new Promise<void>((r) => stub.listen(0, '127.0.0.1', () => r()));
});
afterAll(async () => {
  await operator?.stop();
  stub?.closeAllConnections();
  stub?.close();
  await kube?.close();
});

test('a 503 naming the database, a timeout, then ready: each said plainly in the Ready condition', async () => {
  const endpoint = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  operator = await runOperator({ kubeconfig: kube.kubeconfig, metricsPort: 0, monitoring: false, baseBackoffMs: 100, maxBackoffMs: 1000, domainEndpoints: { [`${NS}/acme`]: endpoint }, log: () => undefined });
  await kubectl(kube.kubeconfig, ['apply', '-f', '-'], `${acmeSecretsYaml(NS)}---\n${domainYaml(NS)}`);
  const ready = async () => (await kube.client.get<Domain & KubeObject>({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: NS, name: 'acme' })).status?.conditions?.find((c: Condition) => c.type === 'Ready');
  await eventually(() => kube.client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'acme-worker' }), 15_000);
  for (const name of ['acme-api', 'acme-worker']) await markDeploymentAvailable(kube.client, NS, name);

  await eventually(async () => expect(await ready()).toMatchObject({ status: 'False', reason: 'WaitingForReadyz', message: `${endpoint}/readyz answered 503: database: timeout` }), 20_000, 200);

  mode = 'hung';
  const limit = `${READYZ_TIMEOUT_MS / 1000} s`;
  await eventually(async () => expect(await ready()).toMatchObject({ status: 'False', reason: 'WaitingForReadyz', message: `${endpoint}/readyz timed out: no answer within ${limit}` }), 30_000, 200);

  mode = 'ready';
  stub.closeAllConnections();
  await eventually(async () => expect(await ready()).toMatchObject({ status: 'True', reason: 'Ready' }), 30_000, 200);
}, 120_000);
