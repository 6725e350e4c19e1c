/**
 * openpds.io/storage-claim=takeover through the Domain reconciler, where the e2e suite
 * (test/operator/domain-storage-claim.e2e.test.ts) cannot stop time: the takeover is recorded in
 * status.storageClaim only once the pods started with OPENPDS_STORAGE_CLAIM=takeover serve, not while their
 * rollout waits (pods not yet available) and the old pods still answer /readyz; the rollout budget
 * (--max-concurrent-rollouts) never holds the takeover or its roll back, as it would an operator upgrade:
 * the ConfigMap, applied at once, would say takeover to any old pod that restarts meanwhile (a store taken
 * over with nothing recorded); and an operator that restarts in the middle (a fresh reconciler, nothing in
 * memory) neither records it twice nor flips the ConfigMap: the pods roll back to check exactly once.
 * Against a fake API server that keeps the Domain, its children, and every change of the ConfigMap's claim
 * and the pods' config hash.
 */
import type { AdminClient } from '../admin-client/admin-client';
import { DOMAIN_LABEL } from '../charts/domain-context';
import { STORAGE_CLAIM_ANNOTATION } from '../charts/storage-claim';
import type { Condition, Domain } from '../domain-types';
import { KubeApiError, type KubeClient, type KubeObject } from '../kube/kube-client';
import { createDomainReconciler, type DomainReconciler, type DomainReconcilerDeps } from './domain';
import { createRolloutBudget } from './domain-rollouts';

type DomainObject = Domain & KubeObject;
type Deployment = KubeObject & { spec: { replicas?: number; template: { metadata: { annotations?: Record<string, string> }; spec?: { containers: { envFrom?: { configMapRef: { name: string } }[] }[] } } }; status?: Record<string, unknown> };

const NS = 'prod';
/** The ConfigMap a Deployment's pods read (named by its content: a new one rolls them). */
const configMapOf = (d: Deployment | undefined) => d?.spec.template.spec?.containers[0]?.envFrom?.[0]?.configMapRef.name ?? '';
const claimOf = (cm: KubeObject | undefined) => (cm as { data?: Record<string, string> } | undefined)?.data?.OPENPDS_STORAGE_CLAIM ?? 'check';

/** JSON merge patch (RFC 7386): null removes. */
function merge(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = merge(out[k], v);
  }
  return out;
}

/** The API server, kept across operator restarts; `operator()` builds a reconciler as a (re)started process would. */
function apiServer() {
  let clock = Date.parse('2026-12-07T10:00:00Z');
  let rv = 1;
  let domain: DomainObject = {
    apiVersion: 'openpds.io/v1alpha1',
    kind: 'Domain',
    metadata: { name: 'acme', namespace: NS, uid: 'uid-acme', generation: 1, resourceVersion: '1', annotations: {} },
    // S3 and PostgreSQL: an api and a worker Deployment, each of which must serve.
    spec: { storage: { mode: 'standard', s3: { endpoint: 'http://rgw:7480', bucket: 'openpds', prefix: 'acme/', credentialsSecretRef: { name: 'acme-s3' } } }, database: { urlSecretRef: { name: 'acme-db' } } },
  } as DomainObject;
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const objects = new Map<string, KubeObject>([
    ['Secret/acme-s3', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'acme-s3', namespace: NS }, data: { AWS_ACCESS_KEY_ID: b64('a'), AWS_SECRET_ACCESS_KEY: b64('b') } } as KubeObject],
    ['Secret/acme-db', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'acme-db', namespace: NS }, data: { url: b64('postgres://db/acme') } } as KubeObject],
  ]); // kind/name
  const events: string[] = [];
  // Each change, in order: the OPENPDS_STORAGE_CLAIM ('check' when absent) of the ConfigMaps applied, each
  // Deployment's ConfigMap.
  const claims: string[] = [];
  const hashes = new Map<string, string[]>();
  // Each Deployment → the claim of the ConfigMap its template names, when it was last applied (the ConfigMap
  // is applied first): what its pods were built for. A pod that restarts reads that ConfigMap as it is now.
  const appliedUnder = new Map<string, string>();
  // Another Domain's rollout, which a rollout budget of 1 counts while `otherRolling`.
  let otherRolling = false;
  const other: Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'other-api', namespace: NS, generation: 2, labels: { [DOMAIN_LABEL]: 'other' } },
    spec: { replicas: 1, template: { metadata: { annotations: {} } } },
  };
  const write = (next: DomainObject) => {
    domain = { ...next, metadata: { ...next.metadata, resourceVersion: String(++rv) } };
    return structuredClone(domain);
  };
  const deployments = () => [...objects.values()].filter((o) => o.kind === 'Deployment') as Deployment[];
  const find = (ref: { kind: string; name: string }) => structuredClone(ref.kind === 'Domain' ? domain : objects.get(`${ref.kind}/${ref.name}`));
  const client = {
    find: async (ref: { kind: string; name: string }) => find(ref),
    async get(ref: { kind: string; name: string }) {
      const found = find(ref);
      if (!found) throw new KubeApiError(404, 'NotFound', `${ref.kind} ${ref.name} not found`);
      return found;
    },
    list: async () => ({ items: [] }),
    delete: async () => undefined,
    async patch(ref: { kind: string; name: string }, type: string, body: KubeObject & { status?: unknown }, options: { subresource?: string; discardResponse?: boolean } = {}) {
      if (ref.kind === 'Domain') {
        const written = options.subresource === 'status' ? write({ ...domain, status: merge(domain.status, body.status) as Domain['status'] }) : write({ ...domain, metadata: { ...domain.metadata, finalizers: body.metadata!.finalizers! } });
        return options.discardResponse ? undefined : written;
      }
      if (type !== 'apply') throw new Error(`unexpected ${type} patch of ${ref.kind}`);
      const key = `${ref.kind}/${ref.name}`;
      let live: KubeObject = structuredClone(body);
      if (ref.kind === 'Deployment') {
        // As the API server: a new spec is a new generation; the status stays the Deployment controller's.
        const before = objects.get(key) as Deployment | undefined;
        const changed = !before || JSON.stringify(before.spec) !== JSON.stringify(body.spec);
        const generation = (before?.metadata?.generation ?? 0) + (changed ? 1 : 0);
        live = { ...live, metadata: { ...live.metadata, generation }, status: before?.status ?? {} } as KubeObject;
        const hash = configMapOf(body as Deployment);
        const seen = hashes.get(ref.name) ?? [];
        if (seen.at(-1) !== hash) hashes.set(ref.name, [...seen, hash]);
        appliedUnder.set(ref.name, claimOf(objects.get(`ConfigMap/${hash}`)));
      }
      if (ref.kind === 'ConfigMap') {
        const claim = (body as { data?: Record<string, string> }).data?.OPENPDS_STORAGE_CLAIM ?? 'check';
        if (claims.at(-1) !== claim) claims.push(claim);
      }
      objects.set(key, live);
      return options.discardResponse ? undefined : structuredClone(live);
    },
  } as unknown as KubeClient;

  return {
    events,
    claims,
    /** Each Deployment's ConfigMaps, one per change: a roll to takeover and back is three. */
    hashes: (name: string) => hashes.get(name) ?? [],
    generation: (name: string) => objects.get(`Deployment/${name}`)?.metadata?.generation,
    /**
     * The Deployments whose pods, restarted now, would read a claim their template was not applied with:
     * none, or a takeover could happen outside the operator's bookkeeping (status.storageClaim).
     */
    claimMismatches: () => [...appliedUnder].filter(([name, claim]) => claim !== claimOf(objects.get(`ConfigMap/${configMapOf(objects.get(`Deployment/${name}`) as Deployment)}`))).map(([name]) => name),
    get domain() {
      return domain;
    },
    annotate(value: string | undefined) {
      const annotations = { ...domain.metadata.annotations };
      if (value === undefined) delete annotations[STORAGE_CLAIM_ANNOTATION];
      else annotations[STORAGE_CLAIM_ANNOTATION] = value;
      write({ ...domain, metadata: { ...domain.metadata, annotations } }); // metadata only: no new generation
    },
    /** The Deployment controller: `name`'s pods at its current generation, `available` of them up (all by default). */
    rollOut(name: string, available?: number) {
      const d = objects.get(`Deployment/${name}`) as Deployment;
      const replicas = d.spec.replicas ?? 1;
      d.status = { observedGeneration: d.metadata!.generation, replicas, updatedReplicas: replicas, availableReplicas: available ?? replicas };
    },
    rollOutAll() {
      for (const d of deployments()) this.rollOut(d.metadata!.name!);
    },
    setOtherRolling(rolling: boolean) {
      otherRolling = rolling;
      other.status = rolling ? { observedGeneration: 2, replicas: 1, updatedReplicas: 0, availableReplicas: 0 } : { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 };
    },
    /**
     * A reconciler as a process starting now builds it (nothing in memory); `budget`: --max-concurrent-rollouts;
     * `chartOptions`: a newer operator whose chart changes the pod template.
     */
    operator(opts: { budget?: number; chartOptions?: DomainReconcilerDeps['chartOptions'] } = {}): DomainReconciler {
      const cached = (name: string) => objects.get(`Deployment/${name}`);
      return createDomainReconciler({
        client,
        events: { record: async (_o: KubeObject, _type: string, reason: string) => void events.push(reason) },
        monitoring: false,
        // The old pods answer /readyz all along: only the Deployments say whose pods serve.
        fetch: async () => ({ ok: true, status: 200 }),
        now: () => new Date(clock),
        monotonicNow: () => clock,
        cachedDeployment: (_ns, name) => cached(name),
        ...(opts.chartOptions ? { chartOptions: opts.chartOptions } : {}),
        adminClients: { get: () => ({ getDomain: async () => ({ domain_id: 'd', trash_retention_days: 30, user_count: 1, drive_count: 0, used_size: 0, total_size: 1, unlimited_drive_count: 0 }) }) as unknown as AdminClient, forget: () => undefined },
        ...(opts.budget !== undefined
          ? { rollouts: createRolloutBudget({ limit: opts.budget, deployments: () => [...deployments(), ...(otherRolling ? [other] : [])], deployment: (_ns, name) => cached(name), scanCacheMs: 0, monotonicNow: () => clock }) }
          : {}),
      });
    },
    /** One reconcile, two seconds after the last, from a cache that has seen every write: the Ready condition after it. */
    async reconcile(reconciler: DomainReconciler): Promise<Condition & { takenOverAt?: string; progressing?: string }> {
      clock += 2000;
      try {
        await reconciler({ object: structuredClone(domain), namespace: NS, name: 'acme', signal: new AbortController().signal, retries: 0 });
      } catch (error) {
        if ((error as Error).name !== 'RequeueError') throw error;
      }
      const conditions = domain.status?.conditions ?? [];
      const ready = conditions.find((c) => c.type === 'Ready')!;
      const progressing = conditions.find((c) => c.type === 'Progressing');
      return { ...ready, ...(domain.status?.storageClaim ? { takenOverAt: domain.status.storageClaim.takenOverAt } : {}), ...(progressing ? { progressing: progressing.reason } : {}) };
    },
    advance(ms: number) {
      clock += ms;
    },
  };
}

type Api = ReturnType<typeof apiServer>;

/** A new Domain, rolled out and Ready on check. */
async function readyOnCheck(api: Api, reconciler: DomainReconciler): Promise<void> {
  expect(await api.reconcile(reconciler)).toMatchObject({ reason: 'WaitingForReplicas' });
  api.rollOutAll();
  expect(await api.reconcile(reconciler)).toMatchObject({ status: 'True', reason: 'Ready' });
  expect(api.claims).toEqual(['check']);
}

describe('storage-claim takeover: recorded once the pods that got it serve, not before', () => {
  it('pods not yet available: the old pods answering /readyz do not count; recorded once all new pods are available', async () => {
    const api = apiServer();
    const operator = api.operator();
    await readyOnCheck(api, operator);
    api.annotate('takeover');
    expect(await api.reconcile(operator)).toMatchObject({ reason: 'WaitingForReplicas' });
    expect(api.claims).toEqual(['check', 'takeover']);
    expect(api.generation('acme-api')).toBe(2);
    // The replicas poll, a resync: the rollout still runs.
    expect(await api.reconcile(operator)).not.toHaveProperty('takenOverAt');
    api.rollOut('acme-api');
    api.rollOut('acme-worker', 0); // observed, its new pod not up yet
    expect(await api.reconcile(operator)).toMatchObject({ reason: 'WaitingForReplicas' });
    expect(api.domain.status?.storageClaim).toBeUndefined();
    expect(api.events).not.toContain('StorageClaimTakenOver');

    api.rollOut('acme-worker');
    const recorded = await api.reconcile(operator);
    expect(recorded).toMatchObject({ status: 'False', reason: 'StorageClaimTakenOver', takenOverAt: '2026-12-07T10:00:12.000Z' });
    expect(api.events.filter((e) => e === 'StorageClaimTakenOver')).toHaveLength(1);
    // Back to check: one more roll, then Ready; the record and the annotation stay.
    expect(await api.reconcile(operator)).toMatchObject({ reason: 'WaitingForReplicas', takenOverAt: recorded.takenOverAt });
    api.rollOutAll();
    expect(await api.reconcile(operator)).toMatchObject({ status: 'True', reason: 'Ready', takenOverAt: recorded.takenOverAt, message: expect.stringContaining(`takeover was done at ${recorded.takenOverAt}`) });
    expect(api.claims).toEqual(['check', 'takeover', 'check']);
    expect(api.hashes('acme-api')).toHaveLength(3);
    expect(api.hashes('acme-api')[2]).toBe(api.hashes('acme-api')[0]);
    expect(api.events.filter((e) => e === 'StorageClaimTakenOver')).toHaveLength(1);
  });

  it('asked for while another Domain rolls (a budget of 1, taken): rolls at once, as a spec change does, and so does the roll back to check', async () => {
    const api = apiServer();
    api.setOtherRolling(true);
    const operator = api.operator({ budget: 1 });
    await readyOnCheck(api, operator); // a new Domain's first rollout is never held
    api.annotate('takeover');
    const asked = await api.reconcile(operator);
    expect(api.claimMismatches()).toEqual([]); // no old pod that restarts reads takeover
    expect(asked).toMatchObject({ reason: 'WaitingForReplicas' });
    expect(asked.progressing).not.toBe('RolloutQueued');
    expect(api.claims).toEqual(['check', 'takeover']);
    expect(api.generation('acme-api')).toBe(2);
    api.rollOutAll();
    const recorded = await api.reconcile(operator);
    expect(recorded).toMatchObject({ reason: 'StorageClaimTakenOver', takenOverAt: expect.any(String) });

    // The pods that take the store over at every start go at once, the other Domain still rolling.
    const back = await api.reconcile(operator);
    expect(back).toMatchObject({ reason: 'WaitingForReplicas', takenOverAt: recorded.takenOverAt });
    expect(back.progressing).not.toBe('RolloutQueued');
    expect(api.generation('acme-api')).toBe(3);
    expect(api.claimMismatches()).toEqual([]);
    api.rollOutAll();
    expect(await api.reconcile(operator)).toMatchObject({ status: 'True', reason: 'Ready', takenOverAt: recorded.takenOverAt });
    expect(api.claims).toEqual(['check', 'takeover', 'check']);
    expect(api.hashes('acme-api')).toHaveLength(3);
    expect(api.events.filter((e) => e === 'StorageClaimTakenOver')).toHaveLength(1);
  });

  it('a newer operator\'s pod template is still held on a Domain whose takeover is done (the annotation stays)', async () => {
    const api = apiServer();
    const first = api.operator({ budget: 1 });
    await readyOnCheck(api, first);
    api.annotate('takeover');
    await api.reconcile(first);
    api.rollOutAll();
    expect(await api.reconcile(first)).toMatchObject({ reason: 'StorageClaimTakenOver' });
    await api.reconcile(first);
    api.rollOutAll();
    expect(await api.reconcile(first)).toMatchObject({ status: 'True', reason: 'Ready' });

    api.setOtherRolling(true);
    const newer = api.operator({ budget: 1, chartOptions: { podAnnotations: { 'example.com/new': 'x' } } });
    for (let i = 0; i < 2; i++) expect(await api.reconcile(newer)).toMatchObject({ status: 'True', reason: 'Ready', progressing: 'RolloutQueued' });
    expect(api.generation('acme-api')).toBe(3);
    api.setOtherRolling(false);
    expect(await api.reconcile(newer)).toMatchObject({ reason: 'WaitingForReplicas' });
    expect(api.generation('acme-api')).toBe(4);
    expect(api.claims).toEqual(['check', 'takeover', 'check']);
  });
});

describe('storage-claim takeover across an operator restart (a fresh reconciler)', () => {
  it('restarted after the record, before the roll back: check applied once, no second record or Event, nothing flips after', async () => {
    const api = apiServer();
    const first = api.operator();
    await readyOnCheck(api, first);
    api.annotate('takeover');
    await api.reconcile(first);
    api.rollOutAll();
    const recorded = await api.reconcile(first);
    expect(recorded).toMatchObject({ reason: 'StorageClaimTakenOver' });
    expect(api.claims).toEqual(['check', 'takeover']); // the crash: the ConfigMap and pods still carry takeover

    const second = api.operator();
    expect(await api.reconcile(second)).toMatchObject({ reason: 'WaitingForReplicas', takenOverAt: recorded.takenOverAt });
    expect(api.claims).toEqual(['check', 'takeover', 'check']);
    api.rollOutAll();
    expect(await api.reconcile(second)).toMatchObject({ status: 'True', reason: 'Ready', takenOverAt: recorded.takenOverAt });
    // Resyncs, one past the 5-minute reapply: nothing rolls again.
    await api.reconcile(second);
    api.advance(6 * 60_000);
    expect(await api.reconcile(second)).toMatchObject({ status: 'True', reason: 'Ready', takenOverAt: recorded.takenOverAt });
    expect(api.claims).toEqual(['check', 'takeover', 'check']);
    expect(api.hashes('acme-api')).toHaveLength(3);
    expect(api.hashes('acme-worker')).toHaveLength(3);
    expect(api.events.filter((e) => e === 'StorageClaimTakenOver')).toHaveLength(1);
  });

  it('restarted after the takeover rollout, before the record: recorded once by the new process, then back to check once', async () => {
    const api = apiServer();
    const first = api.operator();
    await readyOnCheck(api, first);
    api.annotate('takeover');
    await api.reconcile(first);
    api.rollOutAll(); // the takeover pods serve; the operator dies before it sees them
    expect(api.domain.status?.storageClaim).toBeUndefined();

    const second = api.operator();
    expect(await api.reconcile(second)).toMatchObject({ reason: 'StorageClaimTakenOver', takenOverAt: expect.any(String) });
    expect(api.generation('acme-api')).toBe(2); // its apply changed nothing: the pods it found carry takeover
    const takenOverAt = api.domain.status!.storageClaim!.takenOverAt;
    expect(await api.reconcile(second)).toMatchObject({ reason: 'WaitingForReplicas' });
    api.rollOutAll();
    expect(await api.reconcile(second)).toMatchObject({ status: 'True', reason: 'Ready', takenOverAt });
    await api.reconcile(second);
    expect(api.claims).toEqual(['check', 'takeover', 'check']);
    expect(api.hashes('acme-api')).toHaveLength(3);
    expect(api.events.filter((e) => e === 'StorageClaimTakenOver')).toHaveLength(1);
  });

  it('restarted while the takeover pods are not yet available: the new process waits for them too', async () => {
    const api = apiServer();
    const first = api.operator();
    await readyOnCheck(api, first);
    api.annotate('takeover');
    await api.reconcile(first);

    const second = api.operator();
    expect(await api.reconcile(second)).toMatchObject({ reason: 'WaitingForReplicas' });
    expect(await api.reconcile(second)).not.toHaveProperty('takenOverAt');
    expect(api.generation('acme-api')).toBe(2);
    api.rollOutAll();
    expect(await api.reconcile(second)).toMatchObject({ reason: 'StorageClaimTakenOver' });
    expect(api.claims).toEqual(['check', 'takeover']);
    expect(api.events.filter((e) => e === 'StorageClaimTakenOver')).toHaveLength(1);
  });

  it('a newer operator held by the budget when the takeover is asked: the takeover rolls at once and carries its template', async () => {
    const api = apiServer();
    api.setOtherRolling(true);
    await readyOnCheck(api, api.operator({ budget: 1 }));
    const newer = api.operator({ budget: 1, chartOptions: { podAnnotations: { 'example.com/new': 'x' } } });
    expect(await api.reconcile(newer)).toMatchObject({ status: 'True', reason: 'Ready', progressing: 'RolloutQueued' });
    expect(api.generation('acme-api')).toBe(1);

    api.annotate('takeover');
    const asked = await api.reconcile(newer);
    expect(api.claimMismatches()).toEqual([]);
    expect(asked).toMatchObject({ reason: 'WaitingForReplicas' });
    expect(asked.progressing).not.toBe('RolloutQueued');
    expect(api.generation('acme-api')).toBe(2);
    api.rollOutAll();
    expect(await api.reconcile(newer)).toMatchObject({ reason: 'StorageClaimTakenOver' });
    await api.reconcile(newer);
    api.rollOutAll();
    const done = await api.reconcile(newer);
    expect(done).toMatchObject({ status: 'True', reason: 'Ready' });
    expect(done.progressing).not.toBe('RolloutQueued');
    expect(api.claims).toEqual(['check', 'takeover', 'check']);
    expect(api.events.filter((e) => e === 'StorageClaimTakenOver')).toHaveLength(1);
  });
});
