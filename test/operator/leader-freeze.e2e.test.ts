/**
 * Leader election when the leader's connection to the API server freezes (a partition, a hung proxy): no
 * answer and no socket error, so only the renew deadline can end its leadership. Two operators in this
 * process, the first reaching the Kubernetes API test server through a TCP proxy that stops forwarding
 * (sockets stay open) on demand. There must never be two leaders at once, and the second must take over
 * once the Lease expired.
 */
import { join } from 'node:path';
import { writeKubeconfig } from '../kube-api/kubeconfig';
import { runOperator, type RunningOperator } from '../../operator/src/main';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { startKubeWithCrds } from './support/acme-domain';
import { eventually, type TestKube } from './support/kube';

const NS = 'tenants';
const LEASE_MS = 3000;
let kube: TestKube;
let proxy: TcpProxy;
const operators: RunningOperator[] = [];

function freeze(on: boolean) {
  if (proxy) proxy.mode = on ? 'frozen' : 'pass';
}

beforeAll(async () => {
  kube = await startKubeWithCrds(NS);
  proxy = await startTcpProxy(new URL(kube.server.url));
  await writeKubeconfig(join(kube.dir, 'kubeconfig-proxied'), proxy.url);
});
afterAll(async () => {
  freeze(false);
  await Promise.all(operators.map((o) => o.stop()));
  await proxy?.close();
  await kube?.close();
});

const start = async (kubeconfig: string) => {
  const op = await runOperator({ kubeconfig, metricsPort: 0, leaderElect: true, leaseNamespace: 'default', leaseDurationMs: LEASE_MS, monitoring: false, log: () => undefined });
  operators.push(op);
  return op;
};
const gauge = async (op: RunningOperator) => Number((await (await fetch(`${op.metricsUrl}/metrics`)).text()).match(/^openpds_operator_leader (\d)/m)![1]);

test('a leader whose API connection freezes steps down by its renew deadline, before the standby takes over: never two leaders', async () => {
  const first = await start(join(kube.dir, 'kubeconfig-proxied'));
  await eventually(async () => expect(await gauge(first)).toBe(1));
  const firstHolder = (await kube.client.get<{ spec: { holderIdentity: string } }>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'default', name: 'openpds-operator' })).spec.holderIdentity;
  const second = await start(kube.kubeconfig);
  await new Promise((r) => setTimeout(r, 1000));
  expect(await gauge(second)).toBe(0);

  freeze(true);
  const frozenAt = Date.now();
  let both = 0;
  let firstDownAt: number | undefined;
  let secondUpAt: number | undefined;
  // Both gauges, as Prometheus would scrape them, every few milliseconds until the standby leads.
  while (secondUpAt === undefined && Date.now() - frozenAt < 20_000) {
    const [a, b] = await Promise.all([gauge(first), gauge(second)]);
    if (a === 1 && b === 1) both++;
    if (a === 0) firstDownAt ??= Date.now();
    if (b === 1) secondUpAt = Date.now();
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(both).toBe(0);
  expect(first.isLeader()).toBe(false);
  // Stepped down within the renew deadline (2/3 of the lease) plus a renew interval, not at a socket timeout.
  expect(firstDownAt! - frozenAt).toBeLessThan(LEASE_MS);
  // The standby waited for the Lease to expire (a whole duration since the last renew it saw).
  expect(secondUpAt).toBeDefined();
  expect(secondUpAt! - frozenAt).toBeGreaterThanOrEqual(LEASE_MS - 1000);
  expect(second.isLeader()).toBe(true);

  // The connection comes back: what the first had in flight was aborted, and it does not lead again.
  freeze(false);
  await new Promise((r) => setTimeout(r, LEASE_MS / 2));
  expect([await gauge(first), await gauge(second)]).toEqual([0, 1]);
  const lease = await kube.client.get<{ spec: { holderIdentity: string } }>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'default', name: 'openpds-operator' });
  expect(lease.spec.holderIdentity).not.toBe(firstHolder);
});
