import type { KubeClient, KubeObject } from './kube-client';
import { compareResourceVersions, createOwnWrites, readWithFinalizer } from './own-writes';

const at = (resourceVersion: string) => ({ metadata: { name: 'team', namespace: 'ns', resourceVersion } });

describe('own writes of a reconciler', () => {
  it('a cached object older than the last write is read live until the cache shows the write (or a newer state)', async () => {
    const own = createOwnWrites();
    const live = at('12');
    let reads = 0;
    const readLive = async () => (reads++, live);
    expect(await own.current('ns/team', at('9'), readLive)).toEqual(at('9')); // nothing written yet: the cache
    own.wrote('ns/team', '12');
    expect(await own.current('ns/team', at('10'), readLive)).toBe(live);
    expect(await own.current('ns/team', at('11'), readLive)).toBe(live);
    expect(reads).toBe(2);
    expect(await own.current('ns/team', at('13'), readLive)).toEqual(at('13')); // someone wrote after us: newer still
    expect(await own.current('ns/team', at('10'), readLive)).toEqual(at('10')); // forgotten once caught up
    expect(reads).toBe(2);
    own.wrote('ns/other', '20');
    own.forget('ns/other');
    expect(await own.current('ns/other', at('5'), readLive)).toEqual(at('5'));
  });

  it('a server whose versions went back (etcd restored from a backup): one live read, not one per reconcile forever', async () => {
    const own = createOwnWrites();
    let reads = 0;
    const readLive = async () => (reads++, at('7'));
    own.wrote('ns/team', '12');
    expect(await own.current('ns/team', at('7'), readLive)).toEqual(at('7'));
    expect(await own.current('ns/team', at('7'), readLive)).toEqual(at('7'));
    expect(await own.current('ns/team', at('8'), readLive)).toEqual(at('8'));
    expect(reads).toBe(1);
  });

  it('resource versions an API server does not hand out as integers: one live read per write', async () => {
    const own = createOwnWrites();
    let reads = 0;
    const readLive = async () => (reads++, at('b'));
    own.wrote('ns/team', 'b');
    expect(await own.current('ns/team', at('a'), readLive)).toEqual(at('b'));
    expect(await own.current('ns/team', at('a'), readLive)).toEqual(at('a'));
    expect(reads).toBe(1);
  });

  it('compares resource versions as KEP-5504 defines them: decimal integers, by length then digits', () => {
    expect(compareResourceVersions('9', '10')).toBeLessThan(0);
    expect(compareResourceVersions('100', '99')).toBeGreaterThan(0);
    expect(compareResourceVersions('42', '42')).toBe(0);
    expect(compareResourceVersions('12345678901234567890', '12345678901234567891')).toBeLessThan(0); // past 2^53
    for (const [a, b] of [['007', '8'], ['x1', '2'], ['', '1'], [undefined, '1']] as const) expect(compareResourceVersions(a, b)).toBeUndefined();
  });

  describe('readWithFinalizer: how the Drive and Domain reconciles open', () => {
    const FINALIZER = 'openpds.io/test';
    const ref = { apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', namespace: 'ns', name: 'team' };
    const object = (resourceVersion: string, metadata: KubeObject['metadata'] = {}): KubeObject => ({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: 'team', namespace: 'ns', resourceVersion, ...metadata } });

    /** An API server holding one object; `log` is the requests it saw. */
    function apiServer(stored: KubeObject | undefined) {
      const log: string[] = [];
      const client = {
        async find() {
          log.push('GET');
          return stored;
        },
        async patch(_ref: unknown, _type: string, body: { metadata: { finalizers: string[] } }) {
          log.push(`PATCH finalizers=${body.metadata.finalizers.join(',')}`);
          stored = object(String(Number(stored!.metadata!.resourceVersion) + 1), { finalizers: body.metadata.finalizers });
          return stored;
        },
      } as unknown as KubeClient;
      return { client, log };
    }

    it('adds the finalizer once, and the next reconcile starts from that write, not from the older cached copy', async () => {
      const { client, log } = apiServer(object('5'));
      const ownWrites = createOwnWrites();
      const first = await readWithFinalizer({ client, ownWrites }, { key: 'ns/team', ref, cached: object('5'), finalizer: FINALIZER });
      expect(first?.metadata).toMatchObject({ resourceVersion: '6', finalizers: [FINALIZER] });
      const again = await readWithFinalizer({ client, ownWrites }, { key: 'ns/team', ref, cached: object('5'), finalizer: FINALIZER });
      expect(again).toEqual(first); // read live: the cache has not seen the finalizer write yet
      expect(log).toEqual(['PATCH finalizers=openpds.io/test', 'GET']);
    });

    it('a deleting object gets no finalizer; a gone one is undefined, and its memory goes', async () => {
      const deleting = object('5', { deletionTimestamp: '2026-12-07T08:00:00Z' });
      const { client, log } = apiServer(deleting);
      const ownWrites = createOwnWrites();
      expect(await readWithFinalizer({ client, ownWrites }, { key: 'ns/team', ref, cached: deleting, finalizer: FINALIZER })).toBe(deleting);
      ownWrites.wrote('ns/team', '9');
      expect(await readWithFinalizer({ client, ownWrites }, { key: 'ns/team', ref, cached: undefined, finalizer: FINALIZER })).toBeUndefined();
      expect(await ownWrites.current('ns/team', object('5'), () => Promise.reject(new Error('no live read once forgotten')))).toEqual(object('5'));
      expect(log).toEqual([]);
    });
  });
});
