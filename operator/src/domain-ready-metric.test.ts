import { Registry } from 'prom-client';
import type { Condition } from './domain-types';
import { DOMAIN_READY_METRIC, domainReadiness, registerDomainReadyMetric, type DomainReadySubject } from './domain-ready-metric';

const ready = (status: Condition['status'], reason: string, observedGeneration?: number): Condition => ({
  type: 'Ready', status, reason, lastTransitionTime: '2024-01-01T00:00:00Z', ...(observedGeneration !== undefined ? { observedGeneration } : {}),
});
const domain = (namespace: string, name: string, generation: number, conditions?: Condition[]): DomainReadySubject => ({
  metadata: { namespace, name, generation },
  ...(conditions ? { status: { conditions } } : {}),
});

/** An informer cache fed by events, and the gauge's series as a scrape shows them. */
function setup() {
  const cache = new Map<string, DomainReadySubject>();
  let leading = true;
  const registry = new Registry();
  registerDomainReadyMetric({ registry, domains: () => (leading ? cache.values() : undefined) });
  const event = (type: 'add' | 'update' | 'delete', d: DomainReadySubject) => {
    const key = `${d.metadata!.namespace}/${d.metadata!.name}`;
    if (type === 'delete') cache.delete(key);
    else cache.set(key, d);
  };
  const series = async () => (await registry.metrics()).split('\n').filter((l) => l.startsWith(`${DOMAIN_READY_METRIC}{`)).sort();
  return { event, series, setLeading: (value: boolean) => void (leading = value) };
}

describe('domainReadiness', () => {
  test('1 only for Ready True observed at the current generation', () => {
    expect(domainReadiness(domain('t', 'a', 2, [ready('True', 'Ready', 2)]))).toEqual({ ready: 1, reason: 'Ready' });
    expect(domainReadiness(domain('t', 'a', 2, [ready('False', 'MissingSecret', 2)]))).toEqual({ ready: 0, reason: 'MissingSecret' });
    // Ready for generation 1 says nothing of the spec at generation 2.
    expect(domainReadiness(domain('t', 'a', 2, [ready('True', 'Ready', 1)]))).toEqual({ ready: 0, reason: 'NotObserved' });
    expect(domainReadiness(domain('t', 'a', 1))).toEqual({ ready: 0, reason: 'NotObserved' });
  });

  test("status.observedGeneration stands in for a condition's missing one", () => {
    const d = { metadata: { namespace: 't', name: 'a', generation: 3 }, status: { observedGeneration: 3, conditions: [ready('True', 'Ready')] } };
    expect(domainReadiness(d)).toEqual({ ready: 1, reason: 'Ready' });
    expect(domainReadiness({ ...d, status: { ...d.status, observedGeneration: 2 } })).toEqual({ ready: 0, reason: 'NotObserved' });
  });
});

describe(DOMAIN_READY_METRIC, () => {
  test('one series per Domain: a new reason replaces the old series, a deleted Domain drops its own', async () => {
    const m = setup();
    m.event('add', domain('tenants', 'acme', 1));
    m.event('add', domain('other', 'beta', 1, [ready('True', 'Ready', 1)]));
    expect(await m.series()).toEqual([
      'openpds_operator_domain_ready{namespace="other",domain="beta",reason="Ready"} 1',
      'openpds_operator_domain_ready{namespace="tenants",domain="acme",reason="NotObserved"} 0',
    ]);

    m.event('update', domain('tenants', 'acme', 1, [ready('False', 'MissingSecret', 1)]));
    m.event('update', domain('tenants', 'acme', 1, [ready('False', 'ApplyFailed', 1)]));
    expect(await m.series()).toEqual([
      'openpds_operator_domain_ready{namespace="other",domain="beta",reason="Ready"} 1',
      'openpds_operator_domain_ready{namespace="tenants",domain="acme",reason="ApplyFailed"} 0',
    ]);

    m.event('update', domain('tenants', 'acme', 1, [ready('True', 'Ready', 1)]));
    m.event('delete', domain('other', 'beta', 1));
    expect(await m.series()).toEqual(['openpds_operator_domain_ready{namespace="tenants",domain="acme",reason="Ready"} 1']);
  });

  test('a standby (no Domain cache of its own) exports no series, not stale ones', async () => {
    const m = setup();
    m.event('add', domain('tenants', 'acme', 1, [ready('True', 'Ready', 1)]));
    expect(await m.series()).toHaveLength(1);
    m.setLeading(false);
    expect(await m.series()).toEqual([]);
  });
});
