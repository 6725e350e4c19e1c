/**
 * Which Domains' S3 keyspaces overlap a Domain's (storageConflict in domain-preflight.ts says which of them
 * holds it): an index of every Domain's keyspaces, by store (endpoint and bucket) and then by prefix
 * segment, fed by the Domain controller's own informer (a `primary` secondary watch: no second stream of
 * the same Domains). The check before each apply then reads the Domains on the same part of the bucket
 * instead of every Domain: at a cold start of N Domains that share a bucket, each with its own prefix, the
 * scan of all of them was N² comparisons (0.7 s of CPU at 1,000 Domains, 70 s at 10,000).
 *
 * A Domain is indexed under both keyspaces it has: the one its spec asks for and the one its data plane was
 * last applied with (status.storage), as storageConflict weighs both.
 *
 * The same watch wakes the Domains a change concerns: when a Domain is added or deleted, or one of its
 * keyspaces changes (its endpoint edited; status.storage written by an apply), every other Domain on an
 * overlapping keyspace is queued. A Domain held back with StorageConflict then applies as soon as the one
 * holding its keyspace is gone or has moved, not at its next retry, whose backoff grows to 30 s.
 */
import type { KubernetesObject } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import type { Domain } from '../domain-types';
import type { SecondaryWatch } from '../kube/controller';
import { objectKey, type InformerEvent } from '../kube/informer';
import { keyspacesOf, type S3Keyspace } from './domain-preflight';

export interface DomainKeyspaces {
  /** The other Domains with a keyspace (asked for or running) that overlaps the one `domain`'s spec asks for. */
  overlapping(domain: Domain): Domain[];
  watch: SecondaryWatch;
}

/** One prefix segment's node: the Domains with a keyspace ending here, and the longer prefixes below. */
interface Node {
  keys: Set<string>;
  children: Map<string, Node>;
}

const newNode = (): Node => ({ keys: new Set(), children: new Map() });

/**
 * 'team/a/' → ['team', 'a']; '' (the whole bucket) → []. A prefix ends in '/' (appliedStorage); one in a
 * status edited by hand without it is taken as if it had one.
 */
const segments = (prefix: string): string[] => (prefix ? prefix.replace(/\/$/, '').split('/') : []);

/** The keyspaces a Domain is indexed under, deduplicated ('store\nprefix' each: equal keyspaces, equal strings). */
function indexedUnder(domain: Domain): string[] {
  const { wanted, running } = keyspacesOf(domain);
  return [...new Set([wanted, running].filter((k): k is S3Keyspace => Boolean(k)).map((k) => `${k.store}\n${k.prefix}`))];
}

/**
 * What storageConflict weighs of a Domain's keyspaces: the one asked for and the one running, apart. A
 * data plane that starts (or stops) running on the keyspace its spec asks for changes who holds it, though
 * the keyspaces it is indexed under stay the same.
 */
function weighed(domain: Domain | undefined): string {
  if (!domain) return '';
  const { wanted, running } = keyspacesOf(domain);
  return JSON.stringify([wanted ?? null, running ?? null]);
}

const parse = (entry: string): S3Keyspace => {
  const cut = entry.indexOf('\n');
  return { store: entry.slice(0, cut), prefix: entry.slice(cut + 1) };
};

export function createDomainKeyspaces(): DomainKeyspaces {
  /** store → the root of its prefix tree. */
  const stores = new Map<string, Node>();
  /** Domain key → the Domain as last seen, and the keyspaces it is indexed under. */
  const domains = new Map<string, { domain: Domain; entries: string[] }>();

  /** Adds `key` under `entry`'s keyspace. */
  function insert(entry: string, key: string): void {
    const { store, prefix } = parse(entry);
    let node: Node | undefined = stores.get(store);
    if (!node) stores.set(store, (node = newNode()));
    for (const segment of segments(prefix)) {
      let child: Node | undefined = node.children.get(segment);
      if (!child) node.children.set(segment, (child = newNode()));
      node = child;
    }
    node.keys.add(key);
  }

  /** Removes `key` from under `entry`'s keyspace, and the branches left empty, so a fleet that comes and goes leaves no tree behind. */
  function remove(entry: string, key: string): void {
    const { store, prefix } = parse(entry);
    const root = stores.get(store);
    if (!root) return;
    const path: { node: Node; segment: string }[] = [{ node: root, segment: '' }];
    for (const segment of segments(prefix)) {
      const child = path[path.length - 1]!.node.children.get(segment);
      if (!child) return;
      path.push({ node: child, segment });
    }
    path[path.length - 1]!.node.keys.delete(key);
    for (let i = path.length - 1; i > 0 && path[i]!.node.keys.size === 0 && path[i]!.node.children.size === 0; i--) path[i - 1]!.node.children.delete(path[i]!.segment);
    if (root.keys.size === 0 && root.children.size === 0) stores.delete(store);
  }

  /** The keys of every Domain on a keyspace overlapping `keyspace`: at, above (shorter prefixes) or below it. */
  function overlappingKeys(keyspace: S3Keyspace, into: Set<string>): void {
    let node = stores.get(keyspace.store);
    if (!node) return;
    for (const key of node.keys) into.add(key);
    for (const segment of segments(keyspace.prefix)) {
      node = node.children.get(segment);
      if (!node) return;
      for (const key of node.keys) into.add(key);
    }
    const below = [...node.children.values()];
    for (let next = below.pop(); next; next = below.pop()) {
      for (const key of next.keys) into.add(key);
      below.push(...next.children.values());
    }
  }

  return {
    overlapping(domain) {
      const wanted = keyspacesOf(domain).wanted;
      if (!wanted) return [];
      const keys = new Set<string>();
      overlappingKeys(wanted, keys);
      keys.delete(objectKey(domain as unknown as KubernetesObject));
      // In key order, so that of several holders the message names the same one every time.
      return [...keys].sort().map((key) => domains.get(key)!.domain);
    },
    watch: {
      // Fed by the Domain controller's own informer: every add, update and delete, in order.
      primary: true,
      ownerKeys(object: KubernetesObject, event: InformerEvent) {
        const key = objectKey(object);
        const domain = object as unknown as Domain;
        const known = domains.get(key);
        const before = known?.entries ?? [];
        const after = event === 'delete' ? [] : indexedUnder(domain);
        if (event === 'delete') domains.delete(key);
        else domains.set(key, { domain, entries: after });
        // Most updates (status conditions, usage, finalizers) leave the keyspaces as they were: nobody to wake.
        if (weighed(known?.domain) === weighed(event === 'delete' ? undefined : domain)) return [];
        for (const entry of before) if (!after.includes(entry)) remove(entry, key);
        for (const entry of after) if (!before.includes(entry)) insert(entry, key);
        const woken = new Set<string>();
        for (const entry of [...before, ...after]) overlappingKeys(parse(entry), woken);
        woken.delete(key);
        return [...woken];
      },
    },
  };
}
