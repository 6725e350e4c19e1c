import { DOMAIN_LABEL, GENERATION_LABEL } from '../charts/domain-context';
import { TEMPLATE_HASH_ANNOTATION } from '../charts/domain.chart';
import type { KubeObject } from '../kube/kube-client';
import { createRolloutBudget, operatorDrivenRollouts } from './domain-rollouts';

type Dep = KubeObject & { spec: { replicas?: number }; status?: Record<string, unknown> };
/** A Deployment of Domain ns/`domain` applied at `generation` with template `hash`; rolled out unless `rolling`. */
function dep(domain: string, opts: { name?: string; generation?: number; hash?: string; replicas?: number; rolling?: boolean; failed?: boolean; kubeGeneration?: number } = {}): Dep {
  const g = opts.kubeGeneration ?? 1;
  const replicas = opts.replicas ?? 1;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: opts.name ?? `${domain}-api`, namespace: 'ns', generation: g, labels: { [DOMAIN_LABEL]: domain, [GENERATION_LABEL]: String(opts.generation ?? 1) }, annotations: opts.hash === undefined ? {} : { [TEMPLATE_HASH_ANNOTATION]: opts.hash } },
    spec: { replicas },
    status: {
      observedGeneration: g,
      replicas,
      updatedReplicas: opts.rolling ? 0 : replicas,
      availableReplicas: opts.rolling ? 0 : replicas,
      ...(opts.failed ? { conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] } : {}),
    },
  };
}
const manifest = (name: string, hash: string): KubeObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, annotations: { [TEMPLATE_HASH_ANNOTATION]: hash } } });

describe('operatorDrivenRollouts: which Deployments an apply would restart without a spec change', () => {
  const desired = [manifest('a-api', 'new'), manifest('a-worker', 'new'), { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a-api' } }];
  it('a new template at the generation last applied: held; a new generation, the same template, none yet or stopped: not', () => {
    const live = (d: Record<string, Dep | undefined>) => (name: string) => d[name];
    expect(operatorDrivenRollouts(desired, live({ 'a-api': dep('a', { hash: 'old', generation: 4 }), 'a-worker': dep('a', { hash: 'new', generation: 4 }) }), 4)).toEqual(['a-api']);
    expect(operatorDrivenRollouts(desired, live({ 'a-api': dep('a', { hash: 'old', generation: 4 }) }), 5)).toEqual([]); // O&M edited the spec
    expect(operatorDrivenRollouts(desired, live({}), 4)).toEqual([]); // created: nothing restarts
    expect(operatorDrivenRollouts(desired, live({ 'a-api': dep('a', { hash: 'old', generation: 4, replicas: 0 }) }), 4)).toEqual([]);
    // Applied by an operator without the annotation: unknown counts as a change (an admitted no-op frees its slot at once).
    expect(operatorDrivenRollouts(desired, live({ 'a-api': dep('a', { generation: 4 }) }), 4)).toEqual(['a-api']);
  });
});

describe('createRolloutBudget', () => {
  function setup(limit: number, live: Dep[]) {
    const cache = new Map(live.map((d) => [d.metadata!.name!, d]));
    const budget = createRolloutBudget({ limit, deployments: () => cache.values(), deployment: (_ns, name) => cache.get(name), scanCacheMs: 0 });
    return { budget, cache };
  }

  it('admits while fewer than `limit` Domains roll, holds the rest, and counts them as queued', () => {
    const { budget } = setup(2, [dep('x', { rolling: true })]);
    expect(budget.request('ns/a')).toEqual({ admitted: true });
    expect(budget.request('ns/b')).toEqual({ admitted: false, rolling: 2, limit: 2 }); // x rolls, a was granted
    expect(budget.request('ns/c')).toMatchObject({ admitted: false });
    expect(budget.queued()).toBe(2);
    budget.settle('ns/a', new Map()); // a's apply started nothing: its slot is free again
    expect(budget.request('ns/b')).toEqual({ admitted: true });
    expect(budget.queued()).toBe(1);
    budget.forget('ns/c');
    expect(budget.queued()).toBe(0);
  });

  it('a grant holds its slot until the cache shows the rollout it started finished', () => {
    const { budget, cache } = setup(1, [dep('a'), dep('b')]);
    expect(budget.request('ns/a')).toEqual({ admitted: true });
    budget.settle('ns/a', new Map([['a-api', 2]]));
    expect(budget.request('ns/b')).toMatchObject({ admitted: false, rolling: 1 }); // the watch has not seen generation 2
    cache.set('a-api', dep('a', { kubeGeneration: 2, rolling: true }));
    expect(budget.request('ns/b')).toMatchObject({ admitted: false });
    cache.set('a-api', dep('a', { kubeGeneration: 2 }));
    expect(budget.request('ns/b')).toEqual({ admitted: true });
  });

  it('a Domain already rolling or whose rollout failed is let through; a failed one holds no slot; 0 is no limit', () => {
    const { budget } = setup(1, [dep('a', { rolling: true }), dep('f', { failed: true, rolling: true })]);
    expect(budget.request('ns/a')).toEqual({ admitted: true });
    expect(budget.request('ns/f')).toEqual({ admitted: true });
    expect(budget.request('ns/b')).toMatchObject({ admitted: false, rolling: 2 }); // a, and the grant of f
    expect(setup(0, [dep('a', { rolling: true })]).budget.request('ns/b')).toEqual({ admitted: true });
  });
});
