import { startTestKube, type TestKube } from '../../../test/operator/support/kube';
import { createEventRecorder } from './events';
import type { KubeObject } from './kube-client';

const NS = 'events-test';
let kube: TestKube;
beforeAll(async () => {
  kube = await startTestKube();
  await kube.createNamespace(NS);
});
afterAll(() => kube?.close());

const involved: KubeObject = { apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', metadata: { name: 'acme', namespace: NS, uid: 'uid-1' } };
const events = async () => (await kube.client.list<KubeObject & Record<string, any>>({ apiVersion: 'v1', kind: 'Event', namespace: NS })).items;

test('repeats of one event bump count and lastTimestamp of a single Event; other reasons get their own', async () => {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  let n = 0;
  const errors: unknown[] = [];
  const recorder = createEventRecorder({ client: kube.client, now: () => new Date(clock), nameSuffix: () => `e${++n}`, onError: (e) => errors.push(e) });
  for (let i = 0; i < 3; i++) {
    await recorder.record(involved, 'Warning', 'MissingSecret', 'Secret acme-s3 does not exist');
    clock += 1000;
  }
  await recorder.record(involved, 'Normal', 'Ready', 'Data plane ready');
  const list = await events();
  expect(list).toHaveLength(2);
  const warning = list.find((e) => e.reason === 'MissingSecret')!;
  expect(warning).toMatchObject({
    metadata: { name: 'acme.e1' },
    type: 'Warning',
    count: 3,
    firstTimestamp: '2026-01-01T00:00:00Z',
    lastTimestamp: '2026-01-01T00:00:02Z',
    involvedObject: { kind: 'Domain', name: 'acme', uid: 'uid-1', namespace: NS },
    source: { component: 'openpds-operator' },
  });
  expect(list.find((e) => e.reason === 'Ready')).toMatchObject({ count: 1, type: 'Normal' });
  expect(errors).toEqual([]);
});

test('an expired Event starts a new series, and a failing API never throws out of record()', async () => {
  let n = 0;
  const errors: unknown[] = [];
  const recorder = createEventRecorder({ client: kube.client, nameSuffix: () => `x${++n}`, onError: (e) => errors.push(e) });
  await recorder.record(involved, 'Normal', 'Pruned', 'gone');
  await kube.client.delete({ apiVersion: 'v1', kind: 'Event', namespace: NS, name: 'acme.x1' });
  await recorder.record(involved, 'Normal', 'Pruned', 'gone');
  expect((await events()).filter((e) => e.reason === 'Pruned').map((e) => [e.metadata?.name, e.count])).toEqual([['acme.x2', 1]]);

  kube.server.hooks.failRequests({ status: 500, count: 1 });
  await expect(recorder.record(involved, 'Normal', 'Other', 'lost')).resolves.toBeUndefined();
  expect(errors).toHaveLength(1);
});

test('an object with a 253-character name (the longest valid) still gets its Event: the name prefix is cut, the Event stays valid', async () => {
  const errors: unknown[] = [];
  const recorder = createEventRecorder({ client: kube.client, onError: (e) => errors.push(e) });
  // The cut would land on '-', which may not end a name: it is dropped too.
  const name = `${'a'.repeat(235)}-${'b'.repeat(17)}`;
  expect(name).toHaveLength(253);
  const long: KubeObject = { apiVersion: 'openpds.io/v1alpha1', kind: 'Drive', metadata: { name, namespace: NS, uid: 'uid-long' } };
  await recorder.record(long, 'Warning', 'DomainNotFound', 'Domain missing');
  await recorder.record(long, 'Warning', 'DomainNotFound', 'Domain missing'); // and the series is counted
  expect(errors).toEqual([]);
  const event = (await events()).find((e) => e.involvedObject.uid === 'uid-long')!;
  expect(event.metadata!.name!.length).toBeLessThanOrEqual(253);
  expect(event.metadata!.name).toMatch(new RegExp(`^a{235}\\.[0-9a-f]{16}$`));
  expect(event).toMatchObject({ count: 2, involvedObject: { name } });
});
