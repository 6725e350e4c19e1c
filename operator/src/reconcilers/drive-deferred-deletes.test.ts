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

function fakeRuntime() {
  const calls: string[] = [];
  const admin = {
    async getDrive(id: string) {
      calls.push(`getDrive ${id}`);
      return { drive_id: id, description: withMarker('', 'u-1', 'Delete') };
    },
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
    events: { record: async (o: { metadata: { name: string } }, type: string, reason: string) => void events.push(`${o.metadata.name} ${type} ${reason}`) },
    domainAccess: async () => {
      calls.push('domainAccess');
      return { state: 'Ready', client: admin };
    },
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
    'patch d-deferred-drive-deletes {"data":{"u-1":null}}',
    'DELETE /api/v1/namespaces/ns/configmaps/d-deferred-drive-deletes',
  ]);
  expect(events).toEqual(['d Normal DeferredDriveDeleted']);
  // A late watch event still carrying the entry: removed again, not deleted or reported twice.
  deferred.watch.ownerKeys(configMap as never, 'update', undefined);
  await settle();
  expect(calls.filter((c) => c.startsWith('deleteDrive'))).toHaveLength(1);
  expect(events).toHaveLength(1);
});

test('a ConfigMap without our label is not ours', async () => {
  const { runtime, calls } = fakeRuntime();
  const deferred = createDeferredDeletes(runtime);
  deferred.domainEvent(domain(true) as never, 'add');
  deferred.watch.ownerKeys({ ...configMap, metadata: { ...configMap.metadata, labels: {} } } as never, 'add', undefined);
  await settle();
  expect(calls).toEqual([]);
});
