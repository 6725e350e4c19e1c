import { DOMAIN_LABEL, GENERATION_LABEL } from '../charts/domain-context';
import { TEMPLATE_HASH_ANNOTATION } from '../charts/domain.chart';
import { STORAGE_CLAIM_ANNOTATION } from '../charts/storage-claim';
import type { KubeObject } from '../kube/kube-client';
import { createRolloutBudget, operatorDrivenRollouts, rolloutInProgress, rolloutQueuedMessage } from './domain-rollouts';

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

  it('a storage-claim takeover, or its roll back to check, at the same generation: O&M asked for it, never held', () => {
    const claimed = (d: KubeObject): KubeObject => ({ ...d, metadata: { ...d.metadata, annotations: { ...d.metadata?.annotations, [STORAGE_CLAIM_ANNOTATION]: 'takeover' } } });
    const live = (d: Dep) => (name: string) => (name === 'a-api' ? d : undefined);
    const api = [manifest('a-api', 'new')];
    expect(operatorDrivenRollouts(api.map(claimed), live(dep('a', { hash: 'old', generation: 4 })), 4)).toEqual([]); // asked for
    expect(operatorDrivenRollouts(api, live(claimed(dep('a', { hash: 'old', generation: 4 })) as Dep), 4)).toEqual([]); // recorded: back to check
    // Pending on both sides, the template moved by the operator: held as any operator upgrade.
    expect(operatorDrivenRollouts(api.map(claimed), live(claimed(dep('a', { hash: 'old', generation: 4 })) as Dep), 4)).toEqual(['a-api']);
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

describe('rolling means a rollout in progress, not pods down (review 16)', () => {
  /** A Deployment as the controller leaves it: `updated` of `replicas` pods on the current template, `total` pods, `available` up, Progressing `reason`. */
  function state(domain: string, s: { replicas?: number; updated?: number; total?: number; available?: number; reason?: string; observed?: number }): Dep {
    const d = dep(domain, { replicas: s.replicas ?? 2, kubeGeneration: 4 });
    const replicas = s.replicas ?? 2;
    d.status = {
      observedGeneration: s.observed ?? 4,
      replicas: s.total ?? replicas,
      updatedReplicas: s.updated ?? replicas,
      availableReplicas: s.available ?? replicas,
      ...(s.reason ? { conditions: [{ type: 'Progressing', status: 'True', reason: s.reason }] } : {}),
    };
    return d;
  }
  const finishedButDown = (domain: string) => state(domain, { available: 0, reason: 'NewReplicaSetAvailable' });

  it('three Domains whose rollout finished with pods down since (crashloop, database down) hold no slot', () => {
    const { budget } = setup3([finishedButDown('a'), finishedButDown('b'), finishedButDown('c')]);
    expect(budget.request('ns/healthy')).toEqual({ admitted: true });
  });

  it('counts a spec not observed, pods not yet updated, old pods left, and new pods starting before the controller calls it complete', () => {
    expect(rolloutInProgress(state('a', { observed: 3, reason: 'NewReplicaSetAvailable' }))).toBe(true);
    expect(rolloutInProgress(state('a', { updated: 1, available: 2, reason: 'ReplicaSetUpdated' }))).toBe(true);
    expect(rolloutInProgress(state('a', { total: 3, reason: 'ReplicaSetUpdated' }))).toBe(true); // an old pod left
    expect(rolloutInProgress(state('a', { available: 0, reason: 'NewReplicaSetCreated' }))).toBe(true); // Recreate: new pods starting
    expect(rolloutInProgress(state('a', { available: 0 }))).toBe(true); // no Progressing condition: unknown counts
    expect(rolloutInProgress(finishedButDown('a'))).toBe(false);
    expect(rolloutInProgress(state('a', { reason: 'NewReplicaSetAvailable' }))).toBe(false); // rolled out
  });

  it('a grant whose pods are down after a complete rollout counts for the progress deadline, then frees its slot', () => {
    let t = 0;
    const cache = new Map([['a-api', state('a', {})]]);
    const budget = createRolloutBudget({ limit: 1, deployments: () => cache.values(), deployment: (_ns, name) => cache.get(name), scanCacheMs: 0, monotonicNow: () => t });
    expect(budget.request('ns/a')).toEqual({ admitted: true });
    budget.settle('ns/a', new Map([['a-api', 4]]));
    // A Recreate rollback onto an older ReplicaSet: complete by the controller's word while its pod starts.
    cache.set('a-api', finishedButDown('a'));
    expect(budget.request('ns/b')).toMatchObject({ admitted: false });
    t = 600_000;
    expect(budget.request('ns/b')).toEqual({ admitted: true });
  });

  function setup3(live: Dep[]) {
    const cache = new Map(live.map((d) => [`${d.metadata!.namespace}/${d.metadata!.name}`, d]));
    return { budget: createRolloutBudget({ limit: 3, deployments: () => cache.values(), deployment: (ns, name) => cache.get(`${ns}/${name}`), scanCacheMs: 0 }) };
  }
});

it('the RolloutQueued message does not move with the number of Domains rolling (no status write per fleet change)', () => {
  const heldWith = (rolling: number) => {
    const live = Array.from({ length: rolling }, (_, i) => dep(`r${i}`, { rolling: true }));
    const answer = createRolloutBudget({ limit: 3, deployments: () => live, deployment: () => undefined }).request('ns/a');
    if (answer.admitted) throw new Error('admitted');
    expect(answer.rolling).toBe(rolling);
    return rolloutQueuedMessage(['a-api'], answer, 5000);
  };
  expect(heldWith(3)).toBe(heldWith(7));
  expect(heldWith(3)).toContain('3 or more Domain(s) are rolling out and at most 3 roll at once');
});
