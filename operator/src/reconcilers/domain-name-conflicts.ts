/**
 * Objects in a Domain's namespace that already bear the name of one of its children and are not its own.
 * Server-side apply with force takes any object of that name over: a hand-made Service `shop-api` would get
 * the Domain's selector merged into its own (its app's traffic sent to OpenPDS pods) and the Domain's
 * controller ownerReference, and a later prune or the Domain's deletion would delete it. Helm refuses to
 * adopt what it did not create; so does the Domain reconciler, before its first apply (NameConflict).
 *
 * Asked only until the Domain's first apply has succeeded (status.adminSecretRef): from then on its
 * children are its own, and a Domain at steady state sends no request for this.
 */
import { DOMAIN_LABEL } from '../charts/domain-context';
import type { KubeClient, KubeObject } from '../kube/kube-client';
import { refOf } from '../kube/kube-client';

/**
 * `Kind/name` of each manifest whose live object is someone else's: not controlled by the Domain (its uid),
 * and, for what outlives a Domain with no owner (its admin Secret, its data volume's claim), not labelled as
 * this Domain's either (a Domain re-created under its name finds them and is meant to).
 */
export async function foreignChildren(
  client: KubeClient,
  manifests: readonly KubeObject[],
  domain: { metadata: { name?: string; uid?: string } },
  isRetained: (o: KubeObject) => boolean,
  /** Objects this reconcile has read already (`Kind/name` → the object, undefined: none), not read again. */
  known: ReadonlyMap<string, KubeObject | undefined> = new Map(),
): Promise<string[]> {
  const live = await Promise.all(manifests.map((m) => {
    const key = `${m.kind}/${m.metadata?.name}`;
    return known.has(key) ? known.get(key) : client.find(refOf(m));
  }));
  return manifests.flatMap((m, i) => {
    const object = live[i];
    if (!object) return [];
    const controlled = (object.metadata?.ownerReferences ?? []).some((ref) => ref.controller === true && ref.uid === domain.metadata.uid);
    if (controlled) return [];
    const labels = object.metadata?.labels ?? {};
    const ours = labels['app.kubernetes.io/managed-by'] === 'openpds-operator' && labels[DOMAIN_LABEL] === domain.metadata.name;
    if (isRetained(m) && ours) return [];
    return [`${m.kind}/${m.metadata!.name}`];
  });
}

export function nameConflictMessage(namespace: string, names: readonly string[]): string {
  return `${names.join(', ')} already exist${names.length === 1 ? 's' : ''} in namespace ${namespace} and ${names.length === 1 ? 'is' : 'are'} not this Domain's: nothing is applied, so as not to take ${names.length === 1 ? 'it' : 'them'} over. Rename or delete ${names.length === 1 ? 'it' : 'them'}, or give the Domain another name`;
}
