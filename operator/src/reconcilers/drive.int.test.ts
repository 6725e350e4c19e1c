import { ADMIN_PASSWORD, startTestServer } from '../../../test/support/test-server';
import { createAdminClient, type AdminClient } from '../admin-client/admin-client';
import type { Drive } from '../domain-types';
import { findCondition } from '../kube/conditions';
import { reconcileDrive, reconcileDriveDeletion, type DriveEvent, type DriveReconcileContext } from './drive';

const GiB = 1024 ** 3;
const MUTATING = new Set(['createDrive', 'updateDrive', 'deleteDrive']);

/** The real client, recording which methods each reconcile calls. */
function recording(client: AdminClient) {
  const calls: string[] = [];
  const proxy = new Proxy(client, {
    get(target, prop: string) {
      const value = (target as unknown as Record<string, unknown>)[prop];
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(prop);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { client: proxy, calls, mutations: () => calls.filter((c) => MUTATING.has(c)) };
}

let uidSeq = 0;
function driveCr(spec: Partial<Drive['spec']> = {}, generation = 1): Drive {
  uidSeq++;
  return {
    apiVersion: 'openpds.io/v1alpha1',
    kind: 'Drive',
    metadata: { name: `team-${uidSeq}`, namespace: 'ns', uid: `0000-uid-${uidSeq}`, generation },
    spec: { domainRef: { name: 'd' }, owner: { kind: 'Group', name: 'team' }, name: `Team ${uidSeq}`, quota: { totalSize: '5Gi' }, ...spec },
  };
}

describe('reconcileDrive against a real data plane (PGlite, local disk)', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let admin: AdminClient;
  const now = new Date('2030-01-01T00:00:00Z');

  beforeAll(async () => {
    server = await startTestServer('pglite', 'local');
    admin = createAdminClient({ baseUrl: server.url, credentials: { username: 'admin', password: ADMIN_PASSWORD } });
  });
  afterAll(() => server?.stop());

  function ctx(client: AdminClient = admin, extra: Partial<DriveReconcileContext> = {}) {
    const events: DriveEvent[] = [];
    return { events, ctx: { domain: { state: 'Ready' as const, client }, clock: { now: () => now }, events: (e: DriveEvent) => events.push(e), ...extra } };
  }

  /** Applies a reconcile result the way the runtime writes status. */
  async function run(cr: Drive, client?: AdminClient) {
    const c = ctx(client);
    const result = await reconcileDrive(cr, c.ctx);
    cr.status = result.status;
    return { ...result, sunk: c.events };
  }

  async function drivesMarked(uid: string) {
    const found = [];
    for await (const d of admin.listAllDrives()) if (d.description.includes(`openpds.io/uid=${uid};`)) found.push(d);
    return found;
  }

  it('creates the drive, records its id and sizes, then a second run calls nothing that mutates', async () => {
    const cr = driveCr({ description: 'shared files' });
    const first = await run(cr);
    expect(first.actions).toEqual([expect.objectContaining({ action: 'create', reason: 'Create' })]);
    expect(first.status).toMatchObject({ driveId: expect.any(String), totalSize: '5Gi', totalBytes: 5 * GiB, usedSize: '0', usedBytes: 0, observedGeneration: 1 });
    expect(findCondition(first.status.conditions, 'Ready')).toMatchObject({ status: 'True', reason: 'Applied', observedGeneration: 1 });
    expect(first.sunk.map((e) => e.reason)).toEqual(['Created']);
    const inPlane = await admin.getDrive(first.status.driveId!);
    expect(inPlane).toMatchObject({ drive_name: cr.spec.name, owner: 'team', owner_type: 'group', total_size: 5 * GiB });
    expect(inPlane.description).toBe(`shared files\nopenpds.io/uid=${cr.metadata.uid}; reclaimPolicy=Retain`);

    const rec = recording(admin);
    const second = await run(cr, rec.client);
    expect(rec.mutations()).toEqual([]);
    expect(rec.calls).toEqual(['getDrive']);
    expect(second.actions).toEqual([{ action: 'none', driveId: first.status.driveId, reason: 'InSync' }]);
    expect(second.events).toEqual([]);
    expect(second.status).toEqual(first.status);
    expect(second).toMatchObject({ requeueAfterMs: 5 * 60_000, atResync: true, driftCorrected: [], failed: false });
    expect(first.status.origin).toBe('Created');
    expect(findCondition(first.status.conditions, 'Progressing')).toMatchObject({ status: 'False', reason: 'Reconciled' });
  });

  it('a Group owner cannot be checked (the data plane has no groups): Ready says so instead of a bare "matches the spec"', async () => {
    const group = await run(driveCr({ owner: { kind: 'Group', name: 'no-such-group' } }));
    expect(findCondition(group.status.conditions, 'Ready')?.message).toContain('owner Group "no-such-group" is not checked: the data plane has no groups yet');
    const user = await run(driveCr({ owner: { kind: 'User', name: 'admin' } }));
    expect(findCondition(user.status.conditions, 'Ready')?.message).toBe(`drive ${user.status.driveId} matches the spec`);
  });

  it('a crash between create and the status write finds the drive by its marker: no duplicate', async () => {
    const cr = driveCr();
    const created = await reconcileDrive(cr, ctx().ctx); // status deliberately not written: the "crash"
    const again = await run(cr);
    expect(again.actions).toEqual([expect.objectContaining({ action: 'none', reason: 'InSync' })]);
    expect(again.status.driveId).toBe(created.status.driveId);
    expect(await drivesMarked(cr.metadata.uid!)).toHaveLength(1);
  });

  it('detects quota and name changed by hand, reports DriftDetected with an Event, corrects, then reports InSync', async () => {
    const cr = driveCr();
    const { status } = await run(cr);
    await admin.updateDrive(status.driveId!, { total_size: GiB, drive_name: 'renamed by hand' });

    const drifted = await run(cr);
    expect(drifted.actions).toEqual([expect.objectContaining({ action: 'update', reason: 'DriftDetected' })]);
    expect(findCondition(drifted.status.conditions, 'Synced')).toMatchObject({ status: 'False', reason: 'DriftDetected' });
    expect(findCondition(drifted.status.conditions, 'Ready')).toMatchObject({ status: 'True' });
    expect(drifted.sunk).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Warning', reason: 'DriftDetected', message: expect.stringContaining('total_size 1Gi -> 5Gi') })]));
    expect(drifted.requeueAfterMs).toBeLessThan(60_000);
    expect(drifted).toMatchObject({ atResync: false, driftCorrected: ['name', 'quota'] });
    expect(await admin.getDrive(status.driveId!)).toMatchObject({ total_size: 5 * GiB, drive_name: cr.spec.name });

    const verified = await run(cr);
    expect(findCondition(verified.status.conditions, 'Synced')).toMatchObject({ status: 'True', reason: 'InSync' });
  });

  it('a description edited by hand that lost the marker is drift: the marker is restored, origin stays Created, and Delete still deletes', async () => {
    const cr = driveCr({ reclaimPolicy: 'Delete', description: 'shared files' });
    const { status } = await run(cr);
    await admin.updateDrive(status.driveId!, { description: 'team files' });

    const drifted = await run(cr);
    expect(drifted.actions).toEqual([expect.objectContaining({ action: 'update', reason: 'DriftDetected' })]);
    expect(drifted.sunk).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Warning', reason: 'DriftDetected', message: expect.stringContaining(`its ownership marker (uid ${cr.metadata.uid}) was removed`) })]));
    expect(findCondition(drifted.status.conditions, 'Synced')).toMatchObject({ status: 'False', reason: 'DriftDetected' });
    expect(drifted).toMatchObject({ driftCorrected: ['description'] });
    expect(drifted.status).toMatchObject({ driveId: status.driveId, origin: 'Created' });
    expect((await admin.getDrive(status.driveId!)).description).toBe(`shared files\nopenpds.io/uid=${cr.metadata.uid}; reclaimPolicy=Delete`);
    expect(await drivesMarked(cr.metadata.uid!)).toHaveLength(1);
    expect(findCondition((await run(cr)).status.conditions, 'Synced')).toMatchObject({ status: 'True' });

    // Lost again, then the Drive is deleted before any reconcile: Delete still deletes the drive it made.
    await admin.updateDrive(status.driveId!, { description: 'edited again' });
    const deleted = await reconcileDriveDeletion(cr, ctx().ctx);
    expect(deleted.actions).toEqual([{ action: 'delete', driveId: status.driveId, reason: 'Delete' }]);
    await expect(admin.getDrive(status.driveId!)).rejects.toMatchObject({ isNotFound: true });
  });

  it('a recorded drive without a marker is not taken when the status says Adopted, or the owner or name differ', async () => {
    const cr = driveCr();
    const { status } = await run(cr);
    await admin.updateDrive(status.driveId!, { description: 'hand-made', drive_name: 'another name' });
    const other = await run(cr);
    expect(other.sunk).toEqual(expect.arrayContaining([expect.objectContaining({ reason: 'DriveIdIgnored' })]));
    expect(other.status.driveId).not.toBe(status.driveId);
    expect((await admin.getDrive(status.driveId!)).description).toBe('hand-made');
  });

  it('a drive disabled by hand is drift: enabled again, DriftDetected, counted as status drift', async () => {
    const cr = driveCr();
    const { status } = await run(cr);
    await admin.updateDrive(status.driveId!, { status: 'disabled' });
    const drifted = await run(cr);
    expect(drifted.actions).toEqual([expect.objectContaining({ action: 'update', reason: 'DriftDetected', changes: [{ field: 'status', from: 'disabled', to: 'enabled' }] })]);
    expect(drifted.sunk).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Warning', reason: 'DriftDetected', message: expect.stringContaining('status "disabled" -> "enabled"') })]));
    expect(findCondition(drifted.status.conditions, 'Synced')).toMatchObject({ status: 'False', reason: 'DriftDetected' });
    expect(drifted).toMatchObject({ driftCorrected: ['status'] });
    expect((await admin.getDrive(status.driveId!)).status).toBe('enabled');
  });

  it('a description of 511 emoji after one letter is created whole to the last character that fits (no half emoji)', async () => {
    const emoji = '\u{1F4C1}';
    for (const uid of ['0000-uid-e1', '0000-uid-e22']) {
      const cr = driveCr({ description: `a${emoji.repeat(511)}` });
      cr.metadata.uid = uid;
      const created = await run(cr);
      expect(findCondition(created.status.conditions, 'Ready')).toMatchObject({ status: 'True', reason: 'Applied' });
      const description = (await admin.getDrive(created.status.driveId!)).description;
      expect(description.length).toBeLessThanOrEqual(1024);
      expect(description.endsWith(`\nopenpds.io/uid=${uid}; reclaimPolicy=Retain`)).toBe(true);
      expect((await run(cr)).actions).toEqual([expect.objectContaining({ action: 'none', reason: 'InSync' })]);
    }
  });

  it('a spec change is an update, not drift', async () => {
    const cr = driveCr();
    const { status } = await run(cr);
    cr.spec.quota = { totalSize: '0' };
    cr.metadata.generation = 2;
    const changed = await run(cr);
    expect(changed.actions).toEqual([expect.objectContaining({ action: 'update', reason: 'SpecChanged' })]);
    expect(changed.sunk.map((e) => e.reason)).toEqual(['Updated']);
    expect(changed.status).toMatchObject({ totalSize: '0', totalBytes: 0, observedGeneration: 2 });
    expect(await admin.getDrive(status.driveId!)).toMatchObject({ total_size: null });
  });

  it('recreates a drive deleted by hand and reports it', async () => {
    const cr = driveCr();
    const { status } = await run(cr);
    await admin.deleteDrive(status.driveId!);
    const again = await run(cr);
    expect(again.actions).toEqual([expect.objectContaining({ action: 'create', reason: 'Recreate' })]);
    expect(again.status.driveId).not.toBe(status.driveId);
    expect(again.driftCorrected).toEqual(['deleted']);
    expect(again.sunk.map((e) => `${e.type}/${e.reason}`)).toEqual(['Warning/DriftDetected', 'Normal/Recreated']);
    expect(findCondition(again.status.conditions, 'Synced')).toMatchObject({ status: 'False', reason: 'DriftDetected' });
    expect(await drivesMarked(cr.metadata.uid!)).toHaveLength(1);
  });

  it('resolves a User owner given by user name', async () => {
    const token = (await server.api.login('admin', ADMIN_PASSWORD)).access_token;
    const bob = await server.api.ok('/v2/user/create', { user_name: 'bob-owner', password: 'bob-password' }, token);
    const cr = driveCr({ owner: { kind: 'User', name: 'bob-owner' } });
    const { status } = await run(cr);
    expect(await admin.getDrive(status.driveId!)).toMatchObject({ owner: bob.user_id, owner_type: 'user' });

    const nobody = driveCr({ owner: { kind: 'User', name: 'nobody' } });
    const missing = await run(nobody);
    expect(findCondition(missing.status.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'OwnerNotFound' });
  });

  it('never takes over a drive that a hand-edited status.driveId points at: another Drive\'s drive keeps its name, quota, marker and files, and Delete deletes only its own', async () => {
    const other = driveCr(); // Retain, holds the files
    const otherId = (await run(other)).status.driveId!;
    const cr = driveCr({ reclaimPolicy: 'Delete', quota: { totalSize: '1Gi' } });
    const ownId = (await run(cr)).status.driveId!;
    cr.status = { ...cr.status, driveId: otherId }; // kubectl patch --subresource=status, by mistake or worse
    const again = await run(cr);
    expect(again.sunk).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Warning', reason: 'DriveIdIgnored', message: expect.stringContaining(`status.driveId ${otherId} is not this Drive's drive`) })]));
    expect(again.status.driveId).toBe(ownId); // found again by its marker
    expect(await admin.getDrive(otherId)).toMatchObject({ drive_name: other.spec.name, total_size: 5 * GiB, description: `openpds.io/uid=${other.metadata.uid}; reclaimPolicy=Retain` });

    cr.status = { ...cr.status, driveId: otherId };
    const deleted = await reconcileDriveDeletion(cr, ctx().ctx);
    expect(deleted).toMatchObject({ removeFinalizer: true, actions: [{ action: 'delete', driveId: ownId }] });
    expect(await admin.getDrive(otherId)).toMatchObject({ drive_name: other.spec.name });
    await expect(admin.getDrive(ownId)).rejects.toMatchObject({ status: 404 });
  });

  it('adopts an unmanaged drive with the same owner and name instead of creating one', async () => {
    const cr = driveCr();
    const { drive_id } = await admin.createDrive({ drive_name: cr.spec.name!, owner: 'team', owner_type: 'group', total_size: GiB });
    const adopted = await run(cr);
    expect(adopted.actions).toEqual([expect.objectContaining({ action: 'adopt', driveId: drive_id })]);
    expect(adopted.status).toMatchObject({ driveId: drive_id, origin: 'Adopted' });
    expect(adopted.driftCorrected).toEqual([]); // taking a drive over is not drift
    expect(await admin.getDrive(drive_id)).toMatchObject({ total_size: 5 * GiB, description: `openpds.io/uid=${cr.metadata.uid}; reclaimPolicy=Retain; origin=Adopted` });
    expect(adopted.sunk).toEqual([expect.objectContaining({ reason: 'Adopted', message: expect.stringContaining('which the operator did not create') })]);
    const again = await run(cr);
    expect(again.actions).toEqual([expect.objectContaining({ action: 'none', reason: 'InSync' })]);
    expect(again.status.origin).toBe('Adopted');
  });

  it('keeps the text of a drive it adopts when the spec has no description, and does not call a later edit drift', async () => {
    const cr = driveCr();
    const { drive_id } = await admin.createDrive({ drive_name: cr.spec.name!, owner: 'team', owner_type: 'group', description: 'made by hand', total_size: GiB });
    await run(cr);
    const marker = `openpds.io/uid=${cr.metadata.uid}; reclaimPolicy=Retain; origin=Adopted`;
    expect((await admin.getDrive(drive_id)).description).toBe(`made by hand\n${marker}`);
    await admin.updateDrive(drive_id, { description: `edited in the data plane\n${marker}` });
    const later = await run(cr);
    expect(later.actions).toEqual([expect.objectContaining({ action: 'none', reason: 'InSync' })]);
    expect(later.driftCorrected).toEqual([]);
    expect((await admin.getDrive(drive_id)).description).toBe(`edited in the data plane\n${marker}`);
  });

  it('reclaimPolicy Delete keeps an adopted drive (even with status lost) unless the Drive is annotated delete-adopted', async () => {
    const handMade = async (cr: Drive) => (await admin.createDrive({ drive_name: cr.spec.name!, owner: 'team', owner_type: 'group', description: 'made by hand', total_size: GiB })).drive_id;
    const cr = driveCr({ reclaimPolicy: 'Delete' });
    const id = await handMade(cr);
    const adopted = await run(cr);
    expect(adopted.sunk[0]?.message).toContain('reclaimPolicy Delete will not delete it unless the Drive is annotated openpds.io/delete-adopted: "true"');
    delete cr.status; // the marker alone still says "adopted"
    const spared = await reconcileDriveDeletion(cr, ctx().ctx);
    expect(spared).toMatchObject({ removeFinalizer: true, actions: [{ action: 'release', driveId: id, reason: 'RetainAdopted' }] });
    expect(spared.events).toEqual([expect.objectContaining({ reason: 'Retained', message: expect.stringContaining('the operator adopted this drive and did not create it') })]);
    expect((await admin.getDrive(id)).description).not.toContain('openpds.io/uid='); // released, files and all

    const annotated = driveCr({ reclaimPolicy: 'Delete' });
    annotated.metadata.annotations = { 'openpds.io/delete-adopted': 'true' };
    const doomed = await handMade(annotated);
    await run(annotated);
    const deleted = await reconcileDriveDeletion(annotated, ctx().ctx);
    expect(deleted).toMatchObject({ removeFinalizer: true, actions: [{ action: 'delete', driveId: doomed, reason: 'Delete' }] });
    expect(deleted.events[0]?.message).toContain('adopted drive deleted as openpds.io/delete-adopted asks');
    await expect(admin.getDrive(doomed)).rejects.toMatchObject({ status: 404 });
  });

  it('Retain keeps the drive (released for adoption), Delete deletes it, and both let the finalizer go', async () => {
    const kept = driveCr({ reclaimPolicy: 'Retain' });
    const keptId = (await run(kept)).status.driveId!;
    const retained = await reconcileDriveDeletion(kept, ctx().ctx);
    expect(retained).toMatchObject({ removeFinalizer: true, actions: [{ action: 'release', driveId: keptId, reason: 'Retain' }] });
    expect(retained.events[0]).toMatchObject({ reason: 'Retained', message: expect.stringContaining('kept') });
    expect((await admin.getDrive(keptId)).description).not.toContain('openpds.io/uid=');

    const gone = driveCr({ reclaimPolicy: 'Delete' });
    const goneId = (await run(gone)).status.driveId!;
    delete gone.status; // even with status lost, the marker finds what to delete
    const deleted = await reconcileDriveDeletion(gone, ctx().ctx);
    expect(deleted).toMatchObject({ removeFinalizer: true, actions: [{ action: 'delete', driveId: goneId, reason: 'Delete' }] });
    await expect(admin.getDrive(goneId)).rejects.toMatchObject({ status: 404 });
    expect((await reconcileDriveDeletion(gone, ctx().ctx)).removeFinalizer).toBe(true);
  });

  describe('a drive retained while its Domain was gone (its marker names a deleted Drive)', () => {
    const domainGone = { domain: { state: 'NotFound' as const, message: 'Domain ns/d does not exist' }, clock: { now: () => now } };
    /** A Retain Drive whose drive exists, deleted while its Domain was gone: the finalizer goes, the marker stays. */
    async function orphaned(spec: Partial<Drive['spec']> = {}) {
      const old = driveCr(spec);
      const id = (await run(old)).status.driveId!;
      const deletion = await reconcileDriveDeletion(old, domainGone);
      expect(deletion.removeFinalizer).toBe(true);
      return { old, id };
    }
    /** The uids of the Drives that exist, counting how often the reconciler asks. */
    function cluster(...uids: string[]) {
      const asked = { count: 0 };
      return { asked, driveUidsInUse: async () => (asked.count++, new Set(uids)) };
    }
    async function runIn(cr: Drive, live: ReturnType<typeof cluster> | undefined) {
      const c = ctx(admin, live ? { driveUidsInUse: live.driveUidsInUse } : {});
      const result = await reconcileDrive(cr, c.ctx);
      cr.status = result.status;
      return { ...result, sunk: c.events };
    }
    async function drivesNamed(name: string) {
      const found = [];
      for await (const d of admin.listAllDrives({ owner: 'team' })) if (d.drive_name === name) found.push(d);
      return found;
    }

    it('is adopted by a new Drive with the same owner and name: same drive id, no second drive, recorded as Adopted', async () => {
      const { old, id } = await orphaned({ description: 'the team files' });
      expect((await admin.getDrive(id)).description).toBe(`the team files\nopenpds.io/uid=${old.metadata.uid}; reclaimPolicy=Retain`);

      const again = driveCr({ name: old.spec.name!, description: 'the team files' });
      const live = cluster(again.metadata.uid!);
      const adopted = await runIn(again, live);
      expect(adopted.actions).toEqual([expect.objectContaining({ action: 'adopt', driveId: id, reason: 'Adopt' })]);
      expect(adopted.status).toMatchObject({ driveId: id, origin: 'Adopted' });
      expect(findCondition(adopted.status.conditions, 'Ready')).toMatchObject({ status: 'True', reason: 'Applied' });
      expect(adopted.sunk).toEqual([expect.objectContaining({ reason: 'Adopted', message: expect.stringContaining(`adopted drive ${id}, retained by a deleted Drive (uid ${old.metadata.uid})`) })]);
      expect(live.asked.count).toBe(1);
      expect((await admin.getDrive(id)).description).toBe(`the team files\nopenpds.io/uid=${again.metadata.uid}; reclaimPolicy=Retain; origin=Adopted`);
      expect(await drivesNamed(old.spec.name!)).toHaveLength(1);

      // From then on it is found by id: no more live reads, nothing to change.
      const later = await runIn(again, live);
      expect(later.actions).toEqual([{ action: 'none', driveId: id, reason: 'InSync' }]);
      expect(live.asked.count).toBe(1);
      // Adopted, so reclaimPolicy Delete on the new Drive would not delete the files the old one retained.
      const spared = await reconcileDriveDeletion({ ...again, spec: { ...again.spec, reclaimPolicy: 'Delete' } }, ctx().ctx);
      expect(spared.actions).toEqual([{ action: 'release', driveId: id, reason: 'RetainAdopted' }]);
      expect((await admin.getDrive(id)).drive_id).toBe(id);
    });

    it('is never taken while the Drive its marker names still exists (even when the cache has lost it), nor doubled: NameConflict', async () => {
      const old = driveCr();
      const id = (await run(old)).status.driveId!;
      const rival = driveCr({ name: old.spec.name! });
      const live = cluster(old.metadata.uid!, rival.metadata.uid!);
      const refused = await runIn(rival, live);
      expect(refused.actions).toEqual([]);
      expect(findCondition(refused.status.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'NameConflict', message: expect.stringContaining(`drive ${id} of the same owner (Group team) is named "${old.spec.name}" already and belongs to Drive uid ${old.metadata.uid}`) });
      expect(refused.status.driveId).toBeUndefined();
      expect(live.asked.count).toBe(1);
      expect(await drivesNamed(old.spec.name!)).toHaveLength(1);
      expect((await admin.getDrive(id)).description).toBe(`openpds.io/uid=${old.metadata.uid}; reclaimPolicy=Retain`);
      // Named when the runtime can tell which Drive has the uid.
      const named = await reconcileDrive(rival, ctx(admin, { driveUidsInUse: live.driveUidsInUse, driveOfUid: async (uid) => (uid === old.metadata.uid ? { namespace: 'ns', name: old.metadata.name } : undefined) }).ctx);
      expect(findCondition(named.status.conditions, 'Ready')?.message).toContain(`belongs to Drive ns/${old.metadata.name} (uid ${old.metadata.uid})`);
    });

    it('is not taken when its Drive had reclaimPolicy Delete, nor without a list of live Drives (openpds up, plan, apply)', async () => {
      const { old: doomed, id: doomedId } = await orphaned({ reclaimPolicy: 'Delete' });
      const live = cluster();
      const notAfterDelete = await runIn(driveCr({ name: doomed.spec.name! }), live);
      expect(notAfterDelete.actions).toEqual([expect.objectContaining({ action: 'create' })]);
      expect(live.asked.count).toBe(1); // a marked drive of that name: the live list tells a gone Drive's
      expect((await admin.getDrive(doomedId)).description).toContain(`openpds.io/uid=${doomed.metadata.uid}; reclaimPolicy=Delete`);

      // Without a live list (openpds up, plan, apply --endpoint) no marker is taken for a deleted Drive's:
      // neither taken nor doubled (two drives of one owner and name), a NameConflict naming the marker's uid.
      const { old, id } = await orphaned();
      const local = await runIn(driveCr({ name: old.spec.name! }), undefined);
      expect(local.actions).toEqual([]);
      expect(findCondition(local.status.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'NameConflict', message: expect.stringContaining(`belongs to Drive uid ${old.metadata.uid}`) });
      expect(await drivesNamed(old.spec.name!)).toHaveLength(1);
      expect((await admin.getDrive(id)).description).toBe(`openpds.io/uid=${old.metadata.uid}; reclaimPolicy=Retain`);
    });

    it("a local stand-in uid's drive (openpds up/apply) is not an orphan to the cluster, nor doubled by it", async () => {
      const local = driveCr();
      delete local.metadata.uid; // as `openpds up` reads a manifest: uid local.ns.<name>
      const id = (await run(local)).status.driveId!;
      const live = cluster();
      const inCluster = await runIn(driveCr({ name: local.spec.name! }), live);
      expect(inCluster.actions).toEqual([]);
      expect(findCondition(inCluster.status.conditions, 'Ready')).toMatchObject({ reason: 'NameConflict', message: expect.stringContaining(`belongs to Drive ns/${local.metadata.name} of openpds up/apply (uid local.ns.${local.metadata.name})`) });
      expect(await drivesNamed(local.spec.name!)).toHaveLength(1);
      expect((await admin.getDrive(id)).description).toBe(`openpds.io/uid=local.ns.${local.metadata.name}; reclaimPolicy=Retain`);
    });

    it('`openpds apply --endpoint` (a stand-in uid) does not make a second drive next to a cluster Drive\'s: NameConflict naming its uid', async () => {
      const inCluster = driveCr();
      const id = (await run(inCluster)).status.driveId!;
      const local = driveCr({ name: inCluster.spec.name! });
      delete local.metadata.uid;
      const rec = recording(admin);
      const planned = await reconcileDrive(local, ctx(rec.client, { dryRun: true }).ctx);
      expect(planned.actions).toEqual([]);
      expect(findCondition(planned.status.conditions, 'Ready')).toMatchObject({ reason: 'NameConflict', message: expect.stringContaining(`belongs to Drive uid ${inCluster.metadata.uid}`) });
      const applied = await reconcileDrive(local, ctx(rec.client).ctx);
      expect(findCondition(applied.status.conditions, 'Ready')).toMatchObject({ reason: 'NameConflict' });
      expect(rec.mutations()).toEqual([]);
      expect(await drivesNamed(inCluster.spec.name!)).toEqual([expect.objectContaining({ drive_id: id })]);
    });
  });

  it('plan mode reports the intended actions and mutates nothing', async () => {
    const cr = driveCr();
    const rec = recording(admin);
    const plan = await reconcileDrive(cr, ctx(rec.client, { dryRun: true }).ctx);
    expect(plan.actions).toEqual([expect.objectContaining({ action: 'create' })]);
    expect(rec.mutations()).toEqual([]);
    expect(await drivesMarked(cr.metadata.uid!)).toHaveLength(0);

    await run(cr);
    cr.spec.quota = { totalSize: '7Gi' };
    cr.metadata.generation = 2;
    const planned = await reconcileDrive(cr, ctx(rec.client, { dryRun: true }).ctx);
    expect(planned.actions).toEqual([expect.objectContaining({ action: 'update', changes: [{ field: 'total_size', from: 5 * GiB, to: 7 * GiB }] })]);
    const deletion = await reconcileDriveDeletion({ ...cr, spec: { ...cr.spec, reclaimPolicy: 'Delete' } }, ctx(rec.client, { dryRun: true }).ctx);
    expect(deletion).toMatchObject({ removeFinalizer: false, actions: [{ action: 'delete' }] });
    expect(rec.mutations()).toEqual([]);
  });

  it('a missing Domain, or an unreachable admin API, is Ready=False with a reason and a backoff requeue', async () => {
    const cr = driveCr();
    const missing = await reconcileDrive(cr, { domain: { state: 'NotFound', message: 'Domain ns/d not found' }, clock: { now: () => now } });
    expect(findCondition(missing.status.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'DomainNotFound' });
    expect(missing.requeueAfterMs).toBe(5_000);

    const unreachable = createAdminClient({ baseUrl: 'http://127.0.0.1:9', credentials: { username: 'admin', password: 'x' }, timeoutMs: 1000 });
    const down = await reconcileDrive(cr, ctx(unreachable).ctx);
    expect(findCondition(down.status.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'AdminApiUnreachable' });

    const deletion = await reconcileDriveDeletion(cr, { domain: { state: 'NotFound', message: 'gone' }, clock: { now: () => now } });
    expect(deletion).toMatchObject({ removeFinalizer: true, events: [expect.objectContaining({ reason: 'Retained' })] });
    // Retain needs no data plane to let go; Delete waits for the Domain to serve.
    const notReady = await reconcileDriveDeletion(cr, { domain: { state: 'NotReady', message: 'starting' }, clock: { now: () => now } });
    expect(notReady).toMatchObject({ removeFinalizer: true });
    const deleteWaits = await reconcileDriveDeletion({ ...cr, spec: { ...cr.spec, reclaimPolicy: 'Delete' } }, { domain: { state: 'NotReady', message: 'starting' }, clock: { now: () => now } });
    expect(deleteWaits).toMatchObject({ removeFinalizer: false });
  });
});
