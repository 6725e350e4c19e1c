import { AdminApiError } from '../admin-client/admin-api-error';
import type { AdminClient, AdminDrive } from '../admin-client/admin-client';
import type { Drive } from '../domain-types';
import { RequeueError } from '../kube/controller';
import type { KubeClient, KubeObject } from '../kube/kube-client';
import type { OperatorRuntime } from '../main';
import { createOperatorMetrics } from '../metrics';
import type { DomainAccess } from './drive-context';
import { withMarker } from './drive-desired';
import { createDriveReconcile, DRIVE_FINALIZER, DriveReconcileFailed, statusChanged, domainChangeForDrives } from './drive.registration';

/** A runtime whose kube client and admin client write into one ordered log. */
function fakeRuntime(opts: { access?: DomainAccess; liveDomain?: boolean; adminError?: Error; liveDrives?: (Drive & KubeObject)[] } = {}) {
  const log: string[] = [];
  const written: unknown[] = [];
  const drives: AdminDrive[] = [];
  const kube = {
    async patch(ref: { name: string }, _type: string, body: { metadata?: { finalizers?: string[] }; status?: unknown }, options?: { subresource?: string }) {
      log.push(options?.subresource === 'status' ? 'status' : `finalizers=${body.metadata?.finalizers?.join(',') ?? ''}`);
      if (options?.subresource === 'status') written.push(body.status);
      return drive({ name: ref.name, resourceVersion: '2', finalizers: body.metadata?.finalizers ?? [] }); // the live object
    },
    // The Domain's admin Secret (it outlives the Domain and signs deferred deletions), or the Domain.
    find: async (ref: { kind: string }) => (ref.kind === 'Secret' ? { data: { secretKey: Buffer.from('k').toString('base64') } } : opts.liveDomain ? { metadata: { name: 'd' } } : undefined),
    async list() {
      log.push('list drives');
      return { items: opts.liveDrives ?? [] };
    },
  } as unknown as KubeClient;
  const fail = async () => {
    throw opts.adminError;
  };
  const admin = {
    findUser: opts.adminError ? fail : async () => ({ user_id: 'alice-id' }),
    async getDrive(id: string) {
      const found = drives.find((d) => d.drive_id === id);
      if (!found) throw Object.assign(new Error('not found'), { isNotFound: true });
      return found;
    },
    async updateDrive(id: string, patch: Partial<AdminDrive>) {
      log.push('updateDrive');
      const found = drives.find((d) => d.drive_id === id)!;
      Object.assign(found, patch);
      return found;
    },
    async *listAllDrives() {
      yield* drives;
    },
    async createDrive(input: { drive_name: string; description: string; total_size: number }) {
      log.push('createDrive');
      drives.push({ drive_id: 'drv1', drive_name: input.drive_name, description: input.description, total_size: input.total_size, used_size: 0, owner: 'alice-id', owner_type: 'user', default: false } as AdminDrive);
      return { domain_id: 'dom', drive_id: 'drv1' };
    },
  } as unknown as AdminClient;
  const events: string[] = [];
  const metrics = createOperatorMetrics({ defaultMetrics: false });
  const runtime = {
    metrics,
    client: kube,
    config: { metricsPort: 0 },
    events: { record: async (_o: KubeObject, _t: string, reason: string) => void events.push(reason) },
    domainAccess: async () => opts.access ?? { state: 'Ready', client: admin },
    enqueue: () => undefined,
  } as unknown as OperatorRuntime;
  return { runtime, log, events, written, drives, metrics };
}

const drive = (extra: Partial<Drive['metadata']> & { finalizers?: string[]; deletionTimestamp?: string; resourceVersion?: string } = {}, status?: Drive['status']) =>
  ({
    apiVersion: 'openpds.io/v1alpha1',
    kind: 'Drive',
    metadata: { name: 'team', namespace: 'ns', uid: 'u1', generation: 1, resourceVersion: '1', ...extra },
    spec: { domainRef: { name: 'd' }, owner: { kind: 'User', name: 'alice' }, quota: { totalSize: '5Gi' } },
    ...(status ? { status } : {}),
  }) as Drive & KubeObject;

const run = (runtime: OperatorRuntime, object: Drive & KubeObject) => createDriveReconcile(runtime)({ object, namespace: 'ns', name: 'team', signal: new AbortController().signal, retries: 0 });

describe('Drive registration', () => {
  it('adds the finalizer before creating anything in the data plane, then writes status; Events go through the recorder', async () => {
    const { runtime, log, events } = fakeRuntime();
    const result = await run(runtime, drive());
    // A Drive with no drive yet checks a live list for an older Drive with its identity before acting.
    expect(log).toEqual([`finalizers=${DRIVE_FINALIZER}`, 'list drives', 'createDrive', 'status']);
    expect(events).toEqual(['Created']);
    // All well: no requeue of its own. The controller's jittered resync is the drift check.
    expect(result).toBeUndefined();
  });

  it('an admin API failure writes the status and Event, then throws so the controller counts an error', async () => {
    const { runtime, log, events, written } = fakeRuntime({ adminError: new AdminApiError(0, 'Unreachable', 'connect ECONNREFUSED') });
    const failed = run(runtime, drive({ finalizers: [DRIVE_FINALIZER] }));
    await expect(failed).rejects.toBeInstanceOf(DriveReconcileFailed);
    await expect(failed).rejects.toThrow('AdminApiUnreachable: connect ECONNREFUSED');
    expect(log).toEqual(['list drives', 'status']);
    expect(events).toEqual(['AdminApiUnreachable']);
    expect(written[0]).toMatchObject({ conditions: expect.arrayContaining([expect.objectContaining({ type: 'Degraded', status: 'True', reason: 'AdminApiUnreachable' })]) });
  });

  it('waiting for the Domain is a requeue (not an error) with its backoff', async () => {
    const { runtime } = fakeRuntime({ access: { state: 'NotReady', message: 'Domain ns/d is not ready' } });
    expect(await run(runtime, drive({ finalizers: [DRIVE_FINALIZER] }))).toEqual({ requeueAfterMs: 5_000 });
  });

  it('counts corrected drift in openpds_operator_drift_corrected_total by field, and nothing when in sync', async () => {
    const { runtime, drives, metrics, log } = fakeRuntime();
    const status = { driveId: 'drv1', observedGeneration: 1 };
    drives.push({ drive_id: 'drv1', drive_name: 'renamed by hand', description: withMarker('', 'u1', 'Retain'), total_size: 1024 ** 3, used_size: 0, owner: 'alice-id', owner_type: 'user', default: false } as AdminDrive);
    expect(await run(runtime, drive({ finalizers: [DRIVE_FINALIZER] }, status))).toEqual({ requeueAfterMs: expect.any(Number) }); // verify soon
    expect(log).toEqual(['updateDrive', 'status']);
    const text = await metrics.registry.metrics();
    expect(text).toContain('openpds_operator_drift_corrected_total{kind="Drive",field="name"} 1');
    expect(text).toContain('openpds_operator_drift_corrected_total{kind="Drive",field="quota"} 1');
    await run(runtime, drive({ finalizers: [DRIVE_FINALIZER] }, status));
    expect(await metrics.registry.metrics()).toContain('openpds_operator_drift_corrected_total{kind="Drive",field="quota"} 1');
  });

  it('writes no status when nothing changed (a resync of a failing Drive is silent)', async () => {
    const { runtime, log, events, written } = fakeRuntime({ access: { state: 'NotReady', message: 'Domain ns/d is not ready' } });
    await run(runtime, drive({ finalizers: [DRIVE_FINALIZER] }));
    expect(log).toEqual(['status']);
    await run(runtime, drive({ finalizers: [DRIVE_FINALIZER] }, written[0] as Drive['status']));
    expect(log).toEqual(['status']);
    expect(events).toEqual(['DomainNotReady']); // and the second run repeats no Event
  });

  it('a reconcile right after its own writes starts from them, not from the lagging cache: one status write, one Event', async () => {
    const { runtime, log, events } = fakeRuntime({ access: { state: 'NotFound', message: 'Domain ns/d does not exist' } });
    // The API server: each write answers with the next resourceVersion, a GET with the Drive as last written.
    let live = drive();
    runtime.client.patch = (async (_ref: unknown, _type: unknown, body: { metadata?: { finalizers?: string[] }; status?: Drive['status'] }, options?: { subresource?: string }) => {
      log.push(options?.subresource === 'status' ? 'status' : `finalizers=${body.metadata?.finalizers?.join(',') ?? ''}`);
      const metadata = { ...live.metadata, resourceVersion: String(Number(live.metadata.resourceVersion) + 1), ...(body.metadata?.finalizers ? { finalizers: body.metadata.finalizers } : {}) };
      live = { ...live, metadata, ...(body.status ? { status: body.status } : {}) };
      return live;
    }) as never;
    runtime.client.find = (async (ref: { kind: string }) => (ref.kind === 'Drive' ? (log.push('read live'), live) : undefined)) as never;
    const reconcile = createDriveReconcile(runtime);
    const runWith = (object: Drive & KubeObject) => reconcile({ object, namespace: 'ns', name: 'team', signal: new AbortController().signal, retries: 0 });

    await runWith(drive());
    expect(log).toEqual([`finalizers=${DRIVE_FINALIZER}`, 'status']);
    const afterFirst = live;
    // The watch event of its own finalizer write woke it again; the cache has that write, not the status.
    await runWith(drive({ finalizers: [DRIVE_FINALIZER], resourceVersion: '2' }));
    expect(log).toEqual([`finalizers=${DRIVE_FINALIZER}`, 'status', 'read live']);
    expect(live).toBe(afterFirst); // no second status (with a new lastTransitionTime) ...
    expect(events).toEqual(['DomainNotFound']); // ... and no repeated Event
    // Once the cache has caught up, reconciles read it again, not the API server.
    await runWith(afterFirst);
    await runWith(afterFirst);
    expect(log).toEqual([`finalizers=${DRIVE_FINALIZER}`, 'status', 'read live']);
  });

  it('a deleting Drive without the finalizer is left alone', async () => {
    const { runtime, log } = fakeRuntime();
    expect(await run(runtime, drive({ deletionTimestamp: '2030-01-01T00:00:00Z' }))).toBeUndefined();
    expect(log).toEqual([]);
  });

  it('a Domain missing from the cache but present in the API is waited for, never treated as gone', async () => {
    const { runtime, log } = fakeRuntime({ access: { state: 'NotFound', message: 'Domain ns/d does not exist' }, liveDomain: true });
    await expect(run(runtime, drive({ finalizers: [DRIVE_FINALIZER], deletionTimestamp: '2030-01-01T00:00:00Z' }))).rejects.toBeInstanceOf(RequeueError);
    expect(log).toEqual([]); // the finalizer stays: a Delete-policy drive would otherwise leak its data
  });

  it('releases the finalizer once the Domain is really gone, without a status write', async () => {
    const { runtime, log } = fakeRuntime({ access: { state: 'NotFound', message: 'Domain ns/d does not exist' } });
    await run(runtime, drive({ finalizers: [DRIVE_FINALIZER], deletionTimestamp: '2030-01-01T00:00:00Z' }));
    expect(log).toEqual(['finalizers=']);
  });

  it('a Delete Drive whose Domain is gone: the deletion it owes is written to the ConfigMap before the finalizer goes; a failed write keeps the finalizer', async () => {
    const { runtime, log, events } = fakeRuntime({ access: { state: 'NotFound', message: 'Domain ns/d does not exist' } });
    const patch = runtime.client.patch.bind(runtime.client);
    let refuse = true;
    runtime.client.patch = (async (ref: { kind: string; name: string }, type: never, body: { data?: Record<string, string> }, options?: never) => {
      if (ref.kind !== 'ConfigMap') return patch(ref as never, type, body, options);
      if (refuse) throw new Error('apiserver down');
      log.push(`configmap ${ref.name} ${Object.keys(body.data ?? {}).join(',')}`);
      return {};
    }) as never;
    const deleting = { ...drive({ finalizers: [DRIVE_FINALIZER], deletionTimestamp: '2030-01-01T00:00:00Z' }, { driveId: 'drv1' }) };
    deleting.spec = { ...deleting.spec, reclaimPolicy: 'Delete' };
    await expect(run(runtime, deleting)).rejects.toThrow('apiserver down');
    expect(log).toEqual([]);
    refuse = false;
    await run(runtime, deleting);
    expect(log).toEqual(['configmap d-deferred-drive-deletes u1', 'finalizers=']);
    expect(events).toEqual(['DeletionDeferred']);
  });

  it('an older Drive with the same domainRef, owner and drive name: NameConflict naming it, nothing done in the data plane', async () => {
    const older = { ...drive({ name: 'first', uid: 'u0', creationTimestamp: '2020-01-01T00:00:00Z' } as never), spec: { ...drive().spec, name: 'team' } };
    const { runtime, log, events, written } = fakeRuntime({ liveDrives: [older, drive({ creationTimestamp: '2020-01-01T00:00:01Z' } as never)] });
    const result = await run(runtime, drive({ finalizers: [DRIVE_FINALIZER], creationTimestamp: '2020-01-01T00:00:01Z' } as never));
    expect(log).toEqual(['list drives', 'status']); // no createDrive, no updateDrive
    expect(events).toEqual(['NameConflict']);
    const ready = (written[0] as Drive['status'])!.conditions!.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'NameConflict' });
    expect(ready?.message).toContain('Drive ns/first was created first with the same domainRef (d), owner (User alice) and drive name "team"');
    expect(result).toEqual({ requeueAfterMs: expect.any(Number) }); // not an error: woken when the other changes
    // The older one proceeds as usual.
    const first = fakeRuntime({ liveDrives: [older, drive({ creationTimestamp: '2020-01-01T00:00:01Z' } as never)] });
    await run(first.runtime, { ...older, metadata: { ...older.metadata, finalizers: [DRIVE_FINALIZER] } });
    expect(first.log).toContain('createDrive');
  });

  it('an older Drive naming the same user by id: NameConflict too, once the owner is resolved through the admin API', async () => {
    const older = { ...drive({ name: 'first', uid: 'u0', creationTimestamp: '2020-01-01T00:00:00Z' } as never), spec: { ...drive().spec, owner: { kind: 'User' as const, name: 'alice-id' }, name: 'team' } };
    const self = drive({ finalizers: [DRIVE_FINALIZER], creationTimestamp: '2020-01-01T00:00:01Z' } as never);
    const { runtime, log, events, written } = fakeRuntime({ liveDrives: [older, self] });
    await run(runtime, self);
    expect(log).toEqual(['list drives', 'status']); // no createDrive
    expect(events).toEqual(['NameConflict']);
    const ready = (written[0] as Drive['status'])!.conditions!.find((c) => c.type === 'Ready');
    expect(ready?.message).toContain('owner (User alice, written "alice-id" there: the same user)');
    // The older one, written by id, resolves to the same user and holds the name.
    const first = fakeRuntime({ liveDrives: [older, self] });
    await run(first.runtime, { ...older, metadata: { ...older.metadata, finalizers: [DRIVE_FINALIZER] } });
    expect(first.log).toContain('createDrive');
  });

  it('a Drive created this very second waits it out before its first act: a Drive created later in that second may hold its name', async () => {
    const { runtime, log } = fakeRuntime();
    const result = await run(runtime, drive({ finalizers: [DRIVE_FINALIZER], creationTimestamp: new Date().toISOString() } as never));
    expect(result).toEqual({ requeueAfterMs: expect.any(Number) });
    expect((result as { requeueAfterMs: number }).requeueAfterMs).toBeLessThanOrEqual(2000);
    expect(log).toEqual([]); // no list, no create, no status yet
  });

  it('statusChanged ignores key order', () => {
    const conditions = [{ type: 'Ready', status: 'True' as const, reason: 'Applied', lastTransitionTime: '2030-01-01T00:00:00Z' }];
    expect(statusChanged({ driveId: 'a', totalBytes: 1, conditions }, { conditions, totalBytes: 1, driveId: 'a' })).toBe(false);
    expect(statusChanged({ driveId: 'a', conditions }, { driveId: 'b', conditions })).toBe(true);
  });

  it('a Domain wakes its Drives when its readiness changes either way, its deletion starts or it is deleted; not otherwise', () => {
    const domain = (status: string, deletionTimestamp?: string) => ({ metadata: { name: 'd', ...(deletionTimestamp ? { deletionTimestamp } : {}) }, status: { conditions: [{ type: 'Ready', status }] } }) as never;
    expect(domainChangeForDrives('update', domain('False'), domain('True'))).toEqual({ state: 'Ready' });
    expect(domainChangeForDrives('update', domain('True'), domain('False'))).toEqual({ state: 'NotReady' });
    expect(domainChangeForDrives('delete', domain('True'), domain('True'))).toEqual({ state: 'NotFound' });
    expect(domainChangeForDrives('update', domain('True'), domain('True', '2030-01-01T00:00:00Z'))).toEqual({});
    expect(domainChangeForDrives('update', domain('True'), domain('True'))).toBeUndefined(); // e.g. a usage refresh
    expect(domainChangeForDrives('update', domain('False', '2030-01-01T00:00:00Z'), domain('False', '2030-01-01T00:00:00Z'))).toBeUndefined();
    expect(domainChangeForDrives('update', undefined, domain('True'))).toBeUndefined();
    expect(domainChangeForDrives('add', undefined, domain('True'))).toBeUndefined(); // the initial list covers it
  });
});
