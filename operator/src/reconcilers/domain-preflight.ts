/**
 * What the Domain reconciler checks before it applies anything: a spec this data plane can run, and the
 * Secrets (and keys) its pods would read. Either failing blocks the Domain with a reason (Degraded),
 * nothing applied, so pods never crash-loop on a missing Secret key.
 */
import type { SecretKeyUse } from '../charts/domain.chart';
import type { DomainContext } from '../charts/domain-context';
import type { Domain } from '../domain-types';
import type { KubeClient, KubeObject } from '../kube/kube-client';

/**
 * Why this operator will not run the spec, if it will not. Hosting mode is in the CRD (the API is settled)
 * but the data plane does not implement it yet: its config accepts OPENPDS_STORAGE local or s3 only, so
 * pods would crash-loop and the Domain would wait for replicas that never come, with no reason given.
 */
export function unsupportedSpec(ctx: DomainContext): string | undefined {
  if (ctx.spec.storage.mode === 'hosting') {
    return `storage.mode hosting is not implemented by this data-plane version (${ctx.image}): it runs standard mode only (storage.s3 or storage.volume); nothing was applied`;
  }
  return undefined;
}

/**
 * Secrets found lately, by `namespace/name`: the keys they had and when (monotonic ms). Secrets are not
 * watched (a watch needs `list` on every Secret), so each reconcile would read them again; a Domain's
 * rollout brings several reconciles within seconds, each re-reading what the one before just read. A
 * Secret found with every key a reconcile needs is trusted for `ttlMs`; a missing Secret or key is never
 * cached, so a fix is seen at the next retry, and a Secret deleted after a read is seen within `ttlMs`.
 */
export interface SecretKeyCache {
  fresh(namespace: string, name: string, keys: readonly string[]): boolean;
  remember(namespace: string, name: string, keys: readonly string[]): void;
}

export function createSecretKeyCache(ttlMs = 30_000, monotonic: () => number = () => performance.now()): SecretKeyCache {
  const seen = new Map<string, { keys: Set<string>; at: number }>();
  return {
    fresh(namespace, name, keys) {
      const entry = seen.get(`${namespace}/${name}`);
      if (!entry || monotonic() - entry.at >= ttlMs) return false;
      return keys.every((k) => entry.keys.has(k));
    },
    remember(namespace, name, keys) {
      // Bounded by the Secrets Domains reference; stale entries are overwritten or simply never fresh.
      seen.set(`${namespace}/${name}`, { keys: new Set(keys), at: monotonic() });
    },
  };
}

/** Every Secret of `uses` that is missing or lacks a key, as a blocking reason and message; undefined when all are there. */
export async function checkSecretKeys(client: KubeClient, namespace: string, uses: SecretKeyUse[], cache?: SecretKeyCache): Promise<{ reason: 'MissingSecret' | 'MissingSecretKey'; message: string } | undefined> {
  const keysOf = (secret: string) => uses.filter((u) => u.secret === secret).map((u) => u.key);
  // All read at once (those not fresh in the cache), then judged in order.
  const secrets = [...new Set(uses.map((u) => u.secret))].filter((name) => !cache?.fresh(namespace, name, keysOf(name)));
  const fetched = await Promise.all(secrets.map((name) => client.find<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', namespace, name })));
  // Every problem at once, so whoever fixes them does not learn of the second only after fixing the first.
  const absent: string[] = [];
  const keyless: string[] = [];
  for (const [i, secret] of secrets.entries()) {
    const found = fetched[i];
    const readers = uses.filter((u) => u.secret === secret);
    if (!found) {
      absent.push(`Secret ${namespace}/${secret} referenced by the spec does not exist (read by ${[...new Set(readers.map((u) => u.readBy))].join(', ')})`);
      continue;
    }
    // The apiserver folds stringData into data, so data holds every key. An empty value is as missing as
    // no key: the data plane reads an empty database URL as "embedded PGlite", a database of the pod's own
    // in its temporary directory, whose blob GC would then delete the shared bucket's blobs it does not know.
    const missing = readers.filter((u) => found.data?.[u.key] === undefined);
    const empty = readers.filter((u) => found.data?.[u.key] !== undefined && Buffer.from(found.data[u.key]!, 'base64').toString('utf8').trim() === '');
    const filled = Object.keys(found.data ?? {}).filter((k) => !empty.some((u) => u.key === k));
    if (!missing.length && !empty.length) cache?.remember(namespace, secret, filled);
    const problems = [
      ...(missing.length ? [`has no key ${missing.map((u) => `${u.key} (read by ${u.readBy})`).join(', ')}`] : []),
      ...(empty.length ? [`has an empty value for ${empty.map((u) => `${u.key} (read by ${u.readBy})`).join(', ')}`] : []),
    ];
    if (problems.length) keyless.push(`Secret ${namespace}/${secret} ${problems.join(' and ')}; it has ${Object.keys(found.data ?? {}).sort().join(', ') || 'no keys'}`);
  }
  if (absent.length) return { reason: 'MissingSecret', message: [...absent, ...keyless].join('; and ') };
  if (keyless.length) return { reason: 'MissingSecretKey', message: keyless.join('; and ') };
  return undefined;
}

/** The part of an S3 store a Domain's data plane treats as its own: every object under `prefix`. */
export interface S3Keyspace {
  /** The service and bucket: endpoint (or AWS's, by region) and bucket name. */
  store: string;
  /** The key prefix, with a trailing '/' ('' for the whole bucket). */
  prefix: string;
}

/** What status.storage records of a keyspace. */
export type AppliedStorage = { endpoint: string; bucket: string; prefix: string };

// By object: the informer hands out the same copy until the Domain changes, and each apply scans them all.
const keyspaces = new WeakMap<Domain, { wanted?: S3Keyspace; running?: S3Keyspace }>();

/** The keyspace a Domain's spec asks for, and the one its data plane was last applied with (status.storage). */
export function keyspacesOf(domain: Domain): { wanted?: S3Keyspace; running?: S3Keyspace } {
  let found = keyspaces.get(domain);
  if (!found) {
    const wanted = appliedStorage(domain);
    const applied = domain.status?.storage;
    found = { ...(wanted ? { wanted: keyspace(wanted) } : {}), ...(applied ? { running: keyspace(applied) } : {}) };
    keyspaces.set(domain, found);
  }
  return found;
}

/** The keyspace the spec asks for, as status.storage records it once applied; undefined on a volume. */
export function appliedStorage(domain: Domain): AppliedStorage | undefined {
  const s3 = domain.spec?.storage?.s3;
  if (!s3?.bucket || domain.spec.storage.volume) return undefined; // a volume is the Domain's own claim
  const endpoint = s3.endpoint ? s3.endpoint.trim().toLowerCase().replace(/\/+$/, '') : `aws:${s3.region ?? 'us-east-1'}`;
  const prefix = (s3.prefix ?? '').replace(/^\/+/, '');
  return { endpoint, bucket: s3.bucket, prefix: prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix };
}

const keyspace = (s: AppliedStorage): S3Keyspace => ({ store: `${s.endpoint}/${s.bucket}`, prefix: s.prefix });
const overlap = (a: S3Keyspace | undefined, b: S3Keyspace | undefined): boolean => Boolean(a && b && a.store === b.store && (a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix)));

/**
 * Another Domain on an S3 keyspace that overlaps the one this Domain's spec asks for (the same bucket, and
 * one prefix equal to or inside the other), and that holds it: why this one must not run, or undefined.
 * Each data plane's blob GC deletes the objects under its prefix its own database does not know, and aborts
 * the multipart uploads there it did not start: two of them on one keyspace delete each other's files.
 *
 * Who holds it: the Domain whose data plane runs there (status.storage, written with the apply) against one
 * that does not, so an edit that moves a Domain onto a keyspace in use is held back, however old that
 * Domain is; else (both or neither run there) the one created first. A Domain being deleted holds its
 * keyspace too: its data plane runs until its deletion is done (it may wait minutes for its Drives), and what
 * it leaves behind (drives it retains) is its data, not the newer one's to collect.
 */
export function storageConflict(domain: Domain, others: Iterable<Domain>): string | undefined {
  const mine = keyspacesOf(domain);
  if (!mine.wanted) return undefined;
  // The informer's copies carry client-node's Date, a JSON read a string: compared as times, then by name.
  const created = (d: Domain) => new Date((d.metadata as { creationTimestamp?: string | Date }).creationTimestamp ?? 0).getTime() || 0;
  const before = (a: Domain, b: Domain) => created(a) - created(b) || (`${a.metadata.namespace}/${a.metadata.name}` < `${b.metadata.namespace}/${b.metadata.name}` ? -1 : 1);
  for (const other of others) {
    if (other.metadata.uid === domain.metadata.uid || (other.metadata.namespace === domain.metadata.namespace && other.metadata.name === domain.metadata.name)) continue;
    const theirs = keyspacesOf(other);
    const theyRun = overlap(mine.wanted, theirs.running);
    const theyWant = overlap(mine.wanted, theirs.wanted);
    if (!theyRun && !theyWant) continue;
    // Where they are (running, else asking to be), and whether this Domain already runs there itself.
    const where = theyRun ? theirs.running! : theirs.wanted!;
    const iRun = overlap(mine.running, where);
    const holds = theyRun && !iRun ? true : iRun && !theyRun ? false : before(other, domain) < 0;
    if (!holds) continue;
    const place = (k: S3Keyspace) => (k.prefix ? `prefix "${k.prefix}"` : 'the whole bucket');
    const why = theyRun && !iRun ? 'whose data plane runs there' : 'which came first';
    return `storage.s3 overlaps Domain ${other.metadata.namespace}/${other.metadata.name}, ${why}: both use bucket ${mine.wanted.store} (it ${place(where)}, this one ${place(mine.wanted)}), and each data plane's blob GC deletes the objects under its prefix that its own database does not know. Give this Domain a prefix of its own that is not inside the other's (or another bucket); nothing was applied`;
  }
  return undefined;
}
