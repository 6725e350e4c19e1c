/**
 * reconcileDomain, level-based (shared/STYLE.md rule 7): skip what is current → finalizer → a spec this
 * data plane can run (no hosting mode yet) → referenced Secrets and their keys → bootstrap credentials
 * (generated once, then re-read from the `<domain>-admin` Secret, which outlives its Domain) → pure desired
 * state (buildDomainChart) → server-side apply → prune stale generations → status conditions
 * Ready/Progressing/Degraded with observedGeneration (and, once Ready, status.usage read through the admin
 * API every few minutes) → Events; waiting and failures requeue with backoff. The status write and its
 * Events are domain-status.ts; deletion (the finalizer's work) is domain-deletion.ts.
 * Before the apply, HPA-scaled Deployments hand their replicas over (domain-replicas.ts), and a new pod
 * template the spec did not ask for waits its turn under --max-concurrent-rollouts (domain-rollouts.ts).
 * The spec is never written (GitOps-safe): only metadata.finalizers and status. Each reconcile starts from
 * the Domain as this reconciler's last write left it at least (kube/own-writes.ts), not from an older
 * cached copy.
 */
import { randomBytes } from 'node:crypto';
import { buildDomainChart, referencedSecretKeys, type DomainChartOptions } from '../charts/domain.chart';
import { createDomainContext, DOMAIN_LABEL, GENERATION_LABEL, type Component, type DomainContext } from '../charts/domain-context';
import { MONITORING_KINDS, monitoringKinds, type MonitoringOption } from '../charts/monitoring.chart';
import { foreignChildren, nameConflictMessage } from './domain-name-conflicts';
import { STORAGE_CLAIM_ANNOTATION, storageClaimEnv, storageClaimMode, storageClaimProblem, takeoverPending } from '../charts/storage-claim';
import { API_VERSION, type Domain, type DomainStatus, type DomainUsageStatus } from '../domain-types';
import { applyManifests, pruneStale } from '../kube/apply';
import { RequeueError, type Reconcile } from '../kube/controller';
import type { EventRecorder } from '../kube/events';
import { KubeApiError, type KubeClient, type KubeObject } from '../kube/kube-client';
import { createOwnWrites, readWithFinalizer } from '../kube/own-writes';
import { createHttpFetch } from '../kube/http-fetch';
import { deploymentReadiness, probeReadyz, type FetchFn } from '../kube/readiness';
import { adminEndpoint, createDomainAdminClients, type DomainAdminClients } from './domain-access';
import { deploymentImage, heldOverKeptData, needsRunningImage, upgradeCondition, withCurrentImage } from './domain-image';
import type { LiveDeployment } from '../charts/replica-handover';
import { handOverReplicasAfterApply, handOverReplicasBeforeApply } from './domain-replicas';
import { createConfigMapPruner } from './domain-config-maps';
import { operatorDrivenRollouts, ROLLOUT_QUEUED, rolloutQueuedMessage, type RolloutBudget } from './domain-rollouts';
import { appliedStorage, checkSecretKeys, createSecretKeyCache, storageConflict, unsupportedSpec } from './domain-preflight';
import { usageStatus, usageToWrite } from './domain-usage';
import { labelSelector, podTrouble, POD_DIAGNOSIS_AFTER_MS, POD_LIST_RETRY_MS, type PodLike } from './domain-pods';
import { createDomainDeletion, DOMAIN_FINALIZER } from './domain-deletion';
import { createDomainStatusWriter, outcome, type Outcome } from './domain-status';

export { DOMAIN_FINALIZER };
/** A Deployment's status change wakes the Domain through the watch; this poll is only a safety net. */
const REPLICAS_POLL_MS = 30_000;

export interface DomainReconcilerDeps {
  client: KubeClient;
  events: EventRecorder;
  /** The Prometheus Operator kinds to render, prune and delete: all, none, or those the cluster serves. */
  monitoring: MonitoringOption;
  /** `ns/name` → admin endpoint URL, from `--domain-endpoint`; wins over the annotation. */
  domainEndpoints?: Record<string, string>;
  fetch?: FetchFn;
  now?: () => Date;
  generateSecret?: (bytes: number) => string;
  readyzTimeoutMs?: number;
  /**
   * How long an apply counts as current for skipping (default 5 minutes, under the 10-minute resync):
   * a resync then applies again, which corrects hand edits of children no watch reported.
   */
  reapplyAfterMs?: number;
  monotonicNow?: () => number;
  /**
   * A Deployment as the operator's Deployment watch last saw it (undefined when not cached): read instead
   * of a GET once it reflects the operator's last apply.
   */
  cachedDeployment?: (namespace: string, name: string) => KubeObject | undefined;
  /**
   * The other Domains the operator manages whose S3 keyspace overlaps the one this Domain's spec asks for
   * (domain-keyspaces.ts), of which storageConflict finds the one that holds it.
   */
  overlappingDomains?: (domain: Domain) => Iterable<Domain>;
  /** Admin clients per Domain, shared with createDomainAccessResolver so both use one login token. */
  adminClients?: DomainAdminClients;
  /**
   * status.usage is read again through the admin API when older than this (default 5 minutes, under the
   * 10-minute resync that brings the reconcile), in the reconcile that finds the data plane Ready.
   */
  usageRefreshMs?: number;
  /** How long a referenced Secret found with every key its pods read is trusted without a read (default 30 s). */
  secretCacheMs?: number;
  /** Longest a reconcile waits for usage (login included) before writing Ready without it (default 2 s). */
  usageTimeoutMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /**
   * The rollout budget across Domains (domain-rollouts.ts), shared by every reconciler the operator builds;
   * absent: no limit.
   */
  rollouts?: RolloutBudget;
  /** How soon a Domain held back by the budget asks again (default 5 s, with up to 20% jitter). */
  rolloutRetryMs?: number;
  /** How long a Domain waits for its replicas before their pods are asked why (default 20 s, domain-pods.ts). */
  podDiagnosisAfterMs?: number;
  /** Test hook: what buildDomainChart takes besides the Domain (a newer chart's pod template, simulated). */
  chartOptions?: Pick<DomainChartOptions, 'podAnnotations' | 'configEnv'>;
}

export type DomainReconciler = Reconcile<Domain> & {
  /** Forgets the last apply of `ns/name`, so the next reconcile applies again (a child changed by someone). */
  invalidate(key: string): void;
  /**
   * A Deployment of Domain `key` was deleted (generation undefined) or has a new spec generation: unless
   * that generation is the one our last apply answered with, someone else changed it, and the next
   * reconcile applies again.
   */
  deploymentChanged(key: string, name: string, generation: number | undefined): void;
  /** What Domain `key` holds changed (a Drive created, resized, deleted): its next Ready reconcile reads usage again. */
  usageChanged(key: string): void;
};

// No Secret: the chart's only one, the admin Secret, outlives its Domain (below), so nothing would ever be
// pruned, and listing Secrets is a right (every Secret's data, cluster-wide) the operator should not hold.
const PRUNABLE_KINDS = [
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
];
/** What the generation label's pruning looks through: the ConfigMaps have their own (domain-config-maps.ts). */
const STALE_KINDS = PRUNABLE_KINDS.filter((k) => k.kind !== 'ConfigMap');
/** A Deployment (or none) with no pod at all at its current generation: scaled to zero and gone. */
const withoutPods = (d: KubeObject | undefined): boolean => {
  const { metadata, status } = (d ?? {}) as { metadata?: { generation?: number }; status?: { observedGeneration?: number; replicas?: number } };
  return !d || ((status?.observedGeneration ?? 0) >= (metadata?.generation ?? 0) && (status?.replicas ?? 0) === 0);
};
/** The ConfigMap a Domain's chart names (one per chart, named by its content). */
const configMapOf = (manifests: readonly KubeObject[]): string => manifests.find((m) => m.kind === 'ConfigMap')?.metadata?.name ?? '';
// The data volume and the admin Secret outlive their Domain (the chart gives them no owner); they are
// never pruned or deleted here.
const isRetained = (o: KubeObject) => o.metadata?.annotations?.['openpds.io/retain-on-delete'] === 'true' || o.kind === 'PersistentVolumeClaim';

type AdminSecret = KubeObject & { data?: Record<string, string> };
/** The admin Secret as this reconcile read it; null: read and gone; undefined: not read (yet). */
type AdminSecretRead = AdminSecret | null | undefined;

const missingAdminSecret = (ctx: DomainContext) =>
  `the admin Secret ${ctx.namespace}/${ctx.names.adminSecret} was deleted after the data plane was created with it; new credentials would be locked out of the data plane (it keeps the superadmin password it started with) and a new secretKey would invalidate every token and signed URL. Restore the Secret (password, secretKey, username) from a backup; to start over with new credentials and new data, delete the Domain and create it again`;

export function createDomainReconciler(deps: DomainReconcilerDeps): DomainReconciler {
  const { client, events } = deps;
  const now = deps.now ?? (() => new Date());
  const generate = deps.generateSecret ?? ((bytes: number) => randomBytes(bytes).toString('base64url'));
  // node:http with keep-alive rather than global fetch: a third of the CPU per /readyz probe (it reads the
  // whole body, so the connection always returns to the pool).
  const fetchFn: FetchFn = deps.fetch ?? createHttpFetch();
  // ns/name → what this process last applied for the Domain (the chart's inputs but the credentials),
  // when, and the generation of each Deployment the apply answered with. Lets a reconcile woken by a
  // status change skip the apply, the admin Secret read that goes with it, and the Deployment GETs.
  // In memory on purpose: after a restart the first reconcile applies again, which server-side apply
  // makes a no-op. The credentials are read from the Secret whenever the chart is applied, so a hand
  // edit of them is kept, as before; a hand-deleted admin Secret is found by checkAdminSecret at the first
  // reconcile after the Secret cache's entry expired (MissingAdminSecret), applied or not.
  // held: Deployments the rollout budget held back at that apply (the rest was applied), retried soon.
  const applied = new Map<string, { inputs: string; at: number; deployments: Map<string, number>; held?: boolean }>();
  // ns/name → the last chart built and what it was built from. Synthesising the chart (cdk8s) was the
  // biggest CPU cost of a reconcile at 1,000 Domains, and most reconciles (a Deployment's status moved,
  // a resync) build the very same chart again. buildDomainChart is pure, so equal inputs give equal output.
  const charts = new Map<string, { inputs: string; manifests: KubeObject[] }>();
  const monotonic = deps.monotonicNow ?? (() => performance.now());
  const reapplyAfterMs = deps.reapplyAfterMs ?? 5 * 60_000;
  const served = monitoringKinds(deps.monitoring);
  const monitored = MONITORING_KINDS.filter((k) => served.has(k.kind));
  const kinds = [...PRUNABLE_KINDS, ...monitored];
  const staleKinds = [...STALE_KINDS, ...monitored];
  const adminClients = deps.adminClients ?? createDomainAdminClients({ client });
  const usageRefreshMs = deps.usageRefreshMs ?? 5 * 60_000;
  const usageTimeoutMs = deps.usageTimeoutMs ?? 2000;
  const log = deps.log ?? (() => undefined);
  // ns/name → this process's last usage read: when (monotonic), and whether it failed (logged once per
  // run of failures). A failed read waits usageRefreshMs like a good one: a data plane that cannot answer
  // must not cost every reconcile (each Deployment status change) a login attempt and a 2 s wait.
  const usageReads = new Map<string, { at: number; failed: boolean }>();
  // ns/name of Domains whose usage a Drive changed since their last read (usageChanged): read at the next
  // reconcile that finds them Ready, whatever the refresh interval says.
  const usageStale = new Set<string>();
  const secretKeys = createSecretKeyCache(deps.secretCacheMs ?? 30_000, monotonic);
  const rolloutRetryMs = deps.rolloutRetryMs ?? 5000;
  // ns/name → since when (monotonic) this process has seen the Domain wait for its replicas, at which
  // generation: its pods are listed only past podDiagnosisAfterMs (domain-pods.ts), so a rollout done
  // within it costs no request. Any other outcome ends the wait (writeStatus), and so does a new generation.
  const waitingSince = new Map<string, { generation: number; since: number }>();
  const podDiagnosisAfterMs = deps.podDiagnosisAfterMs ?? POD_DIAGNOSIS_AFTER_MS;
  // ns/name → when a pod list was refused (an older ClusterRole without it): logged once, asked again
  // only after POD_LIST_RETRY_MS, not at every replicas poll.
  const podListFailed = new Map<string, number>();
  // ns/name → what its pods said at the last list that answered, kept through a failed one.
  const lastPodReasons = new Map<string, string[]>();
  // uids of Domains whose takeover this process recorded in status: one found pending again was not stored.
  // Cleared with the record (the annotation removed), so a later takeover is recorded again.
  const takeoversRecorded = new Set<string>();
  // The resourceVersion each Domain's last write by this reconciler left (finalizer, currentImage, status):
  // a reconcile never starts from an older cached copy (kube/own-writes.ts). In memory, as `applied`: after
  // a restart the informer's first list is as fresh as a GET.
  const ownWrites = createOwnWrites();
  const writeDomainStatus = createDomainStatusWriter({ client, events, now, ownWrites });
  // ConfigMaps left behind by a change of settings, deleted once nothing reads them (domain-config-maps.ts).
  const configMaps = createConfigMapPruner({ client, log });
  // Every outcome goes through here: one that is not a wait for replicas ends that wait (waitingSince).
  // A takeover record outlives its annotation by one status write at most (charts/storage-claim.ts).
  const writeStatus: typeof writeDomainStatus = (domain, result) => {
    if (result.ready.reason !== 'WaitingForReplicas') {
      waitingSince.delete(`${domain.metadata.namespace}/${domain.metadata.name}`);
      lastPodReasons.delete(`${domain.metadata.namespace}/${domain.metadata.name}`);
    }
    if (storageClaimMode(domain) !== 'takeover') takeoversRecorded.delete(domain.metadata.uid ?? `${domain.metadata.namespace}/${domain.metadata.name}`);
    const forgetTakeover = domain.status?.storageClaim && storageClaimMode(domain) !== 'takeover' && result.fields?.storageClaim === undefined;
    return writeDomainStatus(domain, forgetTakeover ? { ...result, fields: { ...result.fields, storageClaim: null } } : result);
  };
  const reconcileDeletion = createDomainDeletion({
    client, events, writeStatus, fetch: fetchFn, now, kinds, isRetained, domainEndpoints: deps.domainEndpoints, readyzTimeoutMs: deps.readyzTimeoutMs, ownWrites,
    forget(namespace, name) {
      const key = `${namespace}/${name}`;
      applied.delete(key);
      configMaps.forget(key);
      deps.rollouts?.forget(key);
      charts.delete(key);
      usageReads.delete(key);
      adminClients.forget(namespace, name);
    },
  });

  /**
   * The usage to write with Ready: read again when the last read is older than usageRefreshMs (after a
   * restart, the age of status.usage decides), else the one in status; figures read unchanged keep the
   * status as it is (usageToWrite). Never throws and never waits more than usageTimeoutMs: Ready must not
   * depend on it. A failure keeps the previous figures.
   */
  async function refreshUsage(key: string, domain: Domain, ctx: DomainContext, endpoint: string): Promise<DomainUsageStatus | undefined> {
    const previous = domain.status?.usage;
    const last = usageReads.get(key);
    const age = last ? monotonic() - last.at : previous ? now().getTime() - Date.parse(previous.observedAt) : Infinity;
    if (!(age >= usageRefreshMs) && !usageStale.has(key)) return previous; // NaN (an unparsable observedAt) reads again too
    usageStale.delete(key);
    let problem: string;
    try {
      const usage = usageStatus(await adminClients.get(ctx, endpoint).getDomain({ timeoutMs: usageTimeoutMs }), now());
      if (typeof usage !== 'string') {
        usageReads.set(key, { at: monotonic(), failed: false });
        return usageToWrite(previous, usage);
      }
      problem = usage;
    } catch (error) {
      problem = (error as Error).message;
    }
    if (!last?.failed) log('info', 'domain usage not refreshed; the previous figures are kept', { key, error: problem });
    usageReads.set(key, { at: monotonic(), failed: true });
    return previous;
  }

  /**
   * The credentials the chart writes to the admin Secret: generated once, then read back, so pods and
   * clients never see them rotate. Undefined when the Secret is gone after this Domain applied it
   * (status.adminSecretRef): the data plane keeps the superadmin password it started with, so a new one
   * would lock the operator out (Drives: AdminCredentialsRejected) and a new secretKey would invalidate
   * every token and signed URL at the pods' next restart.
   */
  async function bootstrapCredentials(domain: Domain, ctx: DomainContext, known: AdminSecretRead): Promise<{ adminPassword: string; secretKey: string } | undefined> {
    const secret = known !== undefined ? (known ?? undefined) : await readAdminSecret(ctx);
    if (!secret && domain.status?.adminSecretRef) return undefined;
    const read = (key: string) => (secret?.data?.[key] ? Buffer.from(secret.data[key]!, 'base64').toString('utf8') : undefined);
    return { adminPassword: read('password') ?? generate(24), secretKey: read('secretKey') ?? generate(32) };
  }

  /** GET of the admin Secret; one found is remembered in the Secret cache (checkAdminSecret trusts it). */
  async function readAdminSecret(ctx: DomainContext): Promise<AdminSecret | undefined> {
    const secret = await client.find<AdminSecret>({ apiVersion: 'v1', kind: 'Secret', namespace: ctx.namespace, name: ctx.names.adminSecret });
    if (secret) secretKeys.remember(ctx.namespace, ctx.names.adminSecret, Object.keys(secret.data ?? {}));
    return secret;
  }

  /**
   * Each reconcile of a Domain that applied its admin Secret checks it is still there, through the Secret
   * cache: at most one GET per `secretCacheMs` (30 s), whatever the number of reconciles, and none while an
   * apply's read is fresh. Before, only an apply read it (a spec change, or every reapplyAfterMs): a Secret
   * deleted by hand left the Domain Ready for minutes, then MissingAdminSecret out of the blue. Secrets are
   * not watched: that needs list and watch on every Secret (RBAC cannot narrow them to a label), a right
   * the operator does not hold. Answers the Secret when this call read it (the apply then reads no more),
   * null when it is gone, undefined when the cache vouches for it or there is none to check yet.
   */
  async function checkAdminSecret(domain: Domain, ctx: DomainContext): Promise<AdminSecretRead> {
    if (!domain.status?.adminSecretRef) return undefined; // not applied yet: the apply creates it
    if (secretKeys.fresh(ctx.namespace, ctx.names.adminSecret, [])) return undefined;
    return (await readAdminSecret(ctx)) ?? null;
  }

  /**
   * Everything buildDomainChart reads but the credentials: the Domain but its resourceVersion and
   * managedFields (they move on every write) and its status, of which the chart reads currentImage only,
   * through the image it resolves to (`image`: so writing status.currentImage is not a new input);
   * monitoring.
   */
  function chartInputs(domain: Domain, image: string): string {
    const { resourceVersion: _rv, managedFields: _mf, ...metadata } = domain.metadata as Domain['metadata'] & { resourceVersion?: string; managedFields?: unknown };
    // Of status, the chart reads currentImage (through `image`) and whether a takeover is still pending.
    return JSON.stringify([{ ...domain, metadata, status: undefined }, image, deps.monitoring, storageClaimEnv(domain)]);
  }

  /** The chart for `domain`, rebuilt only when something it is built from changed. */
  function chartFor(key: string, domain: Domain, domainInputs: string, bootstrap: { adminPassword: string; secretKey: string }): KubeObject[] {
    const inputs = JSON.stringify([domainInputs, bootstrap]);
    const cached = charts.get(key);
    if (cached?.inputs === inputs) return cached.manifests;
    const manifests = buildDomainChart(domain, { ...deps.chartOptions, bootstrap, monitoring: deps.monitoring }) as KubeObject[];
    charts.set(key, { inputs, manifests });
    return manifests;
  }

  /**
   * The rollout budget's answer for this apply (domain-rollouts.ts): `held`, the Deployments to leave out of
   * it (their new pod template is the operator's, not the spec's, and too many Domains roll already), or the
   * ones admitted (with their generation in the cache, to tell whether the apply started a rollout).
   */
  function planRollout(key: string, manifests: readonly KubeObject[], ctx: DomainContext, generation: number): { held?: { names: string[]; message: string }; admitted: Map<string, number> } {
    const budget = deps.rollouts;
    if (!budget || budget.limit === 0) return { admitted: new Map() };
    const cached = (name: string) => deps.cachedDeployment?.(ctx.namespace, name);
    const names = operatorDrivenRollouts(manifests, cached, generation);
    if (!names.length) {
      budget.forget(key);
      return { admitted: new Map() };
    }
    const admission = budget.request(key);
    if (admission.admitted) return { admitted: new Map(names.map((n) => [n, cached(n)?.metadata?.generation ?? 0])) };
    return { held: { names, message: rolloutQueuedMessage(names, admission, rolloutRetryMs) }, admitted: new Map() };
  }

  /**
   * What the pods of each component say is wrong, if anything (domain-pods.ts). A refused list (403: an
   * older ClusterRole without it) is logged once and asked again after POD_LIST_RETRY_MS; any other failure
   * (a timeout, a 429) keeps what the last list said, so the message does not flip, and the next poll asks
   * again. Either way only the detail is lost: the Domain waits as before.
   */
  async function podReasons(ctx: DomainContext, components: readonly Component[]): Promise<string[]> {
    const key = `${ctx.namespace}/${ctx.domain.metadata.name}`;
    const refusedAt = podListFailed.get(key);
    if (refusedAt !== undefined && monotonic() - refusedAt < POD_LIST_RETRY_MS) return [];
    const reasons: string[] = [];
    for (const component of components) {
      try {
        const pods = await client.list<PodLike>({ apiVersion: 'v1', kind: 'Pod', namespace: ctx.namespace }, { labelSelector: labelSelector(ctx.selector(component)) });
        const trouble = podTrouble(pods.items, now().getTime());
        if (trouble) reasons.push(trouble);
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 403) {
          if (refusedAt === undefined) log('warn', 'may not list pods to say why a Domain waits for its replicas (the ClusterRole needs list on pods)', { domain: key, error: error.message });
          podListFailed.set(key, monotonic());
          return [];
        }
        return lastPodReasons.get(key) ?? [];
      }
    }
    podListFailed.delete(key);
    lastPodReasons.set(key, reasons);
    return reasons;
  }

  const reconcileDomain = async function reconcileDomain({ object: cached, namespace, name }: Parameters<Reconcile<Domain>>[0]): ReturnType<Reconcile<Domain>> {
    const key = `${namespace}/${name}`;
    // Never from a copy older than this reconciler's last write: woken by the watch event of its own
    // finalizer write, or a Deployment's status update, while the cache had not seen its status write yet,
    // it applied the chart again, wrote that status again with a new lastTransitionTime and said its
    // Event twice. A live GET only while the cache lags behind (kube/own-writes.ts).
    const ref = { apiVersion: API_VERSION, kind: 'Domain', namespace, name };
    const object = await readWithFinalizer({ client, ownWrites }, { key, ref, cached: cached as unknown as KubeObject | undefined, finalizer: DOMAIN_FINALIZER });
    if (!object) {
      waitingSince.delete(key);
      podListFailed.delete(key);
      lastPodReasons.delete(key);
      usageStale.delete(key);
      configMaps.forget(key);
      return undefined; // gone: the garbage collector owns what is left
    }
    let domain = object as unknown as Domain;
    let ctx = createDomainContext(domain);
    const generation = domain.metadata.generation ?? 0;
    if ((domain.metadata as { deletionTimestamp?: string }).deletionTimestamp) return reconcileDeletion(domain, ctx);

    const unsupported = unsupportedSpec(ctx);
    if (unsupported) {
      // Nothing to retry: only a spec change (its watch event) or a newer operator can change the answer.
      await writeStatus(domain, outcome(generation, 'StorageModeUnsupported', unsupported, 'blocked'));
      return undefined;
    }

    const claimProblem = storageClaimProblem(domain);
    if (claimProblem) {
      // The schema cannot see annotations (charts/storage-claim.ts): refused here, nothing applied, and
      // nothing to retry until the annotation changes (its watch event).
      await writeStatus(domain, outcome(generation, 'InvalidAnnotation', claimProblem, 'blocked'));
      return undefined;
    }

    const secretProblem = await checkSecretKeys(client, ctx.namespace, referencedSecretKeys(ctx, { monitoring: deps.monitoring }), secretKeys);
    if (secretProblem) {
      // Secrets are not watched: retried with backoff until someone creates or fixes it.
      await writeStatus(domain, outcome(generation, secretProblem.reason, secretProblem.message, 'blocked'));
      throw new RequeueError(secretProblem.message);
    }

    let adminSecret = await checkAdminSecret(domain, ctx);
    if (adminSecret === null) {
      await writeStatus(domain, outcome(generation, 'MissingAdminSecret', missingAdminSecret(ctx), 'blocked'));
      throw new RequeueError(missingAdminSecret(ctx));
    }

    // The image to run (domain-image.ts). Manual without status.currentImage (a new Domain, or one
    // re-created or restored without its status): the image its api Deployment runs, if it has one, is the
    // current image (status lost, pods not); else approvedImage (imageToRun); else, over kept data, none.
    // Only in that state, which a Domain leaves with its first status write: no request at steady state.
    if (needsRunningImage(ctx)) {
      const running = deploymentImage(deps.cachedDeployment?.(ctx.namespace, ctx.names.api) ?? (await client.find({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ctx.namespace, name: ctx.names.api })));
      if (running) ctx = createDomainContext(withCurrentImage(domain, running));
      else if (!ctx.spec.upgrade.approvedImage) {
        // The apply reads it anyway (bootstrapCredentials): read here, it is read once.
        adminSecret = adminSecret ?? (await readAdminSecret(ctx)) ?? null;
        if (adminSecret) {
          const message = heldOverKeptData(ctx);
          await writeStatus(domain, { ...outcome(generation, 'ImageNotApproved', message, 'blocked'), upgrade: upgradeCondition(ctx, generation, true) });
          // Secrets are not watched: retried with backoff, for the admin Secret deleted to start over.
          throw new RequeueError(message);
        }
      }
    }
    const upgrade = upgradeCondition(ctx, generation) ?? null;

    const inputs = chartInputs(domain, ctx.image);
    let last = applied.get(key);
    const observed = domain.status?.observedGeneration;
    // Deployments as this reconcile's apply answered: the freshest view there is right after it.
    let appliedDeployments: Map<string, KubeObject> | undefined;
    // Deployments the rollout budget holds back (domain-rollouts.ts): everything else is applied.
    let held: { names: string[]; message: string } | undefined;
    const due = last?.inputs !== inputs || observed !== generation || monotonic() - last.at > reapplyAfterMs || Boolean(last.held);
    // Held back at the last apply and nothing else changed since: the budget is asked first, so a queued
    // Domain's retries cost no request until its turn comes.
    const cachedChart = charts.get(key)?.manifests;
    if (due && last?.held && last.inputs === inputs && observed === generation && monotonic() - last.at <= reapplyAfterMs && cachedChart) {
      held = planRollout(key, cachedChart, ctx, generation).held;
    }
    if (due && !held) {
      // Before each apply: a conflict is settled when the newer of the two is first applied (by then the
      // older is in the index, its event came first).
      const conflict = storageConflict(domain, deps.overlappingDomains?.(domain) ?? []);
      if (conflict) {
        await writeStatus(domain, outcome(generation, 'StorageConflict', conflict, 'blocked'));
        throw new RequeueError(conflict);
      }
      // Before a first apply the admin Secret is read here, once: for the credentials a kept one holds, and
      // for the NameConflict check below (whose it is).
      if (!domain.status?.adminSecretRef && adminSecret === undefined) adminSecret = (await readAdminSecret(ctx)) ?? null;
      const credentials = await bootstrapCredentials(domain, ctx, adminSecret);
      if (!credentials) {
        const message = missingAdminSecret(ctx);
        await writeStatus(domain, outcome(generation, 'MissingAdminSecret', message, 'blocked'));
        throw new RequeueError(message);
      }
      // The chart runs ctx.image, settled above: built from a Domain whose currentImage says so.
      const manifests = chartFor(key, withCurrentImage(domain, ctx.image), inputs, credentials);
      const rollout = planRollout(key, manifests, ctx, generation);
      configMaps.beforeApply(key, [ctx.names.api, ctx.names.worker].map((n) => deps.cachedDeployment?.(ctx.namespace, n)), configMapOf(manifests));
      held = rollout.held;
      const toApply = held ? manifests.filter((m) => !(m.kind === 'Deployment' && held!.names.includes(m.metadata!.name!))) : manifests;
      // Until a first apply has succeeded, an object bearing a child's name may be someone else's: never
      // taken over (domain-name-conflicts.ts). Objects are not watched: retried with backoff.
      if (!domain.status?.adminSecretRef) {
        const foreign = await foreignChildren(client, toApply, domain, isRetained, new Map([[`Secret/${ctx.names.adminSecret}`, adminSecret ?? undefined]]));
        if (foreign.length > 0) {
          if (rollout.admitted.size) deps.rollouts?.settle(key, new Map());
          const message = nameConflictMessage(ctx.namespace, foreign);
          await writeStatus(domain, outcome(generation, 'NameConflict', message, 'blocked'));
          throw new RequeueError(message);
        }
      }
      const before = domain.status?.currentImage;
      // Held Deployments keep their image: currentImage says what runs. Under Manual, also before the first
      // apply: an apply that fails past the admin Secret (a webhook or quota refusing the Deployment, an
      // operator that dies) would otherwise leave the Secret and no currentImage, and the next reconcile
      // would take that Secret for kept data and hold the Domain for ever (heldOverKeptData, review 16).
      // Not under Automatic, which never holds: a new Domain's writes stay as few as they were.
      if (!held && before !== ctx.image && (before || ctx.spec.upgrade.policy === 'Manual')) {
        // Before the Deployments change image, not after: see domain-image.ts (red team H1). Automatic
        // too, so a switch to Manual keeps what ran. Once per image change, never at steady state.
        const written = await client.patch<KubeObject | undefined>({ apiVersion: API_VERSION, kind: 'Domain', namespace: ctx.namespace, name: domain.metadata.name }, 'merge', { status: { currentImage: ctx.image } }, { subresource: 'status' });
        ownWrites.wrote(key, written?.metadata?.resourceVersion);
        domain = withCurrentImage(domain, ctx.image);
      }
      try {
        // An HPA about to take spec.replicas over gets the live count first (domain-replicas.ts).
        await handOverReplicasBeforeApply(client, ctx, (name) => deps.cachedDeployment?.(ctx.namespace, name) as LiveDeployment | undefined);
        // The settings ConfigMap is named by its content and immutable: one that holds other data under its
        // name was re-created by hand, and is put right by re-creating it (apply.ts).
        const live = await applyManifests(client, toApply, { keep: (m) => m.kind === 'Deployment', recreateImmutable: (m) => m.kind === 'ConfigMap' });
        // The apply just wrote the admin Secret: checkAdminSecret need not read it for a while (a new
        // Domain's rollout costs no extra GET).
        const written = manifests.find((m) => m.kind === 'Secret' && m.metadata?.name === ctx.names.adminSecret);
        if (written) secretKeys.remember(ctx.namespace, ctx.names.adminSecret, Object.keys({ ...(written.data as object), ...(written.stringData as object) }));
        appliedDeployments = new Map();
        toApply.forEach((m, i) => m.kind === 'Deployment' && live[i] && appliedDeployments!.set(m.metadata!.name!, live[i]!));
        await handOverReplicasAfterApply(client, ctx, appliedDeployments);
        // The slot stays taken while the rollouts this apply started run (none started: it is free again).
        if (rollout.admitted.size) deps.rollouts?.settle(key, new Map([...rollout.admitted].flatMap(([name, was]) => {
          const after = appliedDeployments!.get(name)?.metadata?.generation ?? 0;
          return after > was ? [[name, after] as const] : [];
        })));
        // Objects of an older generation can exist only if an older generation was applied and not yet
        // pruned: not for generation 1, and not once status records this generation (written after pruning).
        if (generation > 1 && observed !== generation) {
          // Not the ConfigMaps: a pod of the old template may read its one until the rollout is done (below).
          const pruned = await pruneStale(client, { namespace: ctx.namespace, ownerSelector: `${DOMAIN_LABEL}=${domain.metadata.name}`, ownerUid: domain.metadata.uid!, generationLabel: GENERATION_LABEL, generation: String(generation), kinds: staleKinds, keep: isRetained });
          if (pruned.length) await events.record(domain as unknown as KubeObject, 'Normal', 'Pruned', `Deleted objects no longer desired: ${pruned.join(', ')}`);
        }
      } catch (error) {
        if (rollout.admitted.size) deps.rollouts?.settle(key, new Map());
        await writeStatus(domain, { ...outcome(generation, 'ApplyFailed', `Applying the data plane failed: ${(error as Error).message}`, 'failed'), upgrade });
        throw error;
      }
      // A held Deployment is read from the cache at the generation it has there (it was not applied).
      const heldGenerations = (held?.names ?? []).map((name) => [name, deps.cachedDeployment?.(ctx.namespace, name)?.metadata?.generation ?? 0] as const);
      last = { inputs, at: monotonic(), deployments: new Map([...[...appliedDeployments].map(([name, d]) => [name, d.metadata?.generation ?? 0] as const), ...heldGenerations]), held: Boolean(held) };
      applied.set(key, last);
    }

    // currentImage is what the Deployments were applied with: written before an apply that changes it
    // (above), and with every status after. With upgrade policy Manual it is the image kept while spec.image
    // waits for approval. Written only once Ready (as before), or only after a successful apply, an
    // approved image whose pods had started (and migrated the database) would be rolled back by the next
    // spec edit (red team). status.storage likewise: the keyspace this data plane now runs on, which it
    // holds against newer edits.
    const storage = appliedStorage(domain);
    const fields: Partial<DomainStatus> = { observedGeneration: generation, endpoint: ctx.endpoint, url: ctx.publicUrl, adminSecretRef: { name: ctx.names.adminSecret }, domainId: ctx.spec.domainId, currentImage: held ? (domain.status?.currentImage ?? ctx.image) : ctx.image, ...(storage ? { storage } : {}) };
    // A Domain held back says so in Progressing (Ready as it is) and asks again soon: not the error backoff,
    // which grows, and not the replicas poll.
    const queued = (o: Outcome): Outcome => (held ? { ...o, progressing: { type: 'Progressing', status: 'True', reason: ROLLOUT_QUEUED, message: held.message, observedGeneration: generation } } : o);
    const retry = (result: { requeueAfterMs: number } | undefined) =>
      held ? { requeueAfterMs: Math.min(result?.requeueAfterMs ?? Infinity, rolloutRetryMs * (1 + Math.random() / 5)) } : result;
    const get = async (name: string) => {
      const fresh = appliedDeployments?.get(name);
      if (fresh) return fresh;
      // The watch's copy, once it has caught up with our last apply of that Deployment: an older one
      // could still show the previous generation's rollout as available.
      const cached = deps.cachedDeployment?.(ctx.namespace, name);
      const appliedGeneration = last?.deployments.get(name);
      if (cached && appliedGeneration !== undefined && (cached.metadata?.generation ?? 0) >= appliedGeneration) return cached;
      return client.find({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ctx.namespace, name });
    };
    const apiDeployment = await get(ctx.names.api);
    const workerDeployment = ctx.singlePod ? undefined : await get(ctx.names.worker);
    const api = deploymentReadiness(apiDeployment);
    const worker = ctx.singlePod ? undefined : deploymentReadiness(workerDeployment);
    // Once nothing can read them any more (domain-config-maps.ts): the ConfigMaps older settings left.
    const pruneConfigMaps = async () => {
      const chart = charts.get(key)?.manifests;
      if (chart) await configMaps.pruneWhenRolledOut(key, ctx, configMapOf(chart), [apiDeployment, workerDeployment]);
    };
    fields.readyReplicas = api.available;
    if (worker) fields.workerReadyReplicas = worker.available;
    if (ctx.stopped) {
      // Asked for, not a fault: nothing to wait for and no /readyz to probe. The Deployment watch still
      // wakes the Domain as its pods go, which keeps readyReplicas true; a spec change starts it again.
      const message = `Data plane stopped: scaled to zero by spec (apiServer.replicas: 0); /readyz is not probed${api.available ? ` (${api.available} replica(s) still terminating)` : ''}`;
      await writeStatus(domain, { ...queued(outcome(generation, 'Stopped', message, 'stopped')), fields, upgrade });
      // Scaled to zero with no pod left, none reads a ConfigMap: a stopped Domain keeps no old one.
      if ([apiDeployment, workerDeployment].every(withoutPods)) await pruneConfigMaps();
      return retry(undefined);
    }
    const failed = [api, worker].filter((r) => r?.failed).map((r) => r!.message);
    if (failed.length) {
      // The Deployment controller gave up; the watch wakes the Domain when a new rollout (a spec change,
      // a node that frees up) moves the Deployment again.
      await writeStatus(domain, { ...queued(outcome(generation, 'RolloutFailed', failed.join('; '), 'failed')), fields, upgrade });
      return retry({ requeueAfterMs: REPLICAS_POLL_MS });
    }
    const waiting = ([[api, 'api-server'], [worker, 'worker']] as const).filter(([r]) => r && !r.ready);
    if (waiting.length) {
      const entry = waitingSince.get(key);
      const since = entry?.generation === generation ? entry.since : monotonic();
      const pods = monotonic() - since >= podDiagnosisAfterMs ? await podReasons(ctx, waiting.map(([, component]) => component)) : [];
      await writeStatus(domain, { ...queued(outcome(generation, 'WaitingForReplicas', [...waiting.map(([r]) => r!.message), ...pods].join('; '), 'waiting')), fields, upgrade });
      waitingSince.set(key, { generation, since }); // after the write, which ends any other wait
      return retry({ requeueAfterMs: REPLICAS_POLL_MS });
    }
    // Every Deployment rolled out, no old replica left: whatever /readyz says, no pod reads an old ConfigMap.
    await pruneConfigMaps();
    const endpoint = adminEndpoint(domain, ctx, deps.domainEndpoints);
    const probe = await probeReadyz(fetchFn, endpoint, deps.readyzTimeoutMs);
    if (!probe.ready) {
      await writeStatus(domain, { ...queued(outcome(generation, 'WaitingForReadyz', probe.message, 'waiting')), fields, upgrade });
      // A data plane that says when to ask again (503 + Retry-After while it starts) is asked then, not
      // after the error backoff, which grows with every probe of a start that takes a few seconds.
      if (probe.retryAfterMs !== undefined) return retry({ requeueAfterMs: probe.retryAfterMs });
      if (held) return retry(undefined);
      throw new RequeueError(probe.message);
    }
    // Serving on pods this reconciler applied with a pending takeover (the chart's inputs hold it; none held
    // back): the store is theirs. Recorded, so the next apply passes check again and no later start takes
    // it over (charts/storage-claim.ts); not Ready yet: the pods roll once more, and Ready comes after.
    if (takeoverPending(domain) && !held && applied.get(key)?.inputs === inputs) {
      const uid = domain.metadata.uid ?? key;
      if (takeoversRecorded.has(uid)) {
        // Recorded once already and still not in status: the cluster's Domain CRD predates
        // status.storageClaim and the API server drops it. Said, not retried in a loop.
        const message = `the takeover is done but status.storageClaim was not stored: the Domain CRD in the cluster is older than this operator (kubectl apply -k crds/ from this release); until then every start of the data plane takes its store over`;
        await writeStatus(domain, { ...queued(outcome(generation, 'CRDOutdated', message, 'blocked')), fields, upgrade });
        throw new RequeueError(message);
      }
      takeoversRecorded.add(uid);
      const message = `The data plane holds its blob store now (${STORAGE_CLAIM_ANNOTATION}=takeover): its pods roll back to check, so that no later start takes the store over again; the annotation can go (kubectl annotate domain ${name} ${STORAGE_CLAIM_ANNOTATION}-)`;
      await writeStatus(domain, { ...queued(outcome(generation, 'StorageClaimTakenOver', message, 'waiting')), fields: { ...fields, storageClaim: { takenOverAt: now().toISOString() } }, upgrade });
      await events.record(domain as unknown as KubeObject, 'Normal', 'StorageClaimTakenOver', message);
      // Again soon, to apply without takeover: a status write's watch event wakes no reconcile (controller.ts).
      return retry({ requeueAfterMs: 1000 });
    }
    // In the same status write as Ready: the usage costs no write of its own.
    const usage = await refreshUsage(key, domain, ctx, endpoint);
    const takenOver = storageClaimMode(domain) === 'takeover' && domain.status?.storageClaim ? ` (${STORAGE_CLAIM_ANNOTATION}=takeover was done at ${domain.status.storageClaim.takenOverAt}; later starts check: the annotation can go)` : '';
    await writeStatus(domain, { ...queued(outcome(generation, 'Ready', `Data plane ready: ${probe.message}${takenOver}`, 'ready')), fields: { ...fields, ...(usage ? { usage } : {}) }, upgrade });
    return retry(undefined);
  };
  return Object.assign(reconcileDomain, {
    invalidate: (key: string) => void applied.delete(key),
    usageChanged: (key: string) => void usageStale.add(key),
    deploymentChanged(key: string, name: string, generation: number | undefined) {
      if (generation === undefined || applied.get(key)?.deployments.get(name) !== generation) applied.delete(key);
    },
  });
}

