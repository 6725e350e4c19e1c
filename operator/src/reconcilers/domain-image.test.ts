/**
 * The image a Domain runs under upgrade.policy Manual (red team, upgrades): currentImage follows what the
 * Deployments were applied with even when the apply fails after them (H1); a Domain without status does
 * not run an unapproved image over kept data (M1); a long tag makes a valid label (L1); a held upgrade
 * shows as a condition and one Event (L2). Against a fake API that keeps what is applied.
 */
import type { AdminClient } from '../admin-client/admin-client';
import { createDomainContext, versionLabel } from '../charts/domain-context';
import type { Condition, Domain, DomainSpec } from '../domain-types';
import { RequeueError } from '../kube/controller';
import type { KubeClient, KubeObject } from '../kube/kube-client';
import { createDomainReconciler, DOMAIN_FINALIZER } from './domain';

const IMAGE = (tag: string) => `registry.example.com/openpds/openpds:${tag}`;
type Op = { op: 'status'; status: Record<string, unknown> } | { op: 'apply'; kind: string; name: string; image?: string };
type Deployment = KubeObject & { spec: { template: { spec: { containers: { image: string }[] } } } };

function cluster(options: { monitoring?: boolean; cached?: boolean } = {}) {
  const objects = new Map<string, KubeObject>(); // kind/name
  const ops: Op[] = [];
  const events: { type: string; reason: string; message: string }[] = [];
  const failKinds = new Set<string>();
  let domain: Domain = { apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', metadata: { name: 'up', namespace: 'ns1', uid: 'uid-1', generation: 0, finalizers: [DOMAIN_FINALIZER] } as Domain['metadata'], spec: { storage: { mode: 'standard', volume: { size: '1Gi' } } } };
  const client = {
    async find(ref: { kind: string; name: string }) {
      return objects.get(`${ref.kind}/${ref.name}`);
    },
    async list() {
      return { items: [] };
    },
    async patch(ref: { kind: string; name: string }, type: string, body: KubeObject & { status?: Record<string, unknown> }, options: { subresource?: string } = {}) {
      if (options.subresource === 'status') {
        ops.push({ op: 'status', status: body.status! });
        domain = { ...domain, status: { ...domain.status, ...body.status } };
        return undefined;
      }
      if (type !== 'apply') throw new Error(`unexpected ${type} patch`);
      if (failKinds.has(ref.kind)) throw new Error(`the server could not find the requested resource (${ref.kind})`);
      const image = (body as Deployment).spec?.template?.spec?.containers?.[0]?.image;
      ops.push({ op: 'apply', kind: ref.kind, name: ref.name, ...(ref.kind === 'Deployment' ? { image } : {}) });
      const live = ref.kind === 'Deployment' ? { ...body, metadata: { ...body.metadata, generation: 1 }, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 } } : body;
      objects.set(`${ref.kind}/${ref.name}`, live);
      return live;
    },
  } as unknown as KubeClient;
  const reconciler = createDomainReconciler({
    client,
    events: { record: async (_o: KubeObject, type: string, reason: string, message: string) => void events.push({ type, reason, message }) },
    monitoring: options.monitoring ?? false,
    fetch: async () => ({ ok: true, status: 200 }),
    now: () => new Date('2026-12-06T22:00:00Z'),
    monotonicNow: () => 0,
    ...(options.cached ? { cachedDeployment: (_ns: string, name: string) => objects.get(`Deployment/${name}`) } : {}),
    adminClients: { get: () => ({ getDomain: async () => ({ domain_id: 'd', trash_retention_days: 30, user_count: 1, drive_count: 1, used_size: 0, total_size: 1, unlimited_drive_count: 0 }) }) as unknown as AdminClient, forget: () => undefined },
  });
  return {
    objects,
    ops,
    events,
    failKinds,
    get domain() {
      return domain;
    },
    /** A new generation of the spec (image and upgrade), as kubectl apply gives. */
    edit(image: string, upgrade: DomainSpec['upgrade'] = { policy: 'Manual' }) {
      domain = { ...domain, metadata: { ...domain.metadata, generation: (domain.metadata.generation ?? 0) + 1 }, spec: { ...domain.spec, image, upgrade } };
    },
    /** The Domain deleted (its data plane with it) and created again: the admin Secret and claim stay, status is gone. */
    recreate() {
      for (const key of [...objects.keys()]) if (key !== 'Secret/up-admin' && key !== 'PersistentVolumeClaim/up-data') objects.delete(key);
      const { status: _status, ...rest } = domain;
      domain = { ...rest, metadata: { ...rest.metadata, uid: 'uid-2', generation: 0 } };
    },
    /** Status lost (a restore without it, GitOps replacing the object), children still there. */
    dropStatus() {
      const { status: _status, ...rest } = domain;
      domain = rest;
    },
    /** Status as an operator that died mid-apply left it: only currentImage, written before the apply. */
    diedMidApply() {
      domain = { ...domain, status: { currentImage: domain.status?.currentImage } };
    },
    reconcile: () => reconciler({ object: domain, namespace: 'ns1', name: 'up', signal: new AbortController().signal, retries: 0 }),
    apiImage: () => (objects.get('Deployment/up-api') as Deployment | undefined)?.spec.template.spec.containers[0]!.image,
    condition: (type: string): Condition | undefined => domain.status?.conditions?.find((c) => c.type === type),
  };
}

describe('H1: status.currentImage follows what the Deployments were applied with', () => {
  it('an apply that fails after the Deployments (PrometheusRule CRD gone) still records the approved image: the next unapproved spec.image does not roll its pods back', async () => {
    const c = cluster({ monitoring: true });
    c.edit(IMAGE('0.1.0'));
    await c.reconcile();
    expect(c.condition('Ready')?.status).toBe('True');
    expect(c.domain.status?.currentImage).toBe(IMAGE('0.1.0'));

    c.failKinds.add('PrometheusRule');
    c.edit(IMAGE('0.2.0'), { policy: 'Manual', approvedImage: IMAGE('0.2.0') });
    await expect(c.reconcile()).rejects.toThrow('PrometheusRule');
    expect(c.apiImage()).toBe(IMAGE('0.2.0')); // its pods start and migrate the database
    expect(c.condition('Ready')).toMatchObject({ status: 'False', reason: 'ApplyFailed' });
    expect(c.domain.status?.currentImage).toBe(IMAGE('0.2.0'));

    c.failKinds.clear();
    c.edit(IMAGE('0.3.0'), { policy: 'Manual', approvedImage: IMAGE('0.2.0') });
    await c.reconcile();
    expect(c.apiImage()).toBe(IMAGE('0.2.0'));
    expect(c.domain.status?.currentImage).toBe(IMAGE('0.2.0'));
  });

  it('is written before the Deployment changes image, so an operator that dies between the apply and its status write leaves it right', async () => {
    const c = cluster();
    c.edit(IMAGE('0.1.0'));
    await c.reconcile();
    c.ops.length = 0;
    c.edit(IMAGE('0.2.0'), { policy: 'Manual', approvedImage: IMAGE('0.2.0') });
    await c.reconcile();
    const written = c.ops.findIndex((o) => o.op === 'status' && o.status.currentImage === IMAGE('0.2.0'));
    const applied = c.ops.findIndex((o) => o.op === 'apply' && o.kind === 'Deployment' && o.image === IMAGE('0.2.0'));
    expect(written).toBeGreaterThanOrEqual(0);
    expect(written).toBeLessThan(applied);
    // Not at steady state: a reconcile that applies the same image writes no status before it.
    c.ops.length = 0;
    c.edit(IMAGE('0.2.0'), { policy: 'Manual', approvedImage: IMAGE('0.2.0') });
    await c.reconcile();
    expect(c.ops.filter((o) => o.op === 'status')).toHaveLength(1); // the one after the apply (new generation)
  });
});

describe('M1: a Domain without status.currentImage under Manual (re-created, or restored without status)', () => {
  async function upgradedThenRecreated(upgrade: DomainSpec['upgrade']) {
    const c = cluster();
    c.edit(IMAGE('0.2.0'));
    await c.reconcile();
    expect(c.objects.has('Secret/up-admin')).toBe(true);
    c.recreate();
    c.ops.length = 0;
    c.edit(IMAGE('0.3.0'), upgrade);
    return c;
  }

  it('runs approvedImage when it is set, not the unapproved spec.image', async () => {
    const c = await upgradedThenRecreated({ policy: 'Manual', approvedImage: IMAGE('0.2.0') });
    await c.reconcile();
    expect(c.apiImage()).toBe(IMAGE('0.2.0'));
    expect(c.domain.status?.currentImage).toBe(IMAGE('0.2.0'));
    expect(c.condition('UpgradePending')).toMatchObject({ status: 'True', reason: 'AwaitingApproval' });
  });

  it('with no approvedImage over kept data (the admin Secret): holds, Degraded ImageNotApproved, nothing applied', async () => {
    const c = await upgradedThenRecreated({ policy: 'Manual' });
    await expect(c.reconcile()).rejects.toThrow(RequeueError);
    expect(c.ops.filter((o) => o.op === 'apply')).toEqual([]);
    expect(c.apiImage()).toBeUndefined();
    expect(c.condition('Ready')).toMatchObject({ status: 'False', reason: 'ImageNotApproved', message: expect.stringContaining(`the admin Secret ns1/up-admin and the volume claim up-data`) });
    expect(c.condition('Ready')?.message).toContain(`Set upgrade.approvedImage to the image to run (${IMAGE('0.3.0')} to run spec.image)`);
    expect(c.condition('Degraded')).toMatchObject({ status: 'True', reason: 'ImageNotApproved' });
    expect(c.condition('UpgradePending')).toMatchObject({ status: 'True', message: expect.stringContaining('nothing runs') });
    expect(c.events.filter((e) => e.reason === 'ImageNotApproved' && e.type === 'Warning')).toHaveLength(1);
    // Approving an image lets it run.
    c.edit(IMAGE('0.3.0'), { policy: 'Manual', approvedImage: IMAGE('0.3.0') });
    await c.reconcile();
    expect(c.apiImage()).toBe(IMAGE('0.3.0'));
  });

  it('a new Domain (nothing kept) runs spec.image: creating it is approval enough', async () => {
    const c = cluster();
    c.edit(IMAGE('0.3.0'));
    await c.reconcile();
    expect(c.apiImage()).toBe(IMAGE('0.3.0'));
    expect(c.condition('UpgradePending')).toMatchObject({ status: 'False', reason: 'UpToDate' });
  });

  it.each([
    ['an admission webhook or quota refuses the Deployment', 'refused'],
    ['the operator dies after the admin Secret', 'died'],
  ])('a new Domain whose first apply stopped after the admin Secret (%s) runs spec.image once that is fixed, not held as kept data', async (_why, how) => {
    const c = cluster();
    c.edit(IMAGE('0.3.0'));
    c.failKinds.add('Deployment');
    await expect(c.reconcile()).rejects.toThrow();
    expect(c.objects.has('Secret/up-admin')).toBe(true);
    expect(c.objects.has('Deployment/up-api')).toBe(false);
    // Written before anything was applied: an operator that died mid-apply left it too.
    const firstApply = c.ops.findIndex((o) => o.op === 'apply');
    expect(c.ops.findIndex((o) => o.op === 'status' && o.status.currentImage === IMAGE('0.3.0'))).toBeLessThan(firstApply);
    if (how === 'died') c.diedMidApply();
    c.failKinds.clear();
    await c.reconcile();
    expect(c.apiImage()).toBe(IMAGE('0.3.0'));
    expect(c.condition('Ready')?.reason).not.toBe('ImageNotApproved');
    expect(c.condition('UpgradePending')).toMatchObject({ status: 'False', reason: 'UpToDate' });
  });

  it('an Automatic Domain writes no status before its first apply (the writes per new Domain stay as they were)', async () => {
    const c = cluster();
    c.edit(IMAGE('0.3.0'), { policy: 'Automatic' });
    await c.reconcile();
    expect(c.ops[0]).toMatchObject({ op: 'apply' });
    expect(c.ops.filter((o) => o.op === 'status')).toHaveLength(1);
  });

  it.each([
    ['the Deployment watch', true],
    ['a GET', false],
  ])('status lost but its Deployment still there: keeps the image that Deployment runs (read through %s)', async (_how, cached) => {
    const c = cluster({ cached });
    c.edit(IMAGE('0.2.0'));
    await c.reconcile();
    c.dropStatus();
    c.edit(IMAGE('0.3.0'), { policy: 'Manual' });
    await c.reconcile();
    expect(c.apiImage()).toBe(IMAGE('0.2.0'));
    expect(c.domain.status?.currentImage).toBe(IMAGE('0.2.0'));
  });
});

describe('L1: the app.kubernetes.io/version label of a long or odd tag', () => {
  const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
  const TAG68 = 'main-20261206T213344Z-0123456789abcdef0123456789abcdef01234567-amd64';

  it.each([TAG68, 'v1.2.3-', '_build.', 'x'.repeat(128), '1.0.0__-..rc', '___'])('is a valid label value for tag %s', (tag) => {
    const value = versionLabel(`registry.example.com:5000/openpds/openpds:${tag}`);
    expect(value.length).toBeLessThanOrEqual(63);
    expect(value).toMatch(LABEL_VALUE);
    expect(value.length).toBeGreaterThan(0);
  });

  it('keeps a short tag as it is, and the full image in the containers', () => {
    expect(versionLabel(IMAGE('1.2.3'))).toBe('1.2.3');
    expect(versionLabel('openpds')).toBe('latest');
    expect(versionLabel(`r/openpds@sha256:${'a'.repeat(64)}`)).toBe(`sha256-${'a'.repeat(12)}`);
    expect(versionLabel(`r/openpds:${TAG68}`)).toBe(TAG68.slice(0, 63).replace(/-+$/, ''));
    const ctx = createDomainContext({ apiVersion: 'openpds.io/v1alpha1', kind: 'Domain', metadata: { name: 'tag', namespace: 'ns1' }, spec: { storage: { mode: 'standard', volume: {} }, image: `r/openpds:${TAG68}` } });
    expect(ctx.image).toBe(`r/openpds:${TAG68}`);
    expect(ctx.labels('api-server')['app.kubernetes.io/version']).toMatch(LABEL_VALUE);
  });
});

describe('L2: a held upgrade shows', () => {
  it('UpgradePending names spec.image, approvedImage and the running image; Ready stays True; one Normal Event when it starts waiting, none at a resync', async () => {
    const c = cluster();
    c.edit(IMAGE('0.1.0'));
    await c.reconcile();
    expect(c.events.filter((e) => e.reason === 'UpgradePending')).toEqual([]);

    c.edit(IMAGE('0.2.0'));
    await c.reconcile();
    expect(c.apiImage()).toBe(IMAGE('0.1.0'));
    expect(c.condition('Ready')).toMatchObject({ status: 'True', reason: 'Ready' });
    expect(c.condition('UpgradePending')).toMatchObject({
      status: 'True',
      reason: 'AwaitingApproval',
      observedGeneration: 2,
      message: `spec.image ${IMAGE('0.2.0')} waits for approval (upgrade.policy Manual): running ${IMAGE('0.1.0')}; upgrade.approvedImage is not set. Set upgrade.approvedImage to ${IMAGE('0.2.0')} to roll it out`,
    });
    expect(c.events.filter((e) => e.reason === 'UpgradePending')).toEqual([{ type: 'Normal', reason: 'UpgradePending', message: c.condition('UpgradePending')!.message }]);

    const writes = c.ops.filter((o) => o.op === 'status').length;
    await c.reconcile(); // a resync
    expect(c.ops.filter((o) => o.op === 'status')).toHaveLength(writes);
    expect(c.events.filter((e) => e.reason === 'UpgradePending')).toHaveLength(1);

    // Another image approved than the one asked for: still waiting, and said so once more.
    c.edit(IMAGE('0.2.0'), { policy: 'Manual', approvedImage: IMAGE('0.4.0') });
    await c.reconcile();
    expect(c.apiImage()).toBe(IMAGE('0.1.0'));
    expect(c.condition('UpgradePending')?.message).toContain(`upgrade.approvedImage is ${IMAGE('0.4.0')}, another image`);
    expect(c.events.filter((e) => e.reason === 'UpgradePending')).toHaveLength(2);

    c.edit(IMAGE('0.2.0'), { policy: 'Manual', approvedImage: IMAGE('0.2.0') });
    await c.reconcile();
    expect(c.apiImage()).toBe(IMAGE('0.2.0'));
    expect(c.condition('UpgradePending')).toMatchObject({ status: 'False', reason: 'UpToDate' });

    // Automatic: spec.image always runs, the condition goes.
    c.edit(IMAGE('0.3.0'), { policy: 'Automatic' });
    await c.reconcile();
    expect(c.condition('UpgradePending')).toBeUndefined();
  });
});
