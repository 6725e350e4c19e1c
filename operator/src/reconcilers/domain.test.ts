import type { AdminClient } from '../admin-client/admin-client';
import { createDomainContext } from '../charts/domain-context';
import type { Domain, DomainStatus, DomainUsageStatus } from '../domain-types';
import type { KubeClient, KubeObject } from '../kube/kube-client';
import { RequeueError } from '../kube/controller';
import type { FetchFn } from '../kube/readiness';
import { createDomainReconciler, DOMAIN_FINALIZER } from './domain';
import { adminEndpoint, createDomainAccessResolver } from './domain-access';
import { checkSecretKeys, createSecretKeyCache, storageConflict } from './domain-preflight';
import { usageToWrite } from './domain-usage';

const domain = (annotations: Record<string, string> = {}): Domain => ({
  apiVersion: 'openpds.io/v1alpha1',
  kind: 'Domain',
  metadata: { name: 'acme', namespace: 'prod', annotations },
  spec: { storage: { mode: 'standard', volume: { size: '1Gi' } } },
});

describe('adminEndpoint: where the operator sends its admin login', () => {
  it('is the Domain Service by default', () => {
    expect(adminEndpoint(domain(), createDomainContext(domain()))).toBe('http://acme-api.prod.svc:8080');
  });

  it('is the --domain-endpoint override of that Domain when the operator has one', () => {
    expect(adminEndpoint(domain(), createDomainContext(domain()), { 'prod/acme': 'http://127.0.0.1:9000', 'prod/other': 'http://x' })).toBe('http://127.0.0.1:9000');
  });

  it('is never taken from the Domain object: whoever edits a Domain must not receive the admin password', () => {
    const annotated = domain({ 'openpds.io/admin-endpoint': 'https://attacker.example' });
    expect(adminEndpoint(annotated, createDomainContext(annotated))).toBe('http://acme-api.prod.svc:8080');
  });
});

describe('createDomainAccessResolver: which Domains lend their admin API to Drives', () => {
  const withReady = (status: string, reason: string, deleting = false): Domain => ({
    ...domain(),
    metadata: { ...domain().metadata, ...(deleting && { deletionTimestamp: '2026-01-01T00:00:00Z' }) },
    status: { conditions: [{ type: 'Ready', status, reason, message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] } as DomainStatus,
  });
  const access = (d: Domain | undefined) => createDomainAccessResolver({ client: {} as KubeClient, getDomain: () => d, domainEndpoints: { 'prod/acme': 'http://127.0.0.1:1' } })('prod', 'acme');

  it('a Ready Domain; not one that is missing or not Ready', async () => {
    expect((await access(withReady('True', 'Ready'))).state).toBe('Ready');
    expect(await access(undefined)).toMatchObject({ state: 'NotFound' });
    expect(await access(withReady('False', 'WaitingForReadyz'))).toMatchObject({ state: 'NotReady', message: expect.stringContaining('WaitingForReadyz') });
  });

  it('a Domain being deleted that waits for its Delete Drives: its data plane still runs, and each would wait for the other', async () => {
    // Lent for deletion only: the Drive reconciler creates and changes nothing through it.
    expect(await access(withReady('False', 'WaitingForDrives', true))).toMatchObject({ state: 'Ready', deleting: true });
    expect(await access(withReady('True', 'Ready'))).not.toHaveProperty('deleting');
    expect((await access(withReady('False', 'Deleting', true))).state).toBe('NotReady'); // tearing down: too late
  });
});

describe('checkSecretKeys: what the pods would read from Secrets', () => {
  const secrets: Record<string, Record<string, string>> = { s3: { AWS_ACCESS_KEY_ID: 'eA==' }, db: { url: 'eA==' } };
  const client = { find: async (ref: { name: string }) => (secrets[ref.name] ? { data: secrets[ref.name] } : undefined) } as unknown as KubeClient;
  const use = (secret: string, key: string, readBy: string) => ({ secret, key, readBy });

  it('names every missing Secret and key at once, a missing Secret first', async () => {
    const problem = await checkSecretKeys(client, 'prod', [use('pg', 'url', 'OPENPDS_DATABASE_URL'), use('s3', 'AWS_SECRET_ACCESS_KEY', 'OPENPDS_S3_SECRET_ACCESS_KEY'), use('gone', 'k', 'OPENPDS_X')]);
    expect(problem?.reason).toBe('MissingSecret');
    expect(problem?.message).toBe(
      'Secret prod/pg referenced by the spec does not exist (read by OPENPDS_DATABASE_URL); and Secret prod/gone referenced by the spec does not exist (read by OPENPDS_X); and ' +
        'Secret prod/s3 has no key AWS_SECRET_ACCESS_KEY (read by OPENPDS_S3_SECRET_ACCESS_KEY); it has AWS_ACCESS_KEY_ID',
    );
  });

  it('with a cache, reads a Secret found complete again only after the TTL, or when a reconcile needs a key it lacked; never caches what is missing', async () => {
    let clock = 0;
    const reads: string[] = [];
    const counting = { find: async (ref: { name: string }) => (reads.push(ref.name), secrets[ref.name] ? { data: secrets[ref.name] } : undefined) } as unknown as KubeClient;
    const cache = createSecretKeyCache(30_000, () => clock);
    const uses = [use('db', 'url', 'OPENPDS_DATABASE_URL'), use('pg', 'url', 'OPENPDS_DATABASE_URL')];
    expect(await checkSecretKeys(counting, 'prod', uses, cache)).toMatchObject({ reason: 'MissingSecret' });
    expect(await checkSecretKeys(counting, 'prod', uses, cache)).toMatchObject({ reason: 'MissingSecret' });
    expect(reads).toEqual(['db', 'pg', 'pg']); // db was complete: not read again; pg (missing) is, every time
    clock = 29_999;
    expect(await checkSecretKeys(counting, 'prod', [use('db', 'url', 'X'), use('db', 'password', 'Y')], cache)).toMatchObject({ reason: 'MissingSecretKey' }); // a key it did not have
    expect(reads).toEqual(['db', 'pg', 'pg', 'db']);
    clock = 60_000;
    expect(await checkSecretKeys(counting, 'prod', [use('db', 'url', 'X')], cache)).toBeUndefined();
    expect(reads).toEqual(['db', 'pg', 'pg', 'db', 'db']); // older than the TTL
  });

  it('is MissingSecretKey when every Secret exists, and nothing when every key does', async () => {
    expect(await checkSecretKeys(client, 'prod', [use('s3', 'AWS_SECRET_ACCESS_KEY', 'OPENPDS_S3_SECRET_ACCESS_KEY')])).toMatchObject({ reason: 'MissingSecretKey' });
    expect(await checkSecretKeys(client, 'prod', [use('db', 'url', 'OPENPDS_DATABASE_URL'), use('s3', 'AWS_ACCESS_KEY_ID', 'OPENPDS_S3_ACCESS_KEY_ID')])).toBeUndefined();
  });

  it('an empty (or blank) value is as missing as no key: an empty database URL would give each pod an embedded database of its own', async () => {
    const blank = { find: async () => ({ data: { url: '', AWS_ACCESS_KEY_ID: Buffer.from(' \n').toString('base64'), AWS_SECRET_ACCESS_KEY: 'eA==' } }) } as unknown as KubeClient;
    const problem = await checkSecretKeys(blank, 'prod', [use('pg', 'url', 'OPENPDS_DATABASE_URL'), use('pg', 'AWS_ACCESS_KEY_ID', 'OPENPDS_S3_ACCESS_KEY_ID'), use('pg', 'AWS_SECRET_ACCESS_KEY', 'OPENPDS_S3_SECRET_ACCESS_KEY')]);
    expect(problem).toEqual({
      reason: 'MissingSecretKey',
      message: 'Secret prod/pg has an empty value for url (read by OPENPDS_DATABASE_URL), AWS_ACCESS_KEY_ID (read by OPENPDS_S3_ACCESS_KEY_ID); it has AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, url',
    });
  });
});

describe('usageToWrite: a usage refresh that finds the same figures writes nothing', () => {
  const usage = (observedAt: string, usedBytes = 0): DomainUsageStatus => ({ users: 1, drives: 1, usedBytes, usedSize: String(usedBytes), quotaBytes: 10, quotaSize: '10', unlimitedDrives: 0, observedAt });

  it('keeps the previous usage, observedAt and all, when the figures are the same and it is less than an hour old', () => {
    const previous = usage('2026-01-01T10:00:00Z');
    expect(usageToWrite(previous, usage('2026-01-01T10:59:59Z'))).toBe(previous);
  });

  it('writes the read when a figure changed, when there was none, or once an hour with the same figures', () => {
    const changed = usage('2026-01-01T10:05:00Z', 3000);
    expect(usageToWrite(usage('2026-01-01T10:00:00Z'), changed)).toBe(changed);
    expect(usageToWrite(undefined, changed)).toBe(changed);
    const hourLater = usage('2026-01-01T11:00:00Z');
    expect(usageToWrite(usage('2026-01-01T10:00:00Z'), hourLater)).toBe(hourLater);
    const unparsable = usage('yesterday');
    expect(usageToWrite(unparsable, hourLater)).toBe(hourLater);
  });
});

describe('reconcileDomain: status.usage refreshes', () => {
  // A Domain Ready with usage, reconciled again past the refresh interval (a resync): the data plane is read
  // again each time, and the Domain's status is written only when the figures changed or once an hour.
  function harness(fetch: FetchFn = async () => ({ ok: true, status: 200 })) {
    let clock = Date.parse('2026-01-01T10:00:00Z');
    let answer = { domain_id: 'd', trash_retention_days: 30, user_count: 1, drive_count: 1, used_size: 0, total_size: 10 * 1024 ** 3, unlimited_drive_count: 0 };
    const statusWrites: DomainStatus[] = [];
    let reads = 0;
    const deployments = new Map<string, KubeObject>();
    const client = {
      async find(ref: { kind: string; name: string }) {
        if (ref.kind === 'Deployment') return deployments.get(ref.name);
        if (ref.kind !== 'Secret') return undefined;
        // The admin Secret a Domain of this name kept (it outlives its Domain, labelled as its own).
        const labels = { 'app.kubernetes.io/managed-by': 'openpds-operator', 'openpds.io/domain': 'acme' };
        return { metadata: { labels }, data: { username: Buffer.from('admin').toString('base64'), password: Buffer.from('pw').toString('base64'), secretKey: Buffer.from('k'.repeat(32)).toString('base64') } };
      },
      async patch(ref: { kind: string }, type: string, body: KubeObject & { status?: DomainStatus }, options: { subresource?: string } = {}) {
        if (options.subresource === 'status') return void statusWrites.push(body.status!);
        if (type === 'apply' && ref.kind === 'Deployment') {
          const replicas = (body.spec as { replicas?: number } | undefined)?.replicas ?? 1;
          const live = { ...body, metadata: { ...body.metadata, generation: 1 }, status: { observedGeneration: 1, replicas, updatedReplicas: replicas, availableReplicas: replicas } };
          deployments.set(body.metadata!.name!, live);
          return live;
        }
        return undefined;
      },
    } as unknown as KubeClient;
    const reconcile = createDomainReconciler({
      client,
      events: { record: async () => undefined },
      monitoring: false,
      fetch,
      now: () => new Date(clock),
      monotonicNow: () => clock,
      adminClients: { get: () => ({ getDomain: async () => (reads++, answer) }) as unknown as AdminClient, forget: () => undefined },
    });
    // A uid, as every stored Domain has: its children then carry its controller reference.
    const ready = { ...domain(), metadata: { ...domain().metadata, uid: 'uid-acme', generation: 1, finalizers: [DOMAIN_FINALIZER] } } as Domain;
    let current = ready;
    return {
      async reconcileAfter(ms: number) {
        clock += ms;
        const writes = statusWrites.length;
        await reconcile({ object: current, namespace: 'prod', name: 'acme', signal: new AbortController().signal, retries: 0 });
        if (statusWrites.length > writes) current = { ...current, status: statusWrites[statusWrites.length - 1] };
        return { wrote: statusWrites.length > writes, usage: current.status?.usage, reads };
      },
      setUsedBytes: (bytes: number) => void (answer = { ...answer, used_size: bytes }),
      reconcileOnce: () => reconcile({ object: current, namespace: 'prod', name: 'acme', signal: new AbortController().signal, retries: 0 }),
    };
  }

  it('asks a starting data plane again when its 503 says (Retry-After), not after the growing error backoff', async () => {
    const starting = JSON.stringify({ code: 'ServiceUnavailable.Starting', message: 'the server is starting; retry shortly' });
    let retryAfter: string | undefined = '1';
    const h = harness(async () => ({ ok: false, status: 503, text: async () => starting, header: (name) => (name === 'retry-after' ? retryAfter : undefined) }));
    expect(await h.reconcileOnce()).toEqual({ requeueAfterMs: 1000 });
    retryAfter = '3600'; // bounded: never longer than the replicas poll
    expect(await h.reconcileOnce()).toEqual({ requeueAfterMs: 30_000 });
    retryAfter = undefined; // none said: an error, retried with backoff
    await expect(h.reconcileOnce()).rejects.toThrow(RequeueError);
  });

  it('reads the usage at each refresh but writes status only when a figure changed, and hourly when none did', async () => {
    const h = harness();
    const first = await h.reconcileAfter(0);
    expect(first).toMatchObject({ wrote: true, reads: 1, usage: { usedBytes: 0, observedAt: '2026-01-01T10:00:00Z' } });
    // Past the 5-minute refresh, the same figures: read, nothing written, observedAt as it was.
    const same = await h.reconcileAfter(6 * 60_000);
    expect(same).toMatchObject({ wrote: false, reads: 2, usage: { observedAt: '2026-01-01T10:00:00Z' } });
    // A figure changed: written with the time of the read.
    h.setUsedBytes(3000);
    expect(await h.reconcileAfter(6 * 60_000)).toMatchObject({ wrote: true, reads: 3, usage: { usedBytes: 3000, usedSize: '2.9Ki', observedAt: '2026-01-01T10:12:00Z' } });
    // Unchanged for an hour of refreshes: one write, which moves observedAt to that read.
    const writes: boolean[] = [];
    for (let i = 0; i < 10; i++) writes.push((await h.reconcileAfter(6 * 60_000)).wrote);
    expect(writes).toEqual([false, false, false, false, false, false, false, false, false, true]);
    const last = await h.reconcileAfter(0);
    expect(last).toMatchObject({ wrote: false, reads: 13, usage: { usedBytes: 3000, observedAt: '2026-01-01T11:12:00Z' } });
  });
});

describe('storageConflict: two data planes on one S3 keyspace would delete each other\'s blobs', () => {
  const at = (second: number) => new Date(Date.UTC(2026, 11, 6, 5, 0, second));
  const domain = (name: string, s3: Record<string, unknown> | undefined, created: Date | string, extra: Record<string, unknown> = {}): Domain =>
    ({ metadata: { name, namespace: 'ns', uid: `uid-${name}`, creationTimestamp: created, ...extra }, spec: { storage: s3 ? { mode: 'standard', s3: { bucket: 'media', ...s3 } } : { mode: 'standard', volume: {} } } }) as unknown as Domain;

  it('the newer of two Domains on the same bucket and prefix (or one inside the other) is held back; the older runs', () => {
    const older = domain('a', { endpoint: 'http://rgw:7480/', prefix: 'team/' }, at(1));
    const newer = domain('b', { endpoint: 'HTTP://RGW:7480', prefix: '/team' }, at(2).toISOString()); // a JSON string beside a Date
    expect(storageConflict(newer, [older, newer])).toContain('storage.s3 overlaps Domain ns/a, which came first: both use bucket http://rgw:7480/media (it prefix "team/", this one prefix "team/")');
    expect(storageConflict(older, [older, newer])).toBeUndefined();
    const inside = domain('c', { endpoint: 'http://rgw:7480', prefix: 'team/c/' }, at(3));
    expect(storageConflict(inside, [older, inside])).toContain('overlaps Domain ns/a');
    const whole = domain('d', { endpoint: 'http://rgw:7480' }, at(4));
    expect(storageConflict(whole, [older, whole])).toContain('this one the whole bucket');
  });

  it('a Domain whose data plane runs on the keyspace (status.storage) holds it against an older one edited onto it', () => {
    const running = (name: string, prefix: string, created: Date, applied: string) =>
      ({ ...domain(name, { endpoint: 'http://rgw:7480', prefix }, created), status: { storage: { endpoint: 'http://rgw:7480', bucket: 'media', prefix: applied } } }) as unknown as Domain;
    const acme = running('acme', 'beta/', at(1), 'acme/'); // older, edited from acme/ onto beta/
    const beta = running('beta', 'beta/', at(2), 'beta/'); // newer, running on beta/
    expect(storageConflict(acme, [acme, beta])).toContain('overlaps Domain ns/beta, whose data plane runs there');
    expect(storageConflict(beta, [acme, beta])).toBeUndefined();
    // Both already running there (from before this check): the older one holds it.
    const both = running('acme', 'beta/', at(1), 'beta/');
    expect(storageConflict(beta, [both, beta])).toContain('overlaps Domain ns/acme, which came first');
    expect(storageConflict(both, [both, beta])).toBeUndefined();
  });

  it('a prefix of its own, another bucket or endpoint, or a volume is no conflict; a Domain being deleted is one; a tie goes by name', () => {
    const a = domain('a', { prefix: 'team/' }, at(1));
    expect(storageConflict(domain('b', { prefix: 'team-b/' }, at(2)), [a])).toBeUndefined(); // "team/" is no prefix of "team-b/"
    expect(storageConflict(domain('b', { prefix: 'team/', bucket: 'other' }, at(2)), [a])).toBeUndefined();
    expect(storageConflict(domain('b', { prefix: 'team/', region: 'eu-west-1' }, at(2)), [a])).toBeUndefined(); // AWS, another region
    expect(storageConflict(domain('b', undefined, at(2)), [domain('v', undefined, at(1))])).toBeUndefined();
    // A Domain being deleted still runs its data plane until its deletion is done: still a conflict.
    expect(storageConflict(domain('b', { prefix: 'team/' }, at(2)), [domain('a', { prefix: 'team/' }, at(1), { deletionTimestamp: at(5) })])).toContain('ns/a');
    expect(storageConflict(domain('b', { prefix: 'team/' }, at(1)), [domain('a', { prefix: 'team/' }, at(1))])).toContain('ns/a');
    expect(storageConflict(domain('a', { prefix: 'team/' }, at(1)), [domain('b', { prefix: 'team/' }, at(1))])).toBeUndefined();
  });
});
