/**
 * The reconciler's side of the HPA replica handover (charts/replica-handover.ts, red team M4): before the
 * chart's apply drops spec.replicas from a Deployment an HPA now scales, the live count is applied once
 * under HPA_HANDOVER_FIELD_MANAGER, so the apiserver does not reset it to 1; after the apply, a Deployment
 * the apply just created under autoscaling (its replicas defaulted, owned by nobody) gets minReplicas at
 * once instead of at the HPA's first sync.
 *
 * Only Domains with an HPA pay for it: a GET per HPA-scaled Deployment before an apply (not each reconcile),
 * and none for one whose watch copy already shows another manager owning spec.replicas (the HPA, the
 * handover manager): nothing is handed over then, and a manager that owns the field keeps it, so periodic
 * re-applies cost no request. Otherwise fresh GETs, not the watch cache: a copy older than the last HPA
 * decision would hand over an older count.
 */
import { apiServerAutoscaling, HPA_HANDOVER_FIELD_MANAGER, replicaHandovers, workerAutoscaling, type LiveDeployment } from '../charts/replica-handover';
import type { DomainContext } from '../charts/domain-context';
import { applyManifests, FIELD_MANAGER } from '../kube/apply';
import type { KubeClient, KubeObject } from '../kube/kube-client';

/** The Deployments an HPA scales in this chart (none: nothing to do, and no request). */
function autoscaled(ctx: DomainContext): string[] {
  return [apiServerAutoscaling(ctx) && ctx.names.api, workerAutoscaling(ctx) && ctx.names.worker].filter((n): n is string => Boolean(n));
}

async function applyHandovers(client: KubeClient, ctx: DomainContext, live: (name: string) => LiveDeployment | undefined): Promise<void> {
  const handovers = replicaHandovers(ctx, live, FIELD_MANAGER);
  if (handovers.length) await applyManifests(client, handovers as KubeObject[], { fieldManager: HPA_HANDOVER_FIELD_MANAGER, keep: () => false });
}

/**
 * Before the chart's apply: hands the live replicas of HPA-scaled Deployments over (reads them fresh), but
 * for those whose copy in `cached` (the Deployment watch) another manager already scales.
 */
export async function handOverReplicasBeforeApply(client: KubeClient, ctx: DomainContext, cached: (name: string) => LiveDeployment | undefined = () => undefined): Promise<void> {
  const names = autoscaled(ctx).filter((name) => {
    const copy = cached(name);
    // replicaHandovers answers nothing for a Deployment whose spec.replicas another manager owns.
    return !copy || replicaHandovers(ctx, (n) => (n === name ? copy : undefined), FIELD_MANAGER).length > 0;
  });
  if (!names.length) return;
  const live = new Map<string, LiveDeployment>();
  await Promise.all(
    names.map(async (name) => {
      const found = await client.find<KubeObject & LiveDeployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ctx.namespace, name });
      if (found) live.set(name, found);
    }),
  );
  await applyHandovers(client, ctx, (name) => live.get(name));
}

/**
 * After the chart's apply, from what the apply answered (no request unless a handover is due): a Deployment
 * it created under autoscaling gets minReplicas now. One handed over before the apply is owned by the
 * handover manager already, and one the HPA scaled by the HPA: neither gets anything.
 */
export async function handOverReplicasAfterApply(client: KubeClient, ctx: DomainContext, applied: ReadonlyMap<string, KubeObject>): Promise<void> {
  if (!autoscaled(ctx).length) return;
  await applyHandovers(client, ctx, (name) => applied.get(name) as LiveDeployment | undefined);
}
