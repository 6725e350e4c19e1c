/**
 * Identity conflicts between Drives in the Kubernetes runtime (drive-identity.ts says what one is): an
 * index of every Drive's identity, fed by a watch on Drives, answers which older Drive holds a Drive's
 * identity; the reconciler then reports NameConflict and leaves the data plane alone. The watch is the Drive
 * controller's own informer (a `primary` secondary watch): no second stream of the same Drives.
 *
 * The same watch wakes the Drives an event concerns: when a Drive is added, deleted, or its identity
 * changes (a new spec.name, owner or domainRef), every other Drive of its old and new identity is queued,
 * so a NameConflict Drive proceeds as soon as the Drive holding its name is gone or renamed, and a Drive
 * that now collides says so at once.
 *
 * The owner is indexed as written. A User may be written by id in one Drive and by user name in another;
 * only the data plane knows they are one user, and resolving every indexed owner would cost an admin call
 * per Drive of a fleet (and the status has no field to keep a resolved id in: the CRD prunes it). So the
 * reconcile of a Drive about to act resolves its own owner (one findUser) and looks its identity up under
 * each alias too (`aliases`); a Drive found that way is remembered as that Drive's blocker, and woken with
 * it when the blocker is deleted or changes identity (nothing shares its written identity to wake it).
 *
 * A Drive that has no drive yet (no status.driveId) and is about to act in the data plane checks against
 * a live list instead of the index: two Drives applied at once may each reconcile before this watch has
 * seen the other, and both would adopt the same unmanaged drive. A uid list is read from the apiserver
 * (a quorum read), so of two Drives that both exist, each sees the other.
 */
import type { KubernetesObject } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { API_VERSION, type Drive } from '../domain-types';
import type { SecondaryWatch } from '../kube/controller';
import type { InformerEvent } from '../kube/informer';
import type { OperatorRuntime } from '../main';
import { identityHolder, summarizeDrive, type DriveIdentitySummary } from './drive-identity';

export interface DriveConflicts {
  /**
   * The older Drive holding `drive`'s identity, if any. `live`: confirm with a list from the apiserver.
   * `aliases`: `drive`'s identity with its owner written the other ways (drive-identity.ts ownerAliases).
   */
  holderOf(drive: Drive, options: { live: boolean; aliases?: readonly string[] }): Promise<DriveIdentitySummary | undefined>;
  watch: SecondaryWatch;
}

// The reconcile (createDriveReconcile) and the watch (secondary) are built separately from one runtime and
// must share one index: keyed by the runtime, so two operators in one process never share theirs.
const byRuntime = new WeakMap<OperatorRuntime, DriveConflicts>();

export function driveConflictsOf(rt: OperatorRuntime): DriveConflicts {
  let conflicts = byRuntime.get(rt);
  if (!conflicts) byRuntime.set(rt, (conflicts = createDriveConflicts(rt)));
  return conflicts;
}

const keyOf = (s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`;

function createDriveConflicts(rt: OperatorRuntime): DriveConflicts {
  const index = new Map<string, DriveIdentitySummary>();
  /** identity → the keys of the Drives that have it (a fleet's initial list must not cost n² scans). */
  const byIdentity = new Map<string, Set<string>>();
  /** holder key → the Drives in conflict with it through an owner alias, to wake when it changes. */
  const waiting = new Map<string, Set<string>>();

  function put(key: string, summary: DriveIdentitySummary | undefined): DriveIdentitySummary | undefined {
    const before = index.get(key);
    if (before) {
      const keys = byIdentity.get(before.identity)!;
      keys.delete(key);
      if (keys.size === 0) byIdentity.delete(before.identity);
    }
    if (summary) {
      index.set(key, summary);
      byIdentity.set(summary.identity, (byIdentity.get(summary.identity) ?? new Set()).add(key));
    } else {
      index.delete(key);
    }
    return before;
  }

  /** The other Drives with one of these identities (their keys). */
  function sharing(identities: (string | undefined)[], except: string): string[] {
    const keys = new Set<string>();
    for (const identity of identities) for (const key of (identity !== undefined && byIdentity.get(identity)) || []) if (key !== except) keys.add(key);
    return [...keys];
  }

  function candidates(identity: string): DriveIdentitySummary[] {
    return [...(byIdentity.get(identity) ?? [])].map((key) => index.get(key)!);
  }

  return {
    async holderOf(drive, { live, aliases = [] }) {
      const self = summarizeDrive(drive);
      const others = live
        ? (await rt.client.list<Drive>({ apiVersion: API_VERSION, kind: 'Drive', namespace: self.namespace })).items.map(summarizeDrive)
        : [self.identity, ...aliases].flatMap(candidates);
      const holder = identityHolder(self, others, aliases);
      if (holder && holder.identity !== self.identity) {
        const key = keyOf(holder);
        waiting.set(key, (waiting.get(key) ?? new Set()).add(keyOf(self)));
      }
      return holder;
    },
    watch: {
      // Fed by the Drive controller's own informer: every add, update and delete, in order.
      primary: true,
      ownerKeys(object: KubernetesObject, event: InformerEvent) {
        const next = summarizeDrive(object as unknown as Drive);
        const key = keyOf(next);
        const before = put(key, event === 'delete' ? undefined : next);
        // Most updates (status writes, finalizers) leave the identity as it was: nobody else to wake.
        if (event === 'update' && before?.identity === next.identity) return [];
        const waiters = [...(waiting.get(key) ?? [])];
        waiting.delete(key);
        return [...new Set([...sharing([before?.identity, next.identity], key), ...waiters])];
      },
    },
  };
}
