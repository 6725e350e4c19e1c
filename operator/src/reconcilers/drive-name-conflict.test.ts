// NameConflict decided by who has the name in the data plane (drive-name-conflict.ts): an older Drive
// edited into a newer one's identity is refused, and the newer one keeps its drive. A scripted client.
import type { AdminClient, AdminDrive } from '../admin-client/admin-client';
import type { Drive } from '../domain-types';
import { findCondition } from '../kube/conditions';
import { reconcileDrive, type DriveReconcileContext } from './drive';
import { withMarker } from './drive-desired';
import { markerConflict } from './drive-name-conflict';

const clock = { now: () => new Date('2030-01-01T00:00:00Z') };
const gib = 1024 ** 3;

function dataPlane(drives: Partial<AdminDrive>[]) {
  const writes: string[] = [];
  const client = {
    async getDrive(id: string) {
      const d = drives.find((x) => x.drive_id === id);
      if (!d) throw Object.assign(new Error('not found'), { isNotFound: true });
      return d;
    },
    findUser: async () => ({ user_id: 'alice-id', user_name: 'alice' }),
    async *listAllDrives({ owner }: { owner: string }) {
      yield* drives.filter((d) => d.owner === owner);
    },
    async updateDrive(id: string, patch: Partial<AdminDrive>) {
      writes.push(`update ${id} ${JSON.stringify(patch)}`);
      return Object.assign(drives.find((d) => d.drive_id === id)!, patch);
    },
    async createDrive() {
      writes.push('create');
      return { domain_id: 'dom', drive_id: 'new' };
    },
  } as unknown as AdminClient;
  return { client, writes };
}
const adminDrive = (id: string, name: string, uid: string): Partial<AdminDrive> => ({ drive_id: id, drive_name: name, description: withMarker('', uid, 'Retain'), owner: 'alice-id', owner_type: 'user', total_size: gib, used_size: 0, default: false });
const cr = (name: string, uid: string, driveName: string, status: Drive['status'], generation = 1): Drive => ({
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Drive',
  metadata: { name, namespace: 'ns', uid, generation },
  spec: { domainRef: { name: 'd' }, owner: { kind: 'User', name: 'alice' }, name: driveName, quota: { totalSize: '1Gi' } },
  status,
});
const live: Record<string, string> = { 'u-old': 'old', 'u-new': 'new' };
const ctxOf = (client: AdminClient, extra: Partial<DriveReconcileContext> = {}): DriveReconcileContext => ({
  domain: { state: 'Ready', client },
  clock,
  driveOfUid: async (uid) => (live[uid] ? { namespace: 'ns', name: live[uid]! } : undefined),
  ...extra,
});

test('an older Drive edited into the name a newer Drive\'s drive has: refused (NameConflict naming it), nothing applied', async () => {
  const { client, writes } = dataPlane([adminDrive('d-old', 'mine', 'u-old'), adminDrive('d-new', 'team', 'u-new')]);
  const edited = cr('old', 'u-old', 'team', { driveId: 'd-old', observedGeneration: 1 }, 2);
  const result = await reconcileDrive({ ...edited, spec: { ...edited.spec, quota: { totalSize: '2Gi' } } }, ctxOf(client));
  expect(writes).toEqual([]); // neither the rename nor the rest of the edit
  const ready = findCondition(result.status.conditions, 'Ready');
  expect(ready).toMatchObject({ status: 'False', reason: 'NameConflict', observedGeneration: 2 });
  expect(ready?.message).toContain('Drive ns/new already has drive d-new named "team"');
  expect(ready?.message).toContain('its drive d-old keeps the name "mine"');
  expect(result.status.driveId).toBe('d-old');
  expect(result.requeueAfterMs).toBeGreaterThan(60_000); // woken by the other Drive's change, not a backoff
});

test('a rename into a name only an unmarked drive, or a deleted Drive\'s drive, has goes ahead', async () => {
  for (const other of [{ ...adminDrive('d-hand', 'team', 'x'), description: 'made by hand' }, adminDrive('d-gone', 'team', 'u-deleted')]) {
    const { client, writes } = dataPlane([adminDrive('d-old', 'mine', 'u-old'), other]);
    const result = await reconcileDrive(cr('old', 'u-old', 'team', { driveId: 'd-old', observedGeneration: 1 }, 2), ctxOf(client));
    expect(findCondition(result.status.conditions, 'Ready')).toMatchObject({ status: 'True' });
    expect(writes).toEqual([expect.stringContaining('update d-old {"drive_name":"team"')]);
  }
});

test('the newer Drive whose drive has the name keeps it: the older one in its identity does not make it a NameConflict', async () => {
  const { client, writes } = dataPlane([adminDrive('d-old', 'mine', 'u-old'), adminDrive('d-new', 'team', 'u-new')]);
  const holding = cr('new', 'u-new', 'team', { driveId: 'd-new', observedGeneration: 1 });
  const result = await reconcileDrive(holding, ctxOf(client, { identityConflict: { namespace: 'ns', name: 'old' } }));
  expect(findCondition(result.status.conditions, 'Ready')).toMatchObject({ status: 'True', reason: 'Applied' });
  expect(writes).toEqual([]);
  // Without a drive of its own carrying the name (none yet, or its own rename pending), the older one wins.
  const renaming = cr('new', 'u-new', 'other', { driveId: 'd-new', observedGeneration: 1 }, 2);
  const conflict = await reconcileDrive(renaming, ctxOf(client, { identityConflict: { namespace: 'ns', name: 'old' } }));
  expect(findCondition(conflict.status.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'NameConflict' });
  const fresh = await reconcileDrive(cr('newest', 'u-3', 'team', undefined), ctxOf(client, { identityConflict: { namespace: 'ns', name: 'new' } }));
  expect(findCondition(fresh.status.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'NameConflict' });
  expect(writes).toEqual([]);
});

describe('markerConflict: how soon a Drive blocked by another cluster Drive asks again', () => {
  const third = { metadata: { name: 'third', namespace: 'ns' }, spec: { name: 'shared files', owner: { kind: 'User', name: 'alice' } } } as unknown as Drive;
  const claim = { uid: 'uid-second', driveId: 'd1' };
  const holder = (extra: { driveName?: string; failing?: boolean }) => async () => ({ namespace: 'ns', name: 'second', ...extra });

  it('in a second while the holder is being renamed away (its rename wakes nothing here), not at the resync', async () => {
    expect(await markerConflict(third, claim, holder({ driveName: 'moved files' }))).toMatchObject({ reason: 'NameConflict', retry: false, retryAfterMs: 1000 });
  });
  it('never while the holder keeps the name, or its rename failed, or it is not a Drive of this cluster', async () => {
    expect((await markerConflict(third, claim, holder({ driveName: 'shared files' }))).retryAfterMs).toBeUndefined();
    expect((await markerConflict(third, claim, holder({ driveName: 'moved files', failing: true }))).retryAfterMs).toBeUndefined();
    expect((await markerConflict(third, claim, async () => undefined)).retryAfterMs).toBeUndefined();
  });
});
