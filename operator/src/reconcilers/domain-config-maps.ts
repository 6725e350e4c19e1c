/**
 * The Domain's ConfigMaps once their settings changed. Each is named by its content (charts/config.chart.ts),
 * so a change of settings (a spec edit, a newer operator's variable, a storage-claim takeover) adds a
 * ConfigMap and rolls the pods onto it; the old one must stay while anything may still read it:
 *   - a Deployment the rollout budget holds back (domain-rollouts.ts) keeps its old template, and its pods
 *     read the old ConfigMap at every container restart;
 *   - during a rollout the old ReplicaSet's pods do the same, until they are gone.
 * So an old ConfigMap is deleted once every Deployment of the Domain has rolled out (no old replica left,
 * kube/readiness.ts; or, stopped, no pod at all) and none names it. Not by the generation label's pruning,
 * which runs right after the apply, mid-rollout.
 *
 * What may be old is learnt without a request per Domain: from the watch cache's Deployments before each
 * apply (what they ran), and, once per namespace and process, from one list of the operator's settings
 * ConfigMaps there: what an earlier process (an operator restarted, upgraded, or a new leader) left
 * behind. A Domain whose names are all in use or desired costs nothing; one with an old one free costs
 * a list of its own ConfigMaps and the deletes, once.
 */
import type { DomainContext } from '../charts/domain-context';
import { DOMAIN_LABEL } from '../charts/domain-context';

/** The operator's settings ConfigMaps (the chart's labels: charts/domain-context.ts). */
const SETTINGS_SELECTOR = 'app.kubernetes.io/component=config,app.kubernetes.io/managed-by=openpds-operator';
import { isNotFound, refOf, type KubeClient, type KubeObject } from '../kube/kube-client';

type PodSpecLike = { containers?: { envFrom?: { configMapRef?: { name?: string } }[] }[]; initContainers?: { envFrom?: { configMapRef?: { name?: string } }[] }[] };

/** The ConfigMaps a Deployment's pods read as env (envFrom), in every container, init containers too. */
export function configMapsOf(deployment: KubeObject | undefined): string[] {
  const pod = (deployment as { spec?: { template?: { spec?: PodSpecLike } } } | undefined)?.spec?.template?.spec;
  const names = [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])].flatMap((c) => (c.envFrom ?? []).map((e) => e.configMapRef?.name));
  return [...new Set(names.filter((n): n is string => Boolean(n)))];
}

export interface ConfigMapPruner {
  /**
   * Before an apply: `before`, the Domain's Deployments as the watch cache has them, and the ConfigMap the
   * chart names now. A Deployment that ran another one leaves it behind, to delete once free.
   */
  beforeApply(key: string, before: readonly (KubeObject | undefined)[], desired: string): void;
  /**
   * With the Deployments rolled out, as the reconcile saw them: deletes the Domain's ConfigMaps but
   * `desired` and those a Deployment still names, when one left behind is free. Never throws: a failure
   * is logged and tried again at the next such reconcile.
   */
  pruneWhenRolledOut(key: string, ctx: DomainContext, desired: string, deployments: readonly (KubeObject | undefined)[]): Promise<void>;
  forget(key: string): void;
}

/**
 * No Event for a deletion: it is housekeeping after every change of settings, as a Deployment's old
 * ReplicaSets are (revisionHistoryLimit), and says nothing O&M did not see already; logged at info.
 */
export function createConfigMapPruner(deps: { client: KubeClient; log?: (level: 'info' | 'error', message: string, fields?: Record<string, unknown>) => void }): ConfigMapPruner {
  // ns/name → names of ConfigMaps a Deployment ran before an apply moved it to another, or found at start.
  const leftBehind = new Map<string, Set<string>>();
  const note = (key: string, names: readonly string[]) => {
    if (!names.length) return;
    const known = leftBehind.get(key) ?? new Set<string>();
    for (const name of names) known.add(name);
    leftBehind.set(key, known);
  };
  // Namespaces whose settings ConfigMaps this process has listed once (a failed list is tried again).
  const seeded = new Map<string, Promise<void>>();
  const seed = (namespace: string): Promise<void> => {
    let done = seeded.get(namespace);
    if (!done) {
      done = deps.client.list({ apiVersion: 'v1', kind: 'ConfigMap', namespace }, { labelSelector: SETTINGS_SELECTOR }).then(
        (list) => {
          const byDomain = new Map<string, string[]>();
          for (const item of list.items) {
            const domain = item.metadata?.labels?.[DOMAIN_LABEL];
            if (domain && item.metadata?.name) byDomain.set(domain, [...(byDomain.get(domain) ?? []), item.metadata.name]);
          }
          for (const [domain, names] of byDomain) note(`${namespace}/${domain}`, names);
        },
        (error: unknown) => {
          seeded.delete(namespace);
          throw error;
        },
      );
      seeded.set(namespace, done);
    }
    return done;
  };
  return {
    beforeApply(key, before, desired) {
      note(key, before.flatMap(configMapsOf).filter((name) => name !== desired));
    },
    async pruneWhenRolledOut(key, ctx, desired, deployments) {
      try {
        await seed(ctx.namespace);
        const names = leftBehind.get(key);
        if (!names) return;
        // Left behind once and named again (a takeover's roll back returns to the settings before it).
        names.delete(desired);
        if (!names.size) return void leftBehind.delete(key);
        const inUse = new Set([desired, ...deployments.flatMap(configMapsOf)]);
        // A held Deployment still runs its old ConfigMap: nothing is free yet, and asking costs no request.
        if ([...names].every((name) => inUse.has(name))) return;
        const list = await deps.client.list({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ctx.namespace }, { labelSelector: `${DOMAIN_LABEL}=${ctx.domain.metadata.name},app.kubernetes.io/component=config` });
        const uid = ctx.domain.metadata.uid;
        const deleted: string[] = [];
        for (const item of list.items) {
          const name = item.metadata?.name ?? '';
          // Only the Domain's own (its controller reference), as pruneStale: a label is anyone's to copy.
          const owned = (item.metadata?.ownerReferences ?? []).some((ref) => ref.uid === uid && ref.controller === true);
          if (!owned || inUse.has(name)) continue;
          await deps.client.delete(refOf({ ...item, apiVersion: 'v1', kind: 'ConfigMap' })).catch((error: unknown) => {
            if (!isNotFound(error)) throw error;
          });
          deleted.push(`ConfigMap/${name}`);
        }
        for (const name of [...names]) if (!inUse.has(name)) names.delete(name);
        if (!names.size) leftBehind.delete(key);
        if (deleted.length) deps.log?.('info', 'deleted ConfigMaps no Deployment of the Domain reads any more', { domain: key, deleted });
      } catch (error) {
        deps.log?.('error', 'deleting the ConfigMaps a Domain no longer uses failed; tried again at its next rolled-out reconcile', { domain: key, error: (error as Error).message });
      }
    },
    forget(key) {
      leftBehind.delete(key);
    },
  };
}
