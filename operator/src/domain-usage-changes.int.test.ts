/**
 * OperatorRuntime.domainUsageChanged (main.ts): a Domain's status.usage is read again ~2 s after a Drive
 * changed what it holds, and the changes of one Domain within those 2 s are gathered into one read of its
 * data plane. The gathering lives in runOperator, so this runs the operator against the Kubernetes API test
 * server (test/kube-api) with two Domains whose data planes are stubs counting their /v2/domain/get reads.
 * The changes come from the real Drive reconcile and the real deferred-deletion finish, on the operator's
 * runtime with fakes for the data plane's drives (they are not what is measured).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminClient, AdminDrive } from './admin-client/admin-client';
import type { Drive } from './domain-types';
import type { KubeClient, KubeObject } from './kube/kube-client';
import { runOperator, type OperatorRuntime, type RunningOperator } from './main';
import { createDriveReconcile } from './reconcilers/drive.registration';
import { createDeferredDeletes } from './reconcilers/drive-deferred-deletes';
import { withMarker } from './reconcilers/drive-desired';
import { deferredDeleteKey, DEFERRED_DELETES_DOMAIN_ANNOTATION, DEFERRED_DELETES_LABEL, encodeEntry } from './reconcilers/drive-deferred-store';
import { acmeSecretsYaml, domainYaml, rollOutDomain, startKubeWithCrds } from '../../test/operator/support/acme-domain';
import { eventually, type TestKube } from '../../test/operator/support/kube';
import { kubectl } from '../../test/operator/support/kubectl';

const NS = 'usage';
/**
 * The gathering window (domainUsageCoalesceMs; USAGE_CHANGE_COALESCE_MS, 2 s, by default): a quarter of it,
 * as every test waits it out two or three times over. A burst here (fakes for the data plane and the kube
 * client) took 2-31 ms with the machine's load at 6 (the 50 changes, the 10 rounds, a deferred deletion
 * finishing), far from the window's end.
 */
const WINDOW_MS = 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Domain's data plane as the usage read sees it: /readyz, the admin login, and /v2/domain/get, whose reads it counts. */
async function startDataPlane() {
  const reads: number[] = []; // when (Date.now()) each /v2/domain/get came
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/readyz') return void res.writeHead(200).end('ok');
      const json = (body: unknown) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/v2/account/login') return json({ access_token: 't' });
      if (req.url === '/v2/domain/get') {
        reads.push(Date.now());
        return json({ domain_id: 'd', trash_retention_days: 30, user_count: 1, drive_count: 3, used_size: 0, total_size: 1024, unlimited_drive_count: 0 });
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    reads,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
type DataPlane = Awaited<ReturnType<typeof startDataPlane>>;

let kube: TestKube;
let operator: RunningOperator | undefined;
let runtime: OperatorRuntime;
const planes: Record<string, DataPlane> = {};

beforeAll(async () => {
  kube = await startKubeWithCrds(NS);
  for (const name of ['acme', 'beta']) planes[name] = await startDataPlane();
  operator = await runOperator({
    kubeconfig: kube.kubeconfig,
    metricsPort: 0,
    monitoring: false,
    baseBackoffMs: 100,
    maxBackoffMs: 1000,
    domainEndpoints: { [`${NS}/acme`]: planes.acme!.url, [`${NS}/beta`]: planes.beta!.url },
    domainUsageCoalesceMs: WINDOW_MS,
    // A Drive kind that reconciles nothing: what is wanted of it is the runtime a Drive reconciler gets.
    reconcilers: [{ kind: 'Drive', plural: 'drives', create: (rt) => ((runtime = rt), async () => undefined) }],
    log: () => undefined,
  });
  await kubectl(kube.kubeconfig, ['apply', '-f', '-'], `${acmeSecretsYaml(NS)}---\n${domainYaml(NS, 'acme')}---\n${domainYaml(NS, 'beta')}`);
  await rollOutDomain(kube, NS, 'acme');
  await rollOutDomain(kube, NS, 'beta');
  // Each Domain's first Ready reconcile reads its usage once.
  for (const name of ['acme', 'beta']) await eventually(() => expect(planes[name]!.reads).toHaveLength(1), 10_000);
}, 60_000);

afterAll(async () => {
  await operator?.stop();
  for (const plane of Object.values(planes)) await plane.close();
  await kube?.close();
});

/** The reads of each data plane from now on; after(): all of them, once no window opened since can still bring one. */
function readsFrom() {
  const start = Object.fromEntries(Object.entries(planes).map(([name, p]) => [name, p.reads.length]));
  const since = Date.now();
  return {
    since,
    now: (name: string) => planes[name]!.reads.slice(start[name]),
    async after(sinceMs = 2 * WINDOW_MS + 300) {
      await sleep(since + sinceMs - Date.now());
      return Object.fromEntries(Object.entries(planes).map(([name, p]) => [name, p.reads.slice(start[name]).map((at) => at - since)]));
    },
  };
}

/** The Drive reconcile on the operator's runtime, its kube client and data plane faked: each run creates a drive (Event Created). */
function driveReconcileCreating() {
  const drives: AdminDrive[] = [];
  const admin = {
    findUser: async () => ({ user_id: 'alice-id', user_name: 'alice' }),
    async getDrive(id: string) {
      const found = drives.find((d) => d.drive_id === id);
      if (!found) throw Object.assign(new Error('not found'), { isNotFound: true });
      return found;
    },
    async *listAllDrives() {
      yield* drives;
    },
    async createDrive(input: { drive_name: string; description: string; total_size: number }) {
      const drive_id = `drv-${drives.length + 1}`;
      drives.push({ drive_id, drive_name: input.drive_name, description: input.description, total_size: input.total_size, used_size: 0, owner: 'alice-id', owner_type: 'user', default: false } as AdminDrive);
      return { domain_id: 'dom', drive_id };
    },
  } as unknown as AdminClient;
  const objects = new Map<string, Drive & KubeObject>();
  const client = {
    // The finalizer write and the status write answer with the Drive as written.
    async patch(ref: { name: string }, _type: string, body: { metadata?: { finalizers?: string[] } }) {
      const drive = objects.get(ref.name)!;
      return { ...drive, metadata: { ...drive.metadata, resourceVersion: '2', finalizers: body.metadata?.finalizers ?? drive.metadata.finalizers ?? [] } };
    },
    find: async () => undefined,
    list: async () => ({ items: [] }),
  } as unknown as KubeClient;
  const reconcile = createDriveReconcile({ ...runtime, client, events: { record: async () => undefined }, domainAccess: async () => ({ state: 'Ready', client: admin }) });
  return async (domain: string, name: string) => {
    const drive = { apiVersion: 'openpds.io/v1alpha1', kind: 'Drive', metadata: { name, namespace: NS, uid: `uid-${domain}-${name}`, generation: 1, resourceVersion: '1' }, spec: { domainRef: { name: domain }, owner: { kind: 'User', name: 'alice' }, quota: { totalSize: '1Gi' } } } as Drive & KubeObject;
    objects.set(name, drive);
    await reconcile({ object: drive, namespace: NS, name, signal: new AbortController().signal, retries: 0 });
    if (!drives.some((d) => d.drive_name === name)) throw new Error(`Drive ${name} created no drive`);
  };
}

describe('a Domain\'s usage after its Drives change: one read per Domain per window', () => {
  it('50 Drive changes for one Domain in a burst cost one read, a window after the first; the other Domain none', async () => {
    const driveChanged = driveReconcileCreating();
    const reads = readsFrom();
    await Promise.all(Array.from({ length: 50 }, (_, i) => driveChanged('acme', `team-${i}`)));
    await eventually(() => expect(reads.now('acme')).toHaveLength(1), 6000);
    const { acme, beta } = await reads.after();
    // One: this burst took milliseconds (one spanning the window's end would cost two, never more).
    expect(acme).toHaveLength(1);
    expect(acme![0]).toBeGreaterThanOrEqual(WINDOW_MS - 100); // gathered, not read at the first change
    expect(beta).toEqual([]);
  }, 20_000);

  it('changes of two Domains, interleaved: each Domain read once', async () => {
    const driveChanged = driveReconcileCreating();
    const reads = readsFrom();
    for (let i = 0; i < 10; i++) await Promise.all([driveChanged('acme', `a-${i}`), driveChanged('beta', `b-${i}`)]);
    const { acme, beta } = await reads.after();
    expect([acme!.length, beta!.length]).toEqual([1, 1]);
  }, 20_000);

  it('a change after the window starts a new read', async () => {
    const driveChanged = driveReconcileCreating();
    const reads = readsFrom();
    await driveChanged('acme', 'first');
    await eventually(() => expect(reads.now('acme')).toHaveLength(1), 6000);
    await driveChanged('acme', 'second');
    const { acme } = await reads.after(3 * WINDOW_MS + 300);
    expect(acme).toHaveLength(2);
    expect(acme![1]! - acme![0]!).toBeGreaterThanOrEqual(WINDOW_MS - 100);
  }, 20_000);

  it('a finished deferred deletion counts: alone it costs one read; with Drive changes in the same window, it is gathered with them', async () => {
    // The deferred-deletion path of drive-deferred-deletes.test.ts, on the operator's runtime: a signed
    // entry for Domain acme, finished through a fake admin API once acme is seen Ready.
    const secretKey = 'the Domain secretKey';
    const entry = { uid: 'u-gone', namespace: NS, name: 'gone', domain: 'acme', owner: { kind: 'Group' as const, name: 'g' }, deleteAdopted: false, recordedAt: '2030-01-01T00:00:00.000Z' };
    const configMap = (uid: string) => ({ metadata: { name: 'acme-deferred-drive-deletes', namespace: NS, resourceVersion: '5', labels: { [DEFERRED_DELETES_LABEL]: 'true' }, annotations: { [DEFERRED_DELETES_DOMAIN_ANNOTATION]: 'acme' } }, data: { [uid]: encodeEntry({ ...entry, uid, driveId: `drv-${uid}` }, deferredDeleteKey(secretKey)) } });
    const deleted: string[] = [];
    const admin = {
      getDrive: async (id: string) => ({ drive_id: id, description: withMarker('', id.slice('drv-'.length), 'Delete') }), // the entry's drive
      async *listAllDrives() {},
      getDomain: async () => ({ domain_id: 'd', created_at: '2030-02-01T00:00:00.000Z' }),
      deleteDrive: async (id: string) => void deleted.push(id),
    } as unknown as AdminClient;
    const client = {
      find: async () => ({ data: { secretKey: Buffer.from(secretKey).toString('base64') } }),
      list: async () => ({ items: [] }),
      patch: async () => ({ metadata: { resourceVersion: '6' }, data: {} }),
      request: async () => undefined,
    } as unknown as KubeClient;
    const deferred = createDeferredDeletes({ ...runtime, client, events: { record: async () => undefined }, domainAccess: async () => ({ state: 'Ready', client: admin }) });
    const acmeReady = { metadata: { name: 'acme', namespace: NS, uid: 'uid-acme' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } };
    deferred.domainEvent(acmeReady as never, 'add');

    let reads = readsFrom();
    deferred.watch.ownerKeys(configMap('u-gone') as never, 'add', undefined);
    await eventually(() => expect(deleted).toEqual(['drv-u-gone']));
    expect((await reads.after()).acme).toHaveLength(1);

    const driveChanged = driveReconcileCreating();
    reads = readsFrom();
    deferred.watch.ownerKeys(configMap('u-gone-2') as never, 'add', undefined);
    await Promise.all(Array.from({ length: 10 }, (_, i) => driveChanged('acme', `with-deferred-${i}`)));
    await eventually(() => expect(deleted).toEqual(['drv-u-gone', 'drv-u-gone-2']));
    expect((await reads.after()).acme).toHaveLength(1);
  }, 30_000);

  it('stop while a refresh is pending: no throw, no read after, and no timer left (not even one armed by a Drive reconcile finishing during the drain)', async () => {
    // Every timer domainUsageChanged arms, until it fires or is cleared.
    const armed = new Set<NodeJS.Timeout>();
    const { setTimeout: realSetTimeout, clearTimeout: realClearTimeout } = globalThis;
    const spies = [
      jest.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
        const fromUsage = new Error().stack?.includes('domainUsageChanged') ?? false;
        const timer: NodeJS.Timeout = realSetTimeout((...a: unknown[]) => (armed.delete(timer), fn(...a)), ms, ...args);
        if (fromUsage) armed.add(timer);
        return timer;
      }) as typeof setTimeout),
      jest.spyOn(globalThis, 'clearTimeout').mockImplementation((timer) => (armed.delete(timer as NodeJS.Timeout), realClearTimeout(timer))),
    ];
    try {
      const driveChanged = driveReconcileCreating();
      const reads = readsFrom();
      await driveChanged('acme', 'before-stop');
      expect(armed.size).toBe(1);
      const stopping = operator!.stop();
      // A Drive reconcile the drain lets finish: its change comes after stop() cleared the timers.
      runtime.domainUsageChanged!(NS, 'beta');
      await expect(stopping).resolves.toBeUndefined();
      runtime.domainUsageChanged!(NS, 'acme'); // and one after: nothing to refresh any more
      expect(armed.size).toBe(0);
      expect(await reads.after()).toEqual({ acme: [], beta: [] });
    } finally {
      for (const spy of spies) spy.mockRestore();
      operator = undefined;
    }
  }, 20_000);
});
