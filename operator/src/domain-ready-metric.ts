/**
 * `openpds_operator_domain_ready{namespace,domain,reason}`: 1 when a Domain's Ready condition is True for
 * its current generation, else 0, one series per Domain. The chart's OpenPDSDomainNotReady alert reads it,
 * so a Domain held at MissingSecret, ApplyFailed, StorageModeUnsupported or RolloutFailed alerts even when
 * no Deployment exists or fails (kube-state-metrics' Deployment series cannot see those).
 *
 * Derived kube-state-metrics style from the Domain informer's cache, read at scrape time: the cache is
 * what the informer's add/update/delete events leave, so rebuilding the series from it at each scrape
 * gives exactly one series per Domain (a changed reason replaces the old series, a deleted Domain drops
 * its own) with no removal bookkeeping that could leak a series, and costs nothing between scrapes.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Condition } from './domain-types';

export const DOMAIN_READY_METRIC = 'openpds_operator_domain_ready';
/** The reason of a Domain without a Ready condition for its current generation (new, or spec just changed). */
export const NOT_OBSERVED_REASON = 'NotObserved';

/** The part of a Domain the gauge reads. */
export interface DomainReadySubject {
  metadata?: { namespace?: string; name?: string; generation?: number };
  status?: { observedGeneration?: number; conditions?: Condition[] };
}

/**
 * Ready for the current generation: the condition's own observedGeneration, or the status' where the
 * condition has none. A Ready condition left from an older spec says nothing about the current one.
 */
export function domainReadiness(domain: DomainReadySubject): { ready: 0 | 1; reason: string } {
  const condition = domain.status?.conditions?.find((c) => c.type === 'Ready');
  const observed = condition?.observedGeneration ?? domain.status?.observedGeneration;
  if (!condition || observed !== (domain.metadata?.generation ?? 0)) return { ready: 0, reason: NOT_OBSERVED_REASON };
  return { ready: condition.status === 'True' ? 1 : 0, reason: condition.reason || NOT_OBSERVED_REASON };
}

/**
 * Registers the gauge on `registry`. `domains()` returns the Domain cache, or undefined when this
 * instance must not export (a standby: it runs no informer, so anything it reported would be stale).
 */
export function registerDomainReadyMetric(options: { registry: Registry; domains: () => Iterable<DomainReadySubject> | undefined }): Gauge {
  return new Gauge({
    name: DOMAIN_READY_METRIC,
    help: "1 when the Domain's Ready condition is True for its current generation, else 0; reason: the Ready condition's reason (NotObserved: none yet for this generation). Exported by the leader only.",
    labelNames: ['namespace', 'domain', 'reason'],
    registers: [options.registry],
    collect() {
      this.reset();
      for (const domain of options.domains() ?? []) {
        const { namespace, name } = domain.metadata ?? {};
        if (!namespace || !name) continue;
        const { ready, reason } = domainReadiness(domain);
        this.set({ namespace, domain: name, reason }, ready);
      }
    },
  });
}
