import type { AdminClient } from '../admin-client/admin-client';
import type { KubeClient } from '../kube/kube-client';
import type { OperatorRuntime } from '../main';
import { createOperatorMetrics } from '../metrics';
import type { DeferredDriveDelete } from './drive-context';
import { createDeferredDeletes } from './drive-deferred-deletes';
import { withMarker } from './drive-desired';
import { deferredDeleteKey, DEFERRED_DELETES_DOMAIN_ANNOTATION, DEFERRED_DELETES_LABEL, encodeEntry } from './drive-deferred-store';

const SECRET_KEY = 'the Domain secretKey';

const entry: DeferredDriveDelete = { uid: 'u-1', namespace: 'ns', name: 'team', domain: 'd', driveId: 'drv-1', owner: { kind: 'Group', name: 'g' }, deleteAdopted: false, recordedAt: '2030-01-01T00:00:00.000Z' };
const configMap = { metadata: { name: 'd-deferred-drive-deletes', namespace: 'ns', resourceVersion: '5', labels: { [DEFERRED_DELETES_LABEL]: 'true' }, annotations: { [DEFERRED_DELETES_DOMAIN_ANNOTATION]: 'd' } }, data: { 'u-1': encodeEntry(entry, deferredDeleteKey(SECRET_KEY)) } };
const domain = (ready: boolean) => ({ metadata: { name: 'd', namespace: 'ns', uid: 'dom-uid' }, status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } });

function fakeRuntime(opts: { otherStorage?: boolean } = {}) {
  const calls: string[] = [];
  const admin = {
    async getDrive(id: string) {
      calls.push(`getDrive ${id}`);
      if (opts.otherStorage) throw Object.assign(new Error('not found'), { isNotFound: true });
      return { drive_id: id, description: withMarker('', 'u-1', 'Delete') };
    },
    async *listAllDrives() {},
    getDomain: async () => ({ domain_id: 'd', created_at: '2030-02-01T00:00:00.000Z' }), // after the entry

    async deleteDrive(id: string) {
      calls.push(`deleteDrive ${id}`);
    },
  } as unknown as AdminClient;
  const client = {
    // The admin Secret that signs entries, and a live Drive list without the deleted Drive.
    find: async () => ({ data: { secretKey: Buffer.from(SECRET_KEY).toString('base64') } }),
    list: async () => ({ items: [] }),
    async patch(ref: { name: string }, _type: string, body: unknown) {
      calls.push(`patch ${ref.name} ${JSON.stringify(body)}`);
      return { metadata: { resourceVersion: '6' }, data: {} };
    },
    async request(method: string, path: string) {
      calls.push(`${method} ${path}`);
    },
  } as unknown as KubeClient;
  const events: string[] = [];
  const runtime = {
    client,
    config: { metricsPort: 0 },
    metrics: createOperatorMetrics({ defaultMetrics: false }),
    events: { record: async (o: { kind?: string; metadata: { name: string; namespace?: string } }, type: string, reason: string, message: string) => void events.push(`${o.metadata.name} ${type} ${reason}`, `${o.kind ?? ''} ${o.metadata.namespace} ${message}`) },
    domainAccess: async () => {
      calls.push('domainAccess');
      return { state: 'Ready', client: admin };
    },
    domainUsageChanged: (namespace: string, name: string) => void calls.push(`usageChanged ${namespace}/${name}`),
  } as unknown as OperatorRuntime;
  return { runtime, calls, events };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

test('a Domain with nothing pending costs nothing, whatever its readiness does', async () => {
  const { runtime, calls } = fakeRuntime();
  const deferred = createDeferredDeletes(runtime);
  deferred.domainEvent(domain(true) as never, 'add');
  deferred.domainEvent(domain(false) as never, 'update');
  deferred.domainEvent(domain(true) as never, 'update');
  await settle();
  expect(calls).toEqual([]);
});

test.each([
  ['the ConfigMap first, then the Domain turning Ready', ['configMap', 'notReady', 'ready']],
  ['the Domain Ready first, then the ConfigMap (start-up lists in either order)', ['ready', 'configMap']],
])('finishes when both are known: %s; the ConfigMap goes with its last entry; an Event on the Domain', async (_name, steps) => {
  const { runtime, calls, events } = fakeRuntime();
  const deferred = createDeferredDeletes(runtime);
  for (const step of steps) {
    if (step === 'configMap') deferred.watch.ownerKeys(configMap as never, 'add', undefined);
    else deferred.domainEvent(domain(step === 'ready') as never, step === 'ready' ? 'update' : 'add');
    await settle();
  }
  expect(calls).toEqual([
    'domainAccess',
    'getDrive drv-1',
    'deleteDrive drv-1',
    'usageChanged ns/d', // the Domain's status.usage is read again (one drive fewer)
    'patch d-deferred-drive-deletes {"data":{"u-1":null}}',
    'DELETE /api/v1/namespaces/ns/configmaps/d-deferred-drive-deletes',
  ]);
  expect(events.filter((_e, i) => i % 2 === 0)).toEqual(['d Normal DeferredDriveDeleted']);
  // A late watch event still carrying the entry: removed again, not deleted or reported twice.
  deferred.watch.ownerKeys(configMap as never, 'update', undefined);
  await settle();
  expect(calls.filter((c) => c.startsWith('deleteDrive'))).toHaveLength(1);
  expect(events).toHaveLength(2);
});

test.each([
  ['not signed with the Domain\'s admin Secret (written by hand)', encodeEntry(entry, deferredDeleteKey('another key')), 'is not signed with the Domain\'s admin Secret'],
  ['unreadable (edited by hand)', 'not an entry', 'could not be read'],
])('an entry %s is dropped with one Warning, also when a late watch event brings it back', async (_name, value, said) => {
  const { runtime, calls, events } = fakeRuntime();
  const deferred = createDeferredDeletes(runtime);
  const forged = { ...configMap, data: { 'u-1': value } };
  deferred.watch.ownerKeys(forged as never, 'add', undefined);
  deferred.domainEvent(domain(true) as never, 'add');
  await settle();
  expect(events.filter((_e, i) => i % 2 === 0)).toEqual(['d Warning DeferredDriveDeleteSkipped']);
  expect(events[1]).toContain(said);
  // The event from before our removal, late: removed again, no second Warning, no drive touched.
  deferred.watch.ownerKeys(forged as never, 'update', undefined);
  await settle();
  expect(events).toHaveLength(2);
  expect(calls.filter((c) => c.startsWith('patch d-deferred-drive-deletes {"data":{"u-1":null}}'))).toHaveLength(2);
  expect(calls.filter((c) => c.startsWith('getDrive') || c.startsWith('deleteDrive'))).toEqual([]);
});

test('a ConfigMap without our label is not ours', async () => {
  const { runtime, calls } = fakeRuntime();
  const deferred = createDeferredDeletes(runtime);
  deferred.domainEvent(domain(true) as never, 'add');
  deferred.watch.ownerKeys({ ...configMap, metadata: { ...configMap.metadata, labels: {} } } as never, 'add', undefined);
  await settle();
  expect(calls).toEqual([]);
});

test('the Domain back on other storage (nothing carries the marker, its storage newer than the entry): the entry stays, reported once with how to drop it', async () => {
  const { runtime, calls, events } = fakeRuntime({ otherStorage: true });
  const deferred = createDeferredDeletes(runtime);
  deferred.watch.ownerKeys(configMap as never, 'add', undefined);
  deferred.domainEvent(domain(true) as never, 'add');
  await settle();
  expect(calls.filter((c) => c.startsWith('patch') || c.startsWith('DELETE') || c.startsWith('deleteDrive'))).toEqual([]); // kept, nothing deleted
  expect(events[0]).toBe('d Warning DeferredDriveDeletePending');
  expect(events[1]).toContain('it is not the storage drive drv-1 was in');
  expect(events[1]).toContain(`kubectl -n ns patch configmap d-deferred-drive-deletes --type=json -p '[{"op":"remove","path":"/data/u-1"}]'`);
  // The Domain turning Ready again on that storage: still kept, not reported again.
  deferred.domainEvent(domain(false) as never, 'update');
  deferred.domainEvent(domain(true) as never, 'update');
  await settle();
  expect(events).toHaveLength(2);
  expect(calls.filter((c) => c.startsWith('patch'))).toEqual([]);
});

test('a Domain of that name Ready in another namespace finishes nothing here; a Warning on the ConfigMap says why and what to do', async () => {
  const { runtime, calls, events } = fakeRuntime();
  const deferred = createDeferredDeletes(runtime);
  deferred.watch.ownerKeys(configMap as never, 'add', undefined);
  const moved = { ...domain(true), metadata: { ...domain(true).metadata, namespace: 'elsewhere', uid: 'other-uid' } };
  deferred.domainEvent(moved as never, 'add');
  await settle();
  expect(calls).toEqual([]); // no admin API of the other namespace's Domain used
  expect(events[0]).toBe('d-deferred-drive-deletes Warning DeferredDriveDeletesWaiting');
  expect(events[1]).toMatch(/^ConfigMap ns 1 deferred drive deletion here waits for Domain ns\/d, which is not Ready; Domain elsewhere\/d is Ready/);
  expect(events[1]).toContain('kubectl -n ns delete configmap d-deferred-drive-deletes');
  deferred.watch.ownerKeys(configMap as never, 'update', undefined);
  await settle();
  expect(events).toHaveLength(2); // once
  // Its own namespace's Domain Ready: finished as ever.
  deferred.domainEvent(domain(true) as never, 'add');
  await settle();
  expect(calls).toContain('deleteDrive drv-1');
});
