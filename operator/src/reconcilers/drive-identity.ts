/**
 * A Drive's identity in the data plane: its namespace, domainRef, owner (kind + name) and effective drive
 * name (spec.name, else metadata.name). The owner is compared as written here; a user written by id in
 * one Drive and by user name in another is one owner only once the data plane says so (ownerAliases). Two Drives with one identity would each make a same-named drive
 * for the same owner, or (applied at once) both adopt the one unmanaged drive. The first one created
 * keeps the name; each later one is a NameConflict and does nothing in the data plane. Pure: no I/O.
 */
import type { Drive } from '../domain-types';

export interface DriveIdentitySummary {
  namespace: string;
  name: string;
  creationTimestamp?: string;
  identity: string;
  /** spec.owner.name as written (a user id or a user name): named in a NameConflict found through an alias. */
  ownerName?: string;
}

/**
 * The identity as one string (fields joined by a character no Kubernetes name or user name contains).
 * `ownerName` replaces spec.owner.name: the same Drive with its owner written another way (ownerAliases).
 */
export function driveIdentity(drive: Pick<Drive, 'metadata' | 'spec'>, ownerName?: string): string {
  const namespace = drive.metadata.namespace ?? 'default';
  const spec = drive.spec ?? ({} as Partial<Drive['spec']>);
  return [namespace, spec.domainRef?.name, spec.owner?.kind, ownerName ?? spec.owner?.name, spec.name ?? drive.metadata.name].join('\0');
}

/**
 * The other ways a User owner may be written, once the data plane has resolved it: a Drive CR names a user
 * by id or by user name (findUser tries the id first), so `alice` and her id are one owner. A Group owner
 * is the group id as is: no alias. Pure: the caller resolves the user through the admin API.
 */
export function ownerAliases(drive: Pick<Drive, 'spec'>, user: { user_id: string; user_name: string } | undefined): string[] {
  if (drive.spec.owner.kind !== 'User' || !user) return [];
  return [...new Set([user.user_id, user.user_name])].filter((alias) => Boolean(alias) && alias !== drive.spec.owner.name);
}

export function summarizeDrive(drive: Pick<Drive, 'metadata' | 'spec'>): DriveIdentitySummary {
  // client-node's watch may hand a Date, a list the JSON string: compare them as one RFC 3339 form.
  const created = (drive.metadata as { creationTimestamp?: string | Date }).creationTimestamp;
  const time = created !== undefined ? new Date(created) : undefined;
  return {
    namespace: drive.metadata.namespace ?? 'default',
    name: drive.metadata.name,
    ...(time && !Number.isNaN(time.getTime()) ? { creationTimestamp: time.toISOString() } : {}),
    identity: driveIdentity(drive),
    ...(drive.spec?.owner?.name !== undefined ? { ownerName: drive.spec.owner.name } : {}),
  };
}

/** Older: created first; a tie (timestamps have one-second precision) goes to the smaller name. */
export function isOlder(a: DriveIdentitySummary, b: DriveIdentitySummary): boolean {
  const at = a.creationTimestamp ?? '';
  const bt = b.creationTimestamp ?? '';
  return at !== bt ? at < bt : a.name < b.name;
}

/**
 * The Drive that holds `drive`'s identity when that is another, older one (the oldest of them): `drive`
 * is then in conflict with it. Undefined: `drive` is the oldest, or alone. `aliases`: the identities of
 * `drive` with its owner written the other ways (driveIdentity with an ownerAliases entry), which count
 * as its own.
 */
export function identityHolder(drive: DriveIdentitySummary, others: Iterable<DriveIdentitySummary>, aliases: readonly string[] = []): DriveIdentitySummary | undefined {
  let holder: DriveIdentitySummary | undefined;
  for (const other of others) {
    if ((other.identity !== drive.identity && !aliases.includes(other.identity)) || (other.namespace === drive.namespace && other.name === drive.name)) continue;
    if (isOlder(other, drive) && (!holder || isOlder(other, holder))) holder = other;
  }
  return holder;
}

/** See tieSettleMs: one second of timestamp precision, plus a second of clock skew. */
export const TIE_SETTLE_MS = 2_000;

/**
 * How long a Drive with no drive yet should wait before it first acts in the data plane. creationTimestamp
 * has whole seconds, so a Drive created later within the same second ties with this one and, by name, may
 * hold the identity: had this one acted at once (nothing in the live list yet), both would act. Past that
 * second the live list holds every Drive that can tie. At most `settleMs` (OperatorOptions.driveTieSettleMs,
 * TIE_SETTLE_MS by default), whatever the clocks say.
 */
export function tieSettleMs(summary: DriveIdentitySummary, now: Date, settleMs = TIE_SETTLE_MS): number {
  if (!summary.creationTimestamp) return 0;
  const wait = Date.parse(summary.creationTimestamp) + settleMs - now.getTime();
  return Math.min(settleMs, Math.max(0, wait));
}
