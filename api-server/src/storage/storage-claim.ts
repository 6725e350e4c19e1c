/**
 * The storage claim: which installation owns a blob store. The blob GC deletes every object under blobs/
 * that its own database does not know, so two data planes on one store (two Domains configured alike, or
 * a pod started with an empty OPENPDS_DATABASE_URL and so a fresh embedded database) would each wipe the
 * other's blobs. Before serving and before any GC or job, the data plane reads CLAIM_KEY at the store's
 * root and goes on only if it names this database's instance id (instance_settings, migration 007):
 *
 * - absent, and the store holds no blobs, or blobs this database knows: it writes its own claim with a
 *   conditional create (S3 If-None-Match: *; radosgw 16 honours it), then reads it back in case the store
 *   ignored the condition (a rival's later write shows up at the GC's next re-check at the latest);
 * - absent, and this database knows none of the store's blobs: refused (that is the empty-database case);
 * - absent, the store empty, and this database records stored blobs: refused. The store is not the one its
 *   files' blobs are in (a Domain's bucket, prefix or endpoint edited, another data dir, a store emptied):
 *   claimed, it was served with every stored file unreadable and new uploads split across two stores
 *   (red team M5);
 * - another instance's claim, or one that cannot be read: refused;
 * - this instance's claim for another domain: refused (a copy of the owner's database, e.g. a restored backup
 *   started as staging, shares its instance id);
 * - `takeover` mode writes its claim over whatever is there, for the operator who knows better.
 *
 * The GC calls verify() at the start of every run, so a store claimed by someone else later is not wiped.
 * Replicas and workers on one database share its instance id, so they all pass.
 */
import { Readable } from 'node:stream';
import { ConfigError } from '../config/config';
import type { Queryable } from '../db/db';
import type { Clock } from '../shared/clock';
import { BlobNotFoundError, type BlobStore } from './blob-store';
import { BLOB_COUNT_LIMIT, createStorageClaimRepository } from './storage-claim.repository';

export const CLAIM_KEY = 'openpds-claim.json';
export const CLAIM_KIND = 'openpds-storage-claim';
/** Keys per "does this database know any of these" query while looking at an unclaimed store. */
const KNOWN_KEYS_PAGE = 1000;

export type ClaimMode = 'check' | 'takeover';

export interface ClaimRecord {
  kind: typeof CLAIM_KIND;
  instance_id: string;
  domain_id: string;
  created_at: string;
}

export type ClaimOutcome =
  /** The claim was already this instance's (every start but the first). */
  | 'held'
  /** An empty store, claimed now. */
  | 'claimed'
  /** A store from before claims existed whose blobs this database knows, claimed now. */
  | 'adopted'
  /** OPENPDS_STORAGE_CLAIM=takeover replaced another instance's claim, or claimed unknown blobs. */
  | 'taken_over';

export type ClaimRefusal = 'HeldByOther' | 'CopiedDatabase' | 'UnknownBlobs' | 'MissingBlobs' | 'Unreadable';

/** A ConfigError, so `openpds serve` reports it the way it reports a bad setting and exits 1. */
export class StorageClaimError extends ConfigError {
  override name = 'StorageClaimError';
  constructor(
    readonly reason: ClaimRefusal,
    message: string,
    readonly holder?: ClaimRecord,
  ) {
    super(message);
  }
}

export interface StorageClaimDeps {
  db: Queryable;
  store: BlobStore;
  clock: Clock;
  domainId: string;
  /** Where the store is, for messages: `s3://bucket/prefix/ at endpoint` or a directory. */
  storeName: string;
}

const repo = createStorageClaimRepository();
const UNREADABLE = Symbol('unreadable');

/** Makes sure this instance holds the store's claim, or throws StorageClaimError saying why not. */
export async function claimStore(deps: StorageClaimDeps, mode: ClaimMode): Promise<{ outcome: ClaimOutcome; claim: ClaimRecord; previous?: ClaimRecord }> {
  const instanceId = await repo.instanceId(deps.db);
  const mine: ClaimRecord = { kind: CLAIM_KIND, instance_id: instanceId, domain_id: deps.domainId, created_at: deps.clock.now().toISOString() };
  const body = Buffer.from(`${JSON.stringify(mine, null, 2)}\n`);

  // Twice at most: a lost race for an absent claim is followed by one read of the winner's.
  for (let attempt = 0; attempt < 2; attempt++) {
    const found = await readClaim(deps.store);
    if (found && found !== UNREADABLE && found.instance_id === instanceId) {
      // The same instance id serving another domain is a copy of the owner's database (a restored backup, a
      // copied data dir) pointed at the owner's store: each would collect the other's new blobs.
      if (found.domain_id === deps.domainId) return { outcome: 'held', claim: found };
      if (mode !== 'takeover') throw copiedDatabase(deps, found);
    }
    if (mode === 'takeover') {
      await deps.store.put(CLAIM_KEY, Readable.from([body]), { size: body.length, contentType: 'application/json' });
      await expectOwn(deps, instanceId);
      return { outcome: 'taken_over', claim: mine, previous: found && found !== UNREADABLE ? found : undefined };
    }
    if (found === UNREADABLE) throw unreadable(deps);
    if (found) throw heldByOther(deps, found, instanceId);

    const holding = await storeHolding(deps);
    if (holding === 'unknown') throw unknownBlobs(deps, instanceId);
    if (holding === 'empty') {
      const blobs = await repo.countBlobs(deps.db);
      if (blobs > 0) throw missingBlobs(deps, instanceId, blobs);
    }
    if (await deps.store.putIfAbsent(CLAIM_KEY, body)) {
      await expectOwn(deps, instanceId);
      return { outcome: holding === 'empty' ? 'claimed' : 'adopted', claim: mine };
    }
  }
  throw new Error(`the claim ${CLAIM_KEY} of ${deps.storeName} appeared and went again while this data plane read it; retrying at the next start`);
}

/** Reads the claim back after writing it: a store that ignored If-None-Match may show a rival's. */
async function expectOwn(deps: StorageClaimDeps, instanceId: string): Promise<void> {
  const back = await readClaim(deps.store);
  if (back === UNREADABLE) throw unreadable(deps);
  if (!back || back.instance_id !== instanceId || back.domain_id !== deps.domainId) throw heldByOther(deps, back ?? undefined, instanceId);
}

async function readClaim(store: BlobStore): Promise<ClaimRecord | null | typeof UNREADABLE> {
  let text: string;
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of await store.get(CLAIM_KEY)) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    if (error instanceof BlobNotFoundError) return null;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<ClaimRecord>;
    if (parsed.kind === CLAIM_KIND && typeof parsed.instance_id === 'string' && parsed.instance_id) return parsed as ClaimRecord;
  } catch {
    // falls through: not JSON
  }
  return UNREADABLE;
}

/**
 * Whether an unclaimed store is empty, holds blobs this database knows (an installation from before
 * claims), or holds only blobs it does not know. One key known is enough: a database that owns the store
 * knows nearly all of them, a fresh one none. A fresh database is told apart without a scan.
 */
async function storeHolding(deps: StorageClaimDeps): Promise<'empty' | 'known' | 'unknown'> {
  let page: string[] = [];
  let seen = false;
  for await (const { key } of deps.store.list('blobs/')) {
    if (!seen) {
      seen = true;
      if (!(await repo.knowsAnyObject(deps.db))) return 'unknown';
    }
    page.push(key);
    if (page.length < KNOWN_KEYS_PAGE) continue;
    if (await repo.knowsAnyKey(deps.db, page)) return 'known';
    page = [];
  }
  if (page.length && (await repo.knowsAnyKey(deps.db, page))) return 'known';
  return seen ? 'unknown' : 'empty';
}

const RESOLVE =
  'point this data plane at a different store (another OPENPDS_S3_PREFIX or bucket, or another OPENPDS_DATA_DIR) ' +
  'or at the database that owns this one (OPENPDS_DATABASE_URL; restore it if it was lost)';
/** How a Domain run by the operator asks for OPENPDS_STORAGE_CLAIM=takeover (operator/src/charts/storage-claim.ts). */
const ON_KUBERNETES = '(on Kubernetes: kubectl annotate domain NAME openpds.io/storage-claim=takeover; the operator passes it until the data plane serves, then no more)';
const TAKEOVER =
  'Only if that owner is gone for good and this database is meant to own the store now, start once with ' +
  `OPENPDS_STORAGE_CLAIM=takeover ${ON_KUBERNETES}: its blob GC will then delete every blob this database does not know.`;

function heldByOther(deps: StorageClaimDeps, holder: ClaimRecord | undefined, instanceId: string): StorageClaimError {
  const who = holder ? `instance ${holder.instance_id} of domain "${holder.domain_id}" (claimed ${holder.created_at})` : 'another instance';
  return new StorageClaimError(
    'HeldByOther',
    `the blob store ${deps.storeName} is claimed by ${who}, not by this database (instance ${instanceId}, domain "${deps.domainId}"). ` +
      `Two data planes on one store delete each other's blobs in GC, so this one does not serve: ${RESOLVE}. ${TAKEOVER}`,
    holder,
  );
}

function copiedDatabase(deps: StorageClaimDeps, holder: ClaimRecord): StorageClaimError {
  return new StorageClaimError(
    'CopiedDatabase',
    `the blob store ${deps.storeName} is claimed by this database's instance ${holder.instance_id} for domain "${holder.domain_id}" (claimed ${holder.created_at}), ` +
      `but this data plane serves domain "${deps.domainId}": its database looks like a copy of that domain's (a restored backup, a copied data dir), and two data planes on one store delete each other's new blobs in GC, so this one does not serve: ` +
      `give the copy a store of its own (another OPENPDS_S3_PREFIX or bucket, or a copy of the blobs under another OPENPDS_DATA_DIR). ${TAKEOVER}`,
    holder,
  );
}

function unknownBlobs(deps: StorageClaimDeps, instanceId: string): StorageClaimError {
  return new StorageClaimError(
    'UnknownBlobs',
    `the blob store ${deps.storeName} holds blobs but no claim (${CLAIM_KEY}), and this database (instance ${instanceId}, domain "${deps.domainId}") knows none of them: ` +
      `it looks like a new, empty database (an empty OPENPDS_DATABASE_URL means a fresh embedded one) pointed at a store in use, whose GC would delete them all. ` +
      `This data plane does not serve: ${RESOLVE}. ${TAKEOVER}`,
  );
}

function missingBlobs(deps: StorageClaimDeps, instanceId: string, blobs: number): StorageClaimError {
  return new StorageClaimError(
    'MissingBlobs',
    `the blob store ${deps.storeName} is empty and has no claim (${CLAIM_KEY}), but this database (instance ${instanceId}, domain "${deps.domainId}") records ${blobs >= BLOB_COUNT_LIMIT ? `at least ${blobs}` : blobs} stored blob(s): ` +
      `they are in another store (the bucket, prefix or endpoint changed, or another OPENPDS_DATA_DIR) or this one was emptied. Served, every stored file would be unreadable and new uploads would go to another store than the old ones, so this data plane does not serve: ` +
      `point it back at the store that holds the blobs, or copy every object of that store (${CLAIM_KEY} included) here first. ` +
      `Only if those blobs are lost for good and this database is to serve without them, start once with OPENPDS_STORAGE_CLAIM=takeover ${ON_KUBERNETES}.`,
  );
}

function unreadable(deps: StorageClaimDeps): StorageClaimError {
  return new StorageClaimError(
    'Unreadable',
    `the blob store ${deps.storeName} has a claim (${CLAIM_KEY}) that is not an OpenPDS storage claim, so its owner is unknown and this data plane does not serve: ${RESOLVE}. ${TAKEOVER}`,
  );
}
