import type { AdminClient, AdminDrive } from '../admin-client/admin-client';
import type { DeferredDriveDelete } from './drive-context';
import { finishDeferredDelete } from './drive-deferred-finish';
import { withMarker } from './drive-desired';
import { decodeEntries, deferredDeleteKey, deferredDeletesName, domainOfConfigMap, encodeEntry, DEFERRED_DELETES_DOMAIN_ANNOTATION, DEFERRED_DELETES_LABEL } from './drive-deferred-store';

const entry: DeferredDriveDelete = {
  uid: 'u-1', namespace: 'ns', name: 'team', domain: 'd', driveId: 'drv-1',
  owner: { kind: 'User', name: 'alice' }, deleteAdopted: false, recordedAt: '2030-01-01T00:00:00.000Z',
};

/** An admin client over a list of drives that records deletions. */
function dataPlane(drives: Partial<AdminDrive>[], domainCreatedAt = '2029-06-01T00:00:00.000Z') {
  const deleted: string[] = [];
  const client = {
    getDomain: async () => ({ domain_id: 'd', created_at: domainCreatedAt }),
    async getDrive(id: string) {
      const d = drives.find((x) => x.drive_id === id);
      if (!d) throw Object.assign(new Error('not found'), { isNotFound: true });
      return d;
    },
    findUser: async (name: string) => (name === 'alice' ? { user_id: 'alice-id' } : undefined),
    async *listAllDrives({ owner }: { owner: string }) {
      yield* drives.filter((d) => d.owner === owner);
    },
    async deleteDrive(id: string) {
      deleted.push(id);
    },
  } as unknown as AdminClient;
  return { client, deleted };
}
const drive = (id: string, description: string) => ({ drive_id: id, owner: 'alice-id', description, drive_name: 'team files' });

test('deletes the drive that still carries the deleted Drive\'s marker with reclaimPolicy Delete', async () => {
  const { client, deleted } = dataPlane([drive('drv-1', withMarker('files', 'u-1', 'Delete'))]);
  expect(await finishDeferredDelete(client, entry)).toMatchObject({ result: 'Deleted', driveId: 'drv-1' });
  expect(deleted).toEqual(['drv-1']);
});

test('finds it by marker when the id was never recorded or is stale', async () => {
  const { client, deleted } = dataPlane([drive('drv-2', withMarker('', 'u-1', 'Delete'))]);
  expect(await finishDeferredDelete(client, { ...entry, driveId: undefined as never })).toMatchObject({ result: 'Deleted', driveId: 'drv-2' });
  expect(await finishDeferredDelete(client, entry)).toMatchObject({ result: 'Deleted', driveId: 'drv-2' });
  expect(deleted).toEqual(['drv-2', 'drv-2']);
});

test('nothing carries the marker on a storage created after the entry (the Domain is back on other storage): kept pending, nothing deleted', async () => {
  const { client, deleted } = dataPlane([drive('drv-9', withMarker('', 'someone-else', 'Delete'))], '2030-01-02T00:00:00.000Z');
  const result = await finishDeferredDelete(client, entry);
  expect(result).toMatchObject({ result: 'OtherStorage' });
  expect(result.message).toContain('created on 2030-01-02T00:00:00.000Z, after the deletion was recorded: it is not the storage drive drv-1 was in');
  expect(deleted).toEqual([]);
  // The Domain pointed at the old storage again: the drive is there, and goes.
  const back = dataPlane([drive('drv-1', withMarker('', 'u-1', 'Delete'))]);
  expect(await finishDeferredDelete(back.client, entry)).toMatchObject({ result: 'Deleted', driveId: 'drv-1' });
});

test('nothing carries the marker on the storage the entry was recorded against (deleted by hand, owner gone): done, nothing deleted', async () => {
  const { client, deleted } = dataPlane([drive('drv-9', withMarker('', 'someone-else', 'Delete'))]);
  expect(await finishDeferredDelete(client, { ...entry, driveId: 'drv-1' })).toMatchObject({ result: 'Gone' });
  expect(await finishDeferredDelete(client, { ...entry, owner: { kind: 'User', name: 'bob' } })).toMatchObject({ result: 'Gone' });
  expect(deleted).toEqual([]);
});

test.each([
  ['the marker removed by hand (released)', 'files'],
  ['another Drive\'s marker (re-adopted)', withMarker('files', 'u-2', 'Delete')],
  ['the marker turned to Retain', withMarker('files', 'u-1', 'Retain')],
  ['an adopted drive without the annotation', withMarker('files', 'u-1', 'Delete', 'Adopted')],
])('left alone: %s', async (_why, description) => {
  const { client, deleted } = dataPlane([drive('drv-1', description)]);
  const result = await finishDeferredDelete(client, entry);
  expect(result).toMatchObject({ result: 'Skipped', driveId: 'drv-1' });
  expect(result.message).toContain('left alone');
  expect(deleted).toEqual([]);
});

test('an adopted drive goes when the Drive was annotated to delete adopted drives', async () => {
  const { client, deleted } = dataPlane([drive('drv-1', withMarker('files', 'u-1', 'Delete', 'Adopted'))]);
  expect(await finishDeferredDelete(client, { ...entry, deleteAdopted: true })).toMatchObject({ result: 'Deleted' });
  expect(deleted).toEqual(['drv-1']);
});

test('the ConfigMap: named for its Domain, found by label, annotation and name, entries round-trip, unreadable ones are reported', () => {
  expect(deferredDeletesName('acme')).toBe('acme-deferred-drive-deletes');
  const key = deferredDeleteKey('the Domain secretKey');
  const acme = { ...entry, domain: 'acme' };
  const configMap = {
    metadata: { name: 'acme-deferred-drive-deletes', namespace: 'ns', labels: { [DEFERRED_DELETES_LABEL]: 'true' }, annotations: { [DEFERRED_DELETES_DOMAIN_ANNOTATION]: 'acme' } },
    data: { 'u-1': encodeEntry(acme, key), 'u-2': '{"uid":"u-2"}', 'u-3': 'not json', 'u-4': encodeEntry(acme, key) },
  };
  expect(domainOfConfigMap(configMap)).toBe('acme');
  expect(domainOfConfigMap({ metadata: { annotations: configMap.metadata.annotations } })).toBeUndefined();
  // A labelled ConfigMap of another name is not the operator's, whatever its annotation says.
  expect(domainOfConfigMap({ metadata: { ...configMap.metadata, name: 'anything' } })).toBeUndefined();
  // u-4 holds u-1's entry: a key that does not match its uid is not trusted either.
  expect(decodeEntries(configMap, key)).toEqual({ entries: [acme], invalid: ['u-2', 'u-3', 'u-4'], unsigned: [] });
});

test('entries are signed with the Domain admin Secret: a forged, unsigned or altered entry is never acted on', () => {
  const key = deferredDeleteKey('the Domain secretKey');
  const forger = deferredDeleteKey('a guess');
  const metadata = { name: 'd-deferred-drive-deletes', namespace: 'ns', labels: { [DEFERRED_DELETES_LABEL]: 'true' }, annotations: { [DEFERRED_DELETES_DOMAIN_ANNOTATION]: 'd' } };
  const altered = JSON.stringify({ ...JSON.parse(encodeEntry({ ...entry, uid: 'u-4' }, key)), deleteAdopted: true });
  const data = {
    'u-1': encodeEntry(entry, key),
    'u-2': encodeEntry({ ...entry, uid: 'u-2' }, forger),
    'u-3': JSON.stringify({ ...entry, uid: 'u-3' }),
    'u-4': altered,
    'u-5': encodeEntry({ ...entry, uid: 'u-5', namespace: 'other' }, key), // written for another namespace
  };
  expect(decodeEntries({ metadata, data }, key)).toEqual({ entries: [entry], invalid: ['u-5'], unsigned: ['u-2', 'u-3', 'u-4'] });
  expect(decodeEntries({ metadata, data }, undefined).entries).toEqual([]); // no admin Secret: nothing is trusted
});
