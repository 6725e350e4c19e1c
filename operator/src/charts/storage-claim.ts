/**
 * A blob store taken over on a Domain's behalf. The data plane refuses a store another installation claims
 * (api-server/src/storage/storage-claim.ts) until it is started once with OPENPDS_STORAGE_CLAIM=takeover;
 * on Kubernetes the operator owns that variable (the ConfigMap is applied server-side, a hand edit is put
 * back), so the Domain asks for it with an annotation:
 *
 *     kubectl annotate domain acme openpds.io/storage-claim=takeover
 *
 * An annotation, not a spec field: it is an act done once by someone who knows the store's other owner is
 * gone for good, not a setting to keep in Git (Argo CD would put it back). The data plane takes over "for
 * one start"; left in place, every later start (a restart, a node drain, a scale-out, the next rollout)
 * would take the store over again, from an owner who may have come back. So once the Domain is Ready on
 * pods applied with it, the reconciler removes the annotation itself, with an Event (StorageClaimTakenOver),
 * and the pods roll back to check. `openpds up` cannot edit its manifests: there, remove it by hand. The
 * CRD's schema cannot see annotations, so a value other than these two is refused by the reconciler (and by
 * local mode's manifest check) with the Domain blocked, not ignored.
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

/** The data plane's variable for the annotation: set only for a takeover (check is the data plane's default). */
export function storageClaimEnv(domain: Pick<Domain, 'metadata'>): Record<string, string> {
  return storageClaimMode(domain) === 'takeover' ? { OPENPDS_STORAGE_CLAIM: 'takeover' } : {};
}
