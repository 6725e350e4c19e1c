/**
 * Which Deployments an HPA scales, and the handover of their spec.replicas to it under server-side apply.
 *
 * The chart leaves `replicas` out of a Deployment its HPA scales: the operator re-applies the chart on every
 * reconcile with force, so owning the field would undo each HPA decision. But dropping a field from an apply
 * makes the apiserver remove it when no other manager owns it, and Deployment defaulting then sets 1: turning
 * autoscaling on for 5 replicas took 4 pods down until the HPA's next sync (red team M4; the PDB does not
 * cover a scale-down). The Kubernetes docs' recipe (Server-Side Apply, "Transferring ownership"): apply the
 * current value once under a second field manager, then apply the manifest without the field. That manager
 * then owns it, so nothing is reset; it never applies again, and the HPA's first write (through /scale)
 * takes the field over without a conflict.
 *
 * replicaHandovers is pure: the reconciler reads the live Deployments and applies what it returns under
 * HPA_HANDOVER_FIELD_MANAGER before applying the chart.
 */
import type { Manifest } from './domain.chart';
import type { DomainContext } from './domain-context';
import type { ResolvedDomainSpec } from './domain-defaults';

/** The field manager that holds spec.replicas between the operator letting go and the HPA's first write. */
export const HPA_HANDOVER_FIELD_MANAGER = 'openpds-operator-handover-to-hpa';

export interface Autoscaling {
  minReplicas: number;
  maxReplicas: number;
}

/** The API server's HPA bounds when the chart renders one (never on a volume: one pod on a ReadWriteOnce disk). */
export function apiServerAutoscaling(ctx: DomainContext): ResolvedDomainSpec['apiServer']['autoscaling'] | undefined {
  const scaling = ctx.spec.apiServer.autoscaling;
  return scaling.enabled && !ctx.singlePod ? scaling : undefined;
}

/** The workers' HPA bounds when the chart renders one: not on a volume (no worker Deployment), nor stopped. */
export function workerAutoscaling(ctx: DomainContext): ResolvedDomainSpec['workers']['autoscaling'] | undefined {
  const scaling = ctx.spec.workers.autoscaling;
  return scaling.enabled && !ctx.singlePod && !ctx.stopped ? scaling : undefined;
}

/** What replicaHandovers reads of a live Deployment. */
export interface LiveDeployment {
  metadata?: { managedFields?: readonly ManagedFieldsEntry[] };
  spec?: { replicas?: number };
}

interface ManagedFieldsEntry {
  manager?: string;
  fieldsV1?: { 'f:spec'?: { 'f:replicas'?: unknown } };
}

/**
 * Partial Deployments (name and spec.replicas only) to apply under HPA_HANDOVER_FIELD_MANAGER, with force,
 * before the chart: one for each existing Deployment the chart now leaves to an HPA whose spec.replicas no
 * manager but `operatorManager` (the chart's) owns. That is the switch to autoscaling (the operator owns
 * it) and a Deployment created without it (nobody does: it was defaulted). Once the handover manager or the
 * HPA owns the field this returns nothing, so re-applying never fights the HPA. The value is the live one
 * within the HPA's bounds, which the HPA would scale to anyway: no pod goes, and minReplicas comes at once.
 * An absent Deployment gets none (an apply would create it from the partial object, which is invalid).
 */
export function replicaHandovers(ctx: DomainContext, live: (name: string) => LiveDeployment | undefined, operatorManager: string): Manifest[] {
  const scaled: [string, Autoscaling | undefined][] = [
    [ctx.names.api, apiServerAutoscaling(ctx)],
    [ctx.names.worker, workerAutoscaling(ctx)],
  ];
  const handovers: Manifest[] = [];
  for (const [name, scaling] of scaled) {
    const deployment = scaling && live(name);
    if (!scaling || !deployment || ownedByOthers(deployment, operatorManager)) continue;
    const replicas = Math.min(Math.max(deployment.spec?.replicas ?? 1, scaling.minReplicas), scaling.maxReplicas);
    handovers.push({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ctx.namespace }, spec: { replicas } });
  }
  return handovers;
}

/** Whether a manager other than `operatorManager` (the HPA, the handover manager, kubectl scale) owns spec.replicas. */
function ownedByOthers(deployment: LiveDeployment, operatorManager: string): boolean {
  return (deployment.metadata?.managedFields ?? []).some((entry) => entry.manager !== operatorManager && entry.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined);
}
