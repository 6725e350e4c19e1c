/**
 * A blob store taken over on a Domain's behalf. The data plane refuses a store another installation claims
 * (api-server/src/storage/storage-claim.ts) until it is started once with OPENPDS_STORAGE_CLAIM=takeover;
 * on Kubernetes the operator owns that variable (the ConfigMap is applied server-side, a hand edit is put
 * back), so the Domain asks for it with an annotation:
 *
 *     kubectl annotate domain acme openpds.io/storage-claim=takeover
 *
 * An annotation, not a spec field: it is an act done once by someone who knows the store's other owner is
 * gone for good, not a setting. The data plane takes over "for one start"; passed on for good, every later
 * start (a restart, a node drain, a scale-out, the next rollout) would take the store over again, from an
 * owner who may have come back. So once the Domain is Ready on pods started with it, the reconciler records
 * that in status.storageClaim.takenOverAt (an Event says so) and stops passing it: the pods roll back to
 * check. The annotation is never removed by the operator (no fight with a GitOps tool), but it should go,
 * from Git too: a Domain re-created with an empty status would take the store over again. Removing it
 * clears the record, so a later takeover is asked for the same way. `openpds up` has no
 * status: there the annotation is passed while it is in the manifest. The CRD's schema cannot see
 * annotations, so a value other than these two is refused by the reconciler (and by local mode's manifest
 * check) with the Domain blocked, not ignored.
 */
import type { Domain } from '../domain-types';

export const STORAGE_CLAIM_ANNOTATION = 'openpds.io/storage-claim';
const MODES = ['check', 'takeover'] as const;
export type StorageClaimMode = (typeof MODES)[number];

/** The mode the annotation asks for; undefined when it is absent or not one of the modes (storageClaimProblem says so). */
export function storageClaimMode(domain: Pick<Domain, 'metadata'>): StorageClaimMode | undefined {
  const value = domain.metadata.annotations?.[STORAGE_CLAIM_ANNOTATION];
  return MODES.find((mode) => mode === value);
}

/** Why the annotation cannot be honoured, in kubectl's words for a bad value; undefined when it is absent or valid. */
export function storageClaimProblem(domain: Pick<Domain, 'metadata'>): string | undefined {
  const value = domain.metadata.annotations?.[STORAGE_CLAIM_ANNOTATION];
  if (value === undefined || storageClaimMode(domain)) return undefined;
  return `metadata.annotations[${STORAGE_CLAIM_ANNOTATION}]: Unsupported value: ${JSON.stringify(value)}: supported values: ${MODES.map((m) => `"${m}"`).join(', ')}`;
}

/** A takeover asked for and not done yet: the Domain's status has no record of it. */
export function takeoverPending(domain: Pick<Domain, 'metadata' | 'status'>): boolean {
  return storageClaimMode(domain) === 'takeover' && !domain.status?.storageClaim?.takenOverAt;
}

/** The data plane's variable for the annotation: set only for a pending takeover (check is the data plane's default). */
export function storageClaimEnv(domain: Pick<Domain, 'metadata' | 'status'>): Record<string, string> {
  return takeoverPending(domain) ? { OPENPDS_STORAGE_CLAIM: 'takeover' } : {};
}

/**
 * On each Deployment's metadata (domain.chart.ts), the same annotation while a takeover is pending: the
 * claim mode its pods were applied with, which the rollout budget reads from the watch cache. A change of
 * it is O&M's act, never held like an operator upgrade (reconcilers/domain-rollouts.ts). Only for a
 * takeover, as the variable: a new annotation on every Deployment would be a change for nothing.
 */
export function storageClaimDeploymentAnnotations(domain: Pick<Domain, 'metadata' | 'status'>): Record<string, string> {
  return takeoverPending(domain) ? { [STORAGE_CLAIM_ANNOTATION]: 'takeover' } : {};
}

/** The claim mode a live Deployment was applied with: absent is check (the data plane's default, and what an older operator applied unless a takeover was pending). */
export function deploymentStorageClaim(deployment: { metadata?: { annotations?: Record<string, string> } }): string {
  return deployment.metadata?.annotations?.[STORAGE_CLAIM_ANNOTATION] ?? 'check';
}
