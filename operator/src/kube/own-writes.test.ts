import { compareResourceVersions, createOwnWrites } from './own-writes';

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
});
