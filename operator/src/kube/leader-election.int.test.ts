import { startTestKube, eventually, type TestKube } from '../../../test/operator/support/kube';
import type { KubeObject } from './kube-client';
import { createLeaderElector, type LeaderElector, type LeaseSpec } from './leader-election';

// Real timers with short durations against the Kubernetes API test server (Leases are stored as on a
// real apiserver, with resourceVersion preconditions on update).
const NS = 'lease-test';
let kube: TestKube;
let n = 0;
const electors: LeaderElector[] = [];
beforeAll(async () => {
  kube = await startTestKube();
  await kube.createNamespace(NS);
});
afterEach(() => electors.splice(0).forEach((e) => e.abandon()));
afterAll(() => kube?.close());

function elector(identity: string, name: string, extra: { onStoppedLeading?: () => void; onStandby?: (holder: string) => void; onError?: (error: unknown) => void } = {}) {
  const e = createLeaderElector({ client: kube.client, namespace: NS, name, identity, leaseDurationMs: 1000, retryIntervalMs: 50, ...extra });
  electors.push(e);
  return e;
}
const lease = async (name: string) => (await kube.client.get<KubeObject & { spec: LeaseSpec }>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: NS, name })).spec;

test('one leader at a time; the standby takes over at once when the leader releases', async () => {
  const name = `l${++n}`;
  const a = elector('a', name);
  const b = elector('b', name);
  expect(await a.acquire()).toBe(true);
  let bWon = false;
  void b.acquire().then((won) => (bWon = won));
  // Several lease renewals pass and b never gets it.
  await new Promise((r) => setTimeout(r, 600));
  expect(bWon).toBe(false);
  expect(await lease(name)).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 1 });
  const renewedAt = (await lease(name)).renewTime;
  await eventually(async () => expect((await lease(name)).renewTime).not.toBe(renewedAt));

  const released = Date.now();
  await a.release();
  expect(a.isLeader()).toBe(false);
  await eventually(() => expect(bWon).toBe(true), 900); // well under the 1 s lease duration
  expect(Date.now() - released).toBeLessThan(900);
  expect(await lease(name)).toMatchObject({ holderIdentity: 'b', leaseTransitions: 0 });
});

test('after a crash (no release) the standby takes over only once the lease expired, by its own clock', async () => {
  const name = `l${++n}`;
  const a = elector('a', name);
  expect(await a.acquire()).toBe(true);
  a.abandon(); // the process died: the Lease still names it
  const b = elector('b', name);
  const started = Date.now();
  expect(await b.acquire()).toBe(true);
  expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  expect(await lease(name)).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
});

test('a leader that cannot renew before its deadline stops leading', async () => {
  const name = `l${++n}`;
  let stopped = false;
  const a = elector('a', name, { onStoppedLeading: () => (stopped = true) });
  expect(await a.acquire()).toBe(true);
  kube.server.hooks.failRequests({ status: 503, count: 1000, match: (r) => r.path.includes(`/leases/${name}`) });
  await eventually(() => expect(stopped).toBe(true), 3000);
  expect(a.isLeader()).toBe(false);
});

test('a candidate reports whom it waits for, and every attempt that cannot read the Lease', async () => {
  const name = `l${++n}`;
  expect(await elector('a', name).acquire()).toBe(true);
  const holders: string[] = [];
  void elector('b', name, { onStandby: (holder) => holders.push(holder) }).acquire();
  await eventually(() => expect(holders.length).toBeGreaterThanOrEqual(2));
  expect(new Set(holders)).toEqual(new Set(['a']));

  const errors: unknown[] = [];
  kube.server.hooks.failRequests({ status: 503, count: 3, match: (r) => r.path.endsWith(`/leases/${name}-other`) });
  void elector('c', `${name}-other`, { onError: (error) => errors.push(error) }).acquire();
  await eventually(() => expect(errors).toHaveLength(3)); // one per attempt, then it gets the Lease
  expect(errors[0]).toMatchObject({ status: 503 });
  await eventually(async () => expect(await lease(`${name}-other`)).toMatchObject({ holderIdentity: 'c' }));
});

test('a leader that finds the Lease taken by another steps down at once, not at its renew deadline', async () => {
  const name = `l${++n}`;
  let stoppedAt = 0;
  const a = createLeaderElector({ client: kube.client, namespace: NS, name, identity: 'a', leaseDurationMs: 3000, retryIntervalMs: 50, onStoppedLeading: () => (stoppedAt = Date.now()) });
  electors.push(a);
  expect(await a.acquire()).toBe(true);
  // Written over a's renews (every 50 ms): retried on a 409.
  await eventually(async () => {
    const current = await kube.client.get<KubeObject & { spec: LeaseSpec }>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: NS, name });
    await kube.client.replace({ ...current, spec: { ...current.spec, holderIdentity: 'intruder' } });
  });
  const takenAt = Date.now();
  await eventually(() => expect(stoppedAt).toBeGreaterThan(0), 3000);
  expect(a.isLeader()).toBe(false);
  expect(stoppedAt - takenAt).toBeLessThan(1000); // the renew deadline is 2 s away
  expect(await lease(name)).toMatchObject({ holderIdentity: 'intruder' });
});
