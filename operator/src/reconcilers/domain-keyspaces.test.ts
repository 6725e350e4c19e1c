import type { KubernetesObject } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import type { Domain } from '../domain-types';
import type { InformerEvent } from '../kube/informer';
import { createDomainKeyspaces, type DomainKeyspaces } from './domain-keyspaces';
import { storageConflict } from './domain-preflight';

const at = (second: number) => new Date(Date.UTC(2026, 11, 7, 5, 0, second)).toISOString();

function domain(name: string, s3: Record<string, unknown> | undefined, created = at(0), running?: { prefix: string; endpoint?: string }): Domain {
  return {
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, creationTimestamp: created },
    spec: { storage: s3 ? { mode: 'standard', s3: { endpoint: 'http://rgw:7480', bucket: 'media', ...s3 } } : { mode: 'standard', volume: {} } },
    ...(running ? { status: { storage: { endpoint: running.endpoint ?? 'http://rgw:7480', bucket: 'media', prefix: running.prefix } } } : {}),
  } as unknown as Domain;
}

/** Feeds `event` of `d` to the index's watch; the keys it wakes, sorted. */
const feed = (index: DomainKeyspaces, event: InformerEvent, d: Domain) => [...index.watch.ownerKeys(d as unknown as KubernetesObject, event, undefined)].sort();
const names = (ds: Domain[]) => ds.map((d) => d.metadata.name);

describe('the Domain keyspace index: which Domains a storage conflict can be with', () => {
  it('finds the Domains at, above and below a prefix; not a sibling, another bucket or endpoint, a volume, or itself', () => {
    const index = createDomainKeyspaces();
    const all = [
      domain('team', { prefix: 'team/' }),
      domain('same', { prefix: 'team/' }),
      domain('inside', { prefix: 'team/a/' }),
      domain('deeper', { prefix: 'team/a/b/' }),
      domain('whole', {}),
      domain('sibling', { prefix: 'team-b/' }), // "team/" is no prefix of "team-b/"
      domain('bucket', { prefix: 'team/', bucket: 'other' }),
      domain('endpoint', { prefix: 'team/', endpoint: 'http://rgw-2:7480' }),
      domain('aws', { prefix: 'team/', endpoint: undefined, region: 'eu-west-1' }),
      domain('volume', undefined),
    ];
    for (const d of all) feed(index, 'add', d);
    expect(names(index.overlapping(all[0]!))).toEqual(['deeper', 'inside', 'same', 'whole']);
    expect(names(index.overlapping(all[2]!))).toEqual(['deeper', 'same', 'team', 'whole']);
    expect(names(index.overlapping(all[4]!))).toEqual(['deeper', 'inside', 'same', 'sibling', 'team']);
    expect(names(index.overlapping(all[5]!))).toEqual(['whole']);
    expect(index.overlapping(all[9]!)).toEqual([]);
    // A Domain not yet seen by the watch is asked about by its spec alone.
    expect(names(index.overlapping(domain('new', { prefix: 'team/a/b/c/' })))).toEqual(['deeper', 'inside', 'same', 'team', 'whole']);
  });

  it('indexes the keyspace a data plane runs on (status.storage) beside the one its spec asks for', () => {
    const index = createDomainKeyspaces();
    // Its endpoint edited from rgw-2 to rgw; its data plane still runs on rgw-2 until the next apply.
    const moving = domain('moving', { prefix: 'm/' }, at(1), { prefix: 'm/', endpoint: 'http://rgw-2:7480' });
    feed(index, 'add', moving);
    expect(names(index.overlapping(domain('there', { prefix: 'm/', endpoint: 'http://rgw-2:7480' })))).toEqual(['moving']);
    expect(names(index.overlapping(domain('here', { prefix: 'm/' })))).toEqual(['moving']);
  });

  it('wakes the Domains on overlapping keyspaces when one is added, deleted or moves, and nobody when its keyspaces stay', () => {
    const index = createDomainKeyspaces();
    const first = domain('first', { prefix: 'media/' }, at(1));
    expect(feed(index, 'add', first)).toEqual([]);
    expect(feed(index, 'add', domain('other', { prefix: 'other/' }))).toEqual([]);
    const second = domain('second', { prefix: 'media/' }, at(2));
    expect(feed(index, 'add', second)).toEqual(['ns/first']);
    // A status write that leaves both keyspaces as they were (conditions, usage): nobody to wake.
    expect(feed(index, 'update', { ...second, status: { conditions: [] } } as unknown as Domain)).toEqual([]);
    // The first's apply writes status.storage, the keyspace its spec asks for: its data plane now runs
    // there, which changes who holds it (storageConflict), so the Domains there are woken.
    const applied = domain('first', { prefix: 'media/' }, at(1), { prefix: 'media/' });
    expect(feed(index, 'update', applied)).toEqual(['ns/second']);
    expect(feed(index, 'update', { ...applied, status: { ...applied.status, conditions: [] } } as unknown as Domain)).toEqual([]);
    // Its endpoint edited: the Domains of the keyspace it leaves (and of the one it asks for) are woken.
    const moved = domain('first', { prefix: 'media/', endpoint: 'http://rgw-2:7480' }, at(1), { prefix: 'media/' });
    expect(feed(index, 'update', moved)).toEqual(['ns/second']);
    expect(names(index.overlapping(second))).toEqual(['first']); // it still runs there
    // Deleted: the Domain it held back is woken, and no longer finds it.
    expect(feed(index, 'delete', moved)).toEqual(['ns/second']);
    expect(index.overlapping(second)).toEqual([]);
    expect(feed(index, 'delete', second)).toEqual([]);
    expect(index.overlapping(domain('again', { prefix: 'media/' }))).toEqual([]);
    expect(names(index.overlapping(domain('again', {})))).toEqual(['other']); // what is left of the tree
  });

  it('takes a prefix without its trailing slash (a status edited by hand) as the prefix with it', () => {
    const index = createDomainKeyspaces();
    feed(index, 'add', domain('edited', undefined, at(1), { prefix: 'team/a' }));
    expect(names(index.overlapping(domain('inside', { prefix: 'team/a/b/' })))).toEqual(['edited']);
    expect(index.overlapping(domain('beside', { prefix: 'team/ab/' }))).toEqual([]);
  });

  it('gives storageConflict the answer a scan of every Domain gives (random fleets on one bucket)', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const prefix = () => ['', 'a/', 'a/b/', 'a/c/', 'b/', 'a/b/c/', 'ab/'][random(7)]!;
    for (let fleet = 0; fleet < 20; fleet++) {
      const index = createDomainKeyspaces();
      const all = Array.from({ length: 12 }, (_, i) => {
        const running = random(2) ? { prefix: prefix() } : undefined;
        return domain(`d${String(i).padStart(2, '0')}`, { prefix: prefix() }, at(random(5)), running);
      });
      for (const d of all) feed(index, 'add', d);
      for (const d of all) expect(storageConflict(d, index.overlapping(d))).toBe(storageConflict(d, all));
    }
  });
});
