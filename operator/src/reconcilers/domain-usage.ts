/**
 * Domain status.usage: the figures read through the admin API (/v2/domain/get), and when a read is worth a
 * status write. Pure functions; the reconciler does the reading.
 */
import type { AdminDomain } from '../admin-client/admin-client';
import type { DomainUsageStatus } from '../domain-types';
import { bytesToQuantity } from './drive-desired';

const USAGE_FIELDS = ['user_count', 'drive_count', 'used_size', 'total_size', 'unlimited_drive_count'] as const;

/**
 * status.usage from a /v2/domain/get answer; a string saying what is missing when the answer lacks a
 * figure (a data plane older than this operator has no total_size), so nothing is written half known.
 */
export function usageStatus(answer: Partial<AdminDomain> | undefined, observedAt: Date): DomainUsageStatus | string {
  const missing = USAGE_FIELDS.filter((f) => typeof answer?.[f] !== 'number' || !Number.isFinite(answer[f]));
  if (missing.length) return `/v2/domain/get answered without ${missing.join(', ')} (a data plane older than this operator?)`;
  const a = answer as AdminDomain;
  return {
    users: a.user_count,
    drives: a.drive_count,
    usedBytes: a.used_size,
    usedSize: bytesToQuantity(a.used_size),
    quotaBytes: a.total_size,
    quotaSize: bytesToQuantity(a.total_size),
    unlimitedDrives: a.unlimited_drive_count,
    observedAt: observedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

/**
 * How long a refresh that finds the same figures may leave status.usage as it is. Each refresh (every
 * usageRefreshMs) used to write the Domain's status only because observedAt moved: one write per Domain
 * every few minutes, and one watch event per Domain to every client watching Domains, for nothing new.
 * Unchanged figures now rewrite observedAt once an hour, so it says when the figures were last written
 * (read and changed, or read and confirmed), never more than an hour before the last read.
 */
export const USAGE_UNCHANGED_REWRITE_MS = 60 * 60_000;

const sameFigures = (a: DomainUsageStatus, b: DomainUsageStatus) =>
  a.users === b.users && a.drives === b.drives && a.usedBytes === b.usedBytes && a.usedSize === b.usedSize && a.quotaBytes === b.quotaBytes && a.quotaSize === b.quotaSize && a.unlimitedDrives === b.unlimitedDrives;

/**
 * The usage to write after a read: the read when its figures differ from `previous` (or there is none),
 * or when previous.observedAt is USAGE_UNCHANGED_REWRITE_MS old or older (or unparsable); else
 * `previous` itself, observedAt and all, so the status write it would have cost is skipped.
 */
export function usageToWrite(previous: DomainUsageStatus | undefined, read: DomainUsageStatus, rewriteAfterMs = USAGE_UNCHANGED_REWRITE_MS): DomainUsageStatus {
  if (!previous || !sameFigures(previous, read)) return read;
  const age = Date.parse(read.observedAt) - Date.parse(previous.observedAt);
  return age < rewriteAfterMs ? previous : read; // NaN (an unparsable observedAt) writes the read
}
