/**
 * The rollout budget across Domains (red team M3): a newer operator whose chart changes the pod template
 * (an annotation, an env var, a probe) would restart every Domain's pods within seconds of starting, and on
 * a volume (Recreate, one pod) every such Domain would be down at the same moment. A leader flip during the
 * operator's own rollout or rollback would do it again with the other version's chart.
 *
 * So a change the Domain's spec did not ask for rolls at most `limit` Domains at a time: a Domain whose
 * Deployments would get a new pod template while their GENERATION_LABEL still names the Domain's current
 * generation (the operator changed, not the spec) waits until fewer than `limit` Domains are rolling. A spec
 * change (a new generation) is never held: O&M asked for it. Nor is a storage-claim takeover or its roll back
 * to check (charts/storage-claim.ts), asked for by annotation, which moves no generation: the Deployments
 * carry the claim mode they were applied with. Held, the takeover would still reach the ConfigMap, applied
 * with the rest, and an old pod that restarted meanwhile would take the store over outside the operator's
 * record (status.storageClaim). Everything is read from the watch cache: the budget costs no request.
 *
 * Rolling, as the cache shows it: a Deployment of ours whose rollout is in progress (rolloutInProgress),
 * whatever started it (a spec change, a new Domain). Not unavailability: a rollout that finished with pods
 * down since (database down, a crashlooping pod, an unschedulable replica) will not finish again by itself,
 * and three such Domains held every other Domain's rollout for ever (review 16). Nor a rollout the Deployment
 * controller gave up on (ProgressDeadlineExceeded, shown as RolloutFailed). A Domain already rolling, or
 * whose rollout failed, is let through: applying to it starts no new disruption. Slots this process granted
 * count from the grant until the cache shows the rollout they started finished, so concurrent reconciles
 * never over-admit while the watch catches up. First come, first served: held Domains poll (requeue) and
 * the first to find a free slot takes it.
 */
import { DOMAIN_LABEL, GENERATION_LABEL } from '../charts/domain-context';
import { TEMPLATE_HASH_ANNOTATION } from '../charts/domain.chart';
import { deploymentStorageClaim } from '../charts/storage-claim';
import type { KubeObject } from '../kube/kube-client';
import { deploymentReadiness } from '../kube/readiness';

export const ROLLOUT_QUEUED = 'RolloutQueued';
/** How long a grant whose Deployments the cache does not show yet still counts (a watch that lags, a failed apply). */
const GRANT_UNSEEN_MS = 60_000;
/** A held Domain not seen again for this long (deleted, its spec changed) is no longer counted as queued. */
const HELD_FORGET_MS = 60_000;

/**
 * How long a grant counts while its Deployment's pods are not all available although the Deployment
 * controller calls the rollout complete: the default progressDeadlineSeconds, after which a rollout that
 * never became available would have failed. See grantCounts.
 */
const GRANT_UNAVAILABLE_MS = 600_000;

type LiveDeployment = KubeObject & {
  spec?: { replicas?: number };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number; conditions?: { type: string; status: string; reason?: string }[] };
};

/**
 * Whether a Deployment's rollout is under way, as the Deployment controller sees it: its spec not observed
 * yet, fewer replicas on the current template than desired, old replicas left, or replicas not all available
 * before the controller has called the rollout complete (Progressing reason NewReplicaSetAvailable, which
 * it keeps while replicas == updatedReplicas). The last clause covers Recreate, whose new pods start after
 * the old ones are gone: updated and total match while nothing serves. Once complete, pods that go down
 * (a crashloop, a database down, an unschedulable HPA replica) are unhealthy, not rolling. A failed rollout
 * (ProgressDeadlineExceeded) is not in progress either. Pure.
 */
export function rolloutInProgress(deployment: LiveDeployment): boolean {
  const readiness = deploymentReadiness(deployment);
  if (readiness.ready || readiness.failed) return false;
  const status = deployment.status ?? {};
  const desired = deployment.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  if ((status.observedGeneration ?? 0) < (deployment.metadata?.generation ?? 0) || updated < desired || (status.replicas ?? 0) > updated) return true;
  return status.conditions?.find((c) => c.type === 'Progressing')?.reason !== 'NewReplicaSetAvailable';
}

/**
 * Names of the Deployments in `manifests` whose apply would restart pods the Domain's spec did not ask to
 * restart: the live one (`live`, the watch cache) runs another pod template than the chart's
 * (TEMPLATE_HASH_ANNOTATION, absent on what an older operator applied: unknown counts as different), was last
 * applied for this very `generation` (GENERATION_LABEL) and storage-claim mode, and runs pods (replicas 0
 * restarts nothing). A Deployment not there yet is created, which restarts nothing either. Pure.
 */
export function operatorDrivenRollouts(manifests: readonly KubeObject[], live: (name: string) => LiveDeployment | undefined, generation: number): string[] {
  const names: string[] = [];
  for (const manifest of manifests) {
    if (manifest.kind !== 'Deployment') continue;
    const name = manifest.metadata!.name!;
    const current = live(name);
    if (!current || current.spec?.replicas === 0) continue;
    if (current.metadata?.labels?.[GENERATION_LABEL] !== String(generation)) continue; // a spec change: never held
    if (deploymentStorageClaim(current) !== deploymentStorageClaim(manifest)) continue; // a takeover or its roll back: never held
    if (current.metadata?.annotations?.[TEMPLATE_HASH_ANNOTATION] === manifest.metadata?.annotations?.[TEMPLATE_HASH_ANNOTATION]) continue;
    names.push(name);
  }
  return names;
}

export type RolloutAdmission = { admitted: true } | { admitted: false; rolling: number; limit: number };

export interface RolloutBudget {
  readonly limit: number;
  /**
   * Domain `key` (ns/name) wants to apply Deployments that restart pods without a spec change. Admitted: a
   * slot is held for it (settle it after the apply). Not admitted: the Domain is counted as queued.
   */
  request(key: string): RolloutAdmission;
  /** After an admitted apply: the Deployments whose generation it moved (name → new generation); none frees the slot. */
  settle(key: string, started: ReadonlyMap<string, number>): void;
  /** The Domain needs no slot (nothing to hold back, a spec change, deleted): no longer queued, its grant dropped. */
  forget(key: string): void;
  /** Domains held back now (the gauge). */
  queued(): number;
}

export interface RolloutBudgetOptions {
  /** Most Domains rolling at once for changes their spec did not ask for; 0: no limit. */
  limit: number;
  /** Every Deployment the operator manages, as its watch cache holds them (undefined before it started). */
  deployments: () => Iterable<LiveDeployment> | undefined;
  /** One Deployment from that cache. */
  deployment: (namespace: string, name: string) => LiveDeployment | undefined;
  monotonicNow?: () => number;
  /** How long the rolling Domains read from the cache are reused (default 1 s: held Domains poll, each would scan it). */
  scanCacheMs?: number;
}

export function createRolloutBudget(options: RolloutBudgetOptions): RolloutBudget {
  const now = options.monotonicNow ?? (() => performance.now());
  const scanCacheMs = options.scanCacheMs ?? 1000;
  // key → when granted, and the Deployments its apply moved (undefined while the apply runs).
  const grants = new Map<string, { at: number; started?: ReadonlyMap<string, number> }>();
  const held = new Map<string, number>(); // key → last time it was held back
  let scanned: { at: number; keys: Set<string>; failed: Set<string> } | undefined;

  /**
   * Domains with a Deployment that has not finished rolling out, and those with one whose rollout failed
   * (the cache; reused for scanCacheMs).
   */
  function scanCache(): { keys: Set<string>; failed: Set<string> } {
    if (scanned && now() - scanned.at < scanCacheMs) return scanned;
    const keys = new Set<string>();
    const failed = new Set<string>();
    for (const d of options.deployments() ?? []) {
      const owner = d.metadata?.labels?.[DOMAIN_LABEL];
      if (!owner) continue;
      if (deploymentReadiness(d).failed) failed.add(`${d.metadata?.namespace}/${owner}`);
      else if (rolloutInProgress(d)) keys.add(`${d.metadata?.namespace}/${owner}`);
    }
    scanned = { at: now(), keys, failed };
    return scanned;
  }

  /**
   * Whether a grant still counts: its apply runs, or the cache has not shown its rollout finished. Its
   * Deployments' pods not all available count for GRANT_UNAVAILABLE_MS after the grant even once the
   * controller calls the rollout complete: a Recreate rollout back onto an older ReplicaSet (an operator
   * rollback) keeps the NewReplicaSetAvailable of before while its pods start. Past that, a rollout that
   * ended with pods down frees its slot, as a failed one does.
   */
  function grantCounts(key: string, grant: { at: number; started?: ReadonlyMap<string, number> }): boolean {
    if (!grant.started) return now() - grant.at < GRANT_UNSEEN_MS;
    const namespace = key.slice(0, key.indexOf('/'));
    for (const [name, generation] of grant.started) {
      const cached = options.deployment(namespace, name);
      if (!cached) {
        if (now() - grant.at < GRANT_UNSEEN_MS) return true;
        continue;
      }
      if ((cached.metadata?.generation ?? 0) < generation) return true; // the watch has not caught up
      if (rolloutInProgress(cached)) return true;
      const readiness = deploymentReadiness(cached);
      if (!readiness.ready && !readiness.failed && now() - grant.at < GRANT_UNAVAILABLE_MS) return true;
    }
    return false;
  }

  function rolling(): Set<string> {
    const keys = new Set(scanCache().keys);
    for (const [key, grant] of grants) {
      if (grantCounts(key, grant)) keys.add(key);
      else grants.delete(key);
    }
    return keys;
  }

  return {
    limit: options.limit,
    request(key) {
      const current = options.limit > 0 ? rolling() : undefined;
      // Already rolling, or failed (down already, and a new template may be its fix): no new disruption.
      if (!current || current.has(key) || scanCache().failed.has(key) || current.size < options.limit) {
        held.delete(key);
        if (current) grants.set(key, { at: now() });
        return { admitted: true };
      }
      held.set(key, now());
      return { admitted: false, rolling: current.size, limit: options.limit };
    },
    settle(key, started) {
      if (started.size === 0 || options.limit === 0) grants.delete(key);
      else grants.set(key, { at: now(), started });
    },
    forget(key) {
      held.delete(key);
      grants.delete(key);
    },
    queued() {
      for (const [key, at] of held) if (now() - at > HELD_FORGET_MS) held.delete(key);
      return held.size;
    },
  };
}

/**
 * The Progressing message of a Domain held back. Without the number of Domains rolling: it moves with every
 * rollout in the fleet, and each held Domain would rewrite its status whenever it did.
 */
export function rolloutQueuedMessage(names: readonly string[], admission: { limit: number }, retryMs: number): string {
  return `Rollout queued: ${admission.limit} or more Domain(s) are rolling out and at most ${admission.limit} roll at once (--max-concurrent-rollouts) for a change their spec did not ask for; the new pod template of ${names.join(', ')} (from the operator, not from a spec change) waits and is retried every ${Math.round(retryMs / 1000)} s. The rest of the data plane is applied; a spec change rolls at once`;
}
