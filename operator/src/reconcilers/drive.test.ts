// Unit tests of the failure paths with a scripted client; the happy paths run against a real data plane
// in drive.int.test.ts.
import { AdminApiError } from '../admin-client/admin-api-error';
import type { AdminClient } from '../admin-client/admin-client';
import type { Drive } from '../domain-types';
import { findCondition } from '../kube/conditions';
import { DRIVE_REASONS, reconcileDrive, reconcileDriveDeletion } from './drive';

const cr: Drive = {
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Drive',
  metadata: { name: 'team', namespace: 'ns', uid: 'u-1', generation: 3 },
  spec: { domainRef: { name: 'd' }, owner: { kind: 'Group', name: 'team' } },
  status: { driveId: 'd-1', observedGeneration: 3 },
};

function failingClient(error: unknown): AdminClient {
  const fail = () => Promise.reject(error);
  return { getDrive: fail, listDrives: fail, createDrive: fail, updateDrive: fail, deleteDrive: fail, getUser: fail, listUsers: fail, findUser: fail } as unknown as AdminClient;
}

const clockAt = (iso: string) => ({ now: () => new Date(iso) });

test.each([
  [new AdminApiError(0, 'Unreachable', 'connect ECONNREFUSED'), 'AdminApiUnreachable'],
  [new AdminApiError(503, 'ServiceUnavailable', 'starting'), 'AdminApiUnavailable'],
  [new AdminApiError(401, 'Unauthorized', 'bad password'), 'AdminCredentialsRejected'],
  [new AdminApiError(400, 'InvalidParameter', 'nope'), 'AdminApiRejected'],
])('%s becomes Ready=False %s, keeps the recorded id, never throws', async (error, reason) => {
  const result = await reconcileDrive(cr, { domain: { state: 'Ready', client: failingClient(error) }, clock: clockAt('2030-01-01T00:00:00Z') });
  expect(findCondition(result.status.conditions, 'Ready')).toMatchObject({ status: 'False', reason, observedGeneration: 3 });
  expect(findCondition(result.status.conditions, 'Degraded')).toMatchObject({ status: 'True', reason });
  expect(findCondition(result.status.conditions, 'Progressing')).toMatchObject({ status: 'False', reason });
  expect(result).toMatchObject({ failed: true, atResync: false }); // counted as a failed reconcile
  expect(DRIVE_REASONS[reason as keyof typeof DRIVE_REASONS]).toBe('degraded');
  expect(result.status.driveId).toBe('d-1');
  expect(result.events).toEqual([expect.objectContaining({ type: 'Warning', reason })]);
});

test('retries back off and emit one Event per reason, not one per retry', async () => {
  const client = failingClient(new AdminApiError(0, 'Unreachable', 'down'));
  const first = await reconcileDrive(cr, { domain: { state: 'Ready', client }, clock: clockAt('2030-01-01T00:00:00Z') });
  const later = await reconcileDrive({ ...cr, status: first.status }, { domain: { state: 'Ready', client }, clock: clockAt('2030-01-01T00:01:00Z') });
  expect(first.requeueAfterMs).toBe(5_000);
  expect(later.requeueAfterMs).toBe(60_000);
  expect(later.events).toEqual([]);
  expect(findCondition(later.status.conditions, 'Ready')?.lastTransitionTime).toBe('2030-01-01T00:00:00Z');
});

test('a domain not ready yet is DomainNotReady; a bug (not an expected error) is thrown to the runtime', async () => {
  const notReady = await reconcileDrive(cr, { domain: { state: 'NotReady', message: 'Domain d is not Ready' }, clock: clockAt('2030-01-01T00:00:00Z') });
  expect(findCondition(notReady.status.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'DomainNotReady' });
  // A wait, as on a Domain: Progressing, not Degraded, and not a failed reconcile.
  expect(findCondition(notReady.status.conditions, 'Progressing')).toMatchObject({ status: 'True', reason: 'DomainNotReady' });
  expect(findCondition(notReady.status.conditions, 'Degraded')).toMatchObject({ status: 'False', reason: 'AsExpected' });
  expect(notReady).toMatchObject({ failed: false, atResync: false, requeueAfterMs: 5_000 });
  await expect(reconcileDrive(cr, { domain: { state: 'Ready', client: failingClient(new TypeError('bug')) }, clock: clockAt('2030-01-01T00:00:00Z') })).rejects.toThrow('bug');
});

test('a Domain being deleted lends its admin API to deletions only: a Drive is not created or changed through it', async () => {
  const result = await reconcileDrive(cr, { domain: { state: 'Ready', deleting: true, client: failingClient(new TypeError('must not be called')) }, clock: clockAt('2030-01-01T00:00:00Z') });
  expect(findCondition(result.status.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'DomainNotReady', message: expect.stringContaining('is being deleted') });
  expect(result.actions).toEqual([]);
});

test('a Domain that is gone: DomainNotFound says the drive and its files are kept in the Domain storage', async () => {
  const gone = await reconcileDrive(cr, { domain: { state: 'NotFound', message: 'Domain ns/d does not exist' }, clock: clockAt('2030-01-01T00:00:00Z') });
  expect(findCondition(gone.status.conditions, 'Ready')).toMatchObject({
    status: 'False',
    reason: 'DomainNotFound',
    message: "Domain ns/d does not exist; drive d-1 and its files are kept in the Domain's storage and are used again when the Domain is re-created with the same storage",
  });
  expect(findCondition(gone.status.conditions, 'Degraded')).toMatchObject({ status: 'True', reason: 'DomainNotFound' });
  expect(gone.failed).toBe(false);
  const never = await reconcileDrive({ ...cr, status: {} }, { domain: { state: 'NotFound', message: 'Domain ns/d does not exist' }, clock: clockAt('2030-01-01T00:00:00Z') });
  expect(findCondition(never.status.conditions, 'Ready')?.message).toBe('Domain ns/d does not exist');
});

describe('a Delete Drive deleted while its Domain is gone', () => {
  const gone = { state: 'NotFound' as const, message: 'Domain ns/d does not exist' };
  const del = (extra: Partial<Drive> = {}): Drive => ({ ...cr, ...extra, spec: { ...cr.spec, reclaimPolicy: 'Delete' } });
  const deferring = { domain: gone, clock: clockAt('2030-01-01T00:00:00Z'), deferDeletes: true };

  test('answers the deletion it owes (the runtime records it before the finalizer goes)', async () => {
    const result = await reconcileDriveDeletion(del(), deferring);
    expect(result.removeFinalizer).toBe(true);
    expect(result.deferredDelete).toEqual({
      uid: 'u-1', namespace: 'ns', name: 'team', domain: 'd', driveId: 'd-1',
      owner: { kind: 'Group', name: 'team' }, deleteAdopted: false, recordedAt: '2030-01-01T00:00:00.000Z',
    });
    expect(result.events).toEqual([expect.objectContaining({ type: 'Normal', reason: 'DeletionDeferred' })]);
    // Never created (or the id was lost): owed all the same, found by marker later.
    const unrecorded = await reconcileDriveDeletion(del({ status: {} }), deferring);
    expect(unrecorded.deferredDelete).toMatchObject({ uid: 'u-1' });
    expect(unrecorded.deferredDelete).not.toHaveProperty('driveId');
  });

  test('not for Retain, not for an adopted drive unless annotated, not in a dry run, not for a runtime that cannot keep it', async () => {
    expect((await reconcileDriveDeletion(cr, deferring)).deferredDelete).toBeUndefined();
    const adopted = await reconcileDriveDeletion(del({ status: { driveId: 'd-1', origin: 'Adopted' } as Drive['status'] }), deferring);
    expect(adopted).toMatchObject({ removeFinalizer: true, events: [expect.objectContaining({ reason: 'Retained' })] });
    expect(adopted.deferredDelete).toBeUndefined();
    const annotated = del({ metadata: { ...cr.metadata, annotations: { 'openpds.io/delete-adopted': 'true' } }, status: { driveId: 'd-1', origin: 'Adopted' } as Drive['status'] });
    expect((await reconcileDriveDeletion(annotated, deferring)).deferredDelete).toMatchObject({ deleteAdopted: true });
    expect(await reconcileDriveDeletion(del(), { ...deferring, dryRun: true })).toMatchObject({ removeFinalizer: false });
    expect((await reconcileDriveDeletion(del(), { ...deferring, dryRun: true })).deferredDelete).toBeUndefined();
    const local = await reconcileDriveDeletion(del(), { domain: gone, clock: clockAt('2030-01-01T00:00:00Z') });
    expect(local).toMatchObject({ removeFinalizer: true, events: [expect.objectContaining({ type: 'Warning', reason: 'DomainNotFound' })] });
    expect(local.deferredDelete).toBeUndefined();
  });
});

test('a status.driveId set aside (another Drive\'s drive) with no drive of its own is a create, not "deleted in the data plane"', async () => {
  const others = { drive_id: 'd-other', drive_name: 'other', description: 'openpds.io/uid=u-2; reclaimPolicy=Retain', owner: 'team', owner_type: 'group', status: 'enabled', total_size: null, used_size: 0, default: false };
  const created: unknown[] = [];
  const client = {
    getDrive: async () => others,
    async *listAllDrives() {
      yield others;
    },
    createDrive: async (input: unknown) => (created.push(input), { domain_id: 'd', drive_id: 'd-new' }),
  } as unknown as AdminClient;
  const result = await reconcileDrive({ ...cr, status: { driveId: 'd-other', observedGeneration: 3 } }, { domain: { state: 'Ready', client }, clock: clockAt('2030-01-01T00:00:00Z') });
  expect(created).toHaveLength(1);
  expect(result.actions).toEqual([expect.objectContaining({ action: 'create', reason: 'Create' })]);
  expect(result.events.map((e) => e.reason)).toEqual(['DriveIdIgnored', 'Created']);
  expect(result.driftCorrected).toEqual([]);
  expect(findCondition(result.status.conditions, 'Synced')).toMatchObject({ status: 'True', reason: 'InSync' });
  expect(result.status.driveId).toBe('d-new');
});
