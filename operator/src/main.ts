/**
 * The operator's composition root: loads the kubeconfig, builds the kube client, Event recorder and
 * metrics, optionally waits for the Lease, then starts one controller per registered kind (Domain always;
 * more through `registerReconciler`, e.g. Drive) and serves /metrics, /healthz and /readyz.
 *
 * Shutdown order (SIGTERM, or stop()): stop watching, let running reconciles finish (drain), then hand the
 * Lease back so a standby takes over at once, then close the HTTP server.
 *
 * The Lease lives in the operator's own namespace (resolveLeaseNamespace: in a pod, POD_NAMESPACE), the
 * only one its Role grants Leases in. A candidate that cannot read or write it logs why (an error, at most
 * every 10 s) and fails /readyz; `openpds_operator_leader` is 1 on the instance that reconciles.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { Gauge } from 'prom-client';
import { ConfigError, DEFAULT_MAX_CONCURRENT_ROLLOUTS, resolveLeaseNamespace, SERVICE_ACCOUNT_NAMESPACE_FILE, type OperatorConfig } from './config';
import { API_VERSION, type Domain } from './domain-types';
import { createController, type Controller, type Reconcile, type SecondaryWatch } from './kube/controller';
import type { ResilientInformer } from './kube/informer';
import { createEventRecorder, type EventRecorder } from './kube/events';
import { createKubeClient, isNotFound, KubeApiError, type KubeClient, type KubeObject } from './kube/kube-client';
import { createLeaderElector, type LeaderElector } from './kube/leader-election';
import { createOperatorMetrics, type DriftMetrics, type OperatorMetrics } from './metrics';
import { registerDomainReadyMetric } from './domain-ready-metric';
import { createDomainReconciler, type DomainReconciler } from './reconcilers/domain';
import { createDomainKeyspaces } from './reconcilers/domain-keyspaces';
import { createDomainAccessResolver, createDomainAdminClients, type DomainAdminClients } from './reconcilers/domain-access';
import { createRolloutBudget, type RolloutBudget } from './reconcilers/domain-rollouts';
import type { DomainChartOptions } from './charts/domain.chart';
import type { DomainAccess } from './reconcilers/drive-context';
import { DOMAIN_LABEL } from './charts/domain-context';
import { MONITORING_KINDS, monitoringKinds, type MonitoringOption } from './charts/monitoring.chart';

/** What a registered reconciler is built from. */
export interface OperatorRuntime {
  client: KubeClient;
  kubeConfig: KubeConfig;
  events: EventRecorder;
  config: OperatorOptions;
  /** The admin API of Domain ns/name when it is Ready (for Drive, UserSystem, OAuthApp). */
  domainAccess(namespace: string, name: string): Promise<DomainAccess>;
  /** Requeues an object of another kind, e.g. Drives when their Domain turns Ready. */
  enqueue(kind: string, key: string): void;
  /**
   * A reconciler changed what Domain ns/name holds (a drive created, resized or deleted): its status.usage
   * is read again ~2 s later (changes within those 2 s gathered into one read), not at the next 5-minute
   * refresh. Absent where no Domain reconciler runs (tests' runtimes).
   */
  domainUsageChanged?(namespace: string, name: string): void;
  /** The operator's metrics, for what a reconciler counts itself (drift it corrected). */
  metrics: DriftMetrics;
}

export interface ReconcilerRegistration<T extends KubernetesObject = KubernetesObject> {
  kind: string;
  /** Resource name of the kind, e.g. `drives`. */
  plural: string;
  /** Default openpds.io/v1alpha1. */
  apiVersion?: string;
  create(runtime: OperatorRuntime): Reconcile<T>;
  secondary?(runtime: OperatorRuntime): SecondaryWatch[];
  concurrency?: number;
}

export interface OperatorOptions extends Partial<Omit<OperatorConfig, 'metricsPort'>> {
  metricsPort: number;
  /** Extra kinds to run (the integrator registers Drive here). */
  reconcilers?: ReconcilerRegistration<any>[];
  /**
   * Prometheus Operator kinds: 'auto' (the default) asks discovery for monitoring.coreos.com/v1 at start and
   * again every `monitoringRecheckMs`, so CRDs installed or removed later take effect without a restart.
   */
  monitoring?: boolean | 'auto';
  /** How often 'auto' monitoring asks discovery again (default 5 minutes; 0: only at start). */
  monitoringRecheckMs?: number;
  leaseName?: string;
  leaseDurationMs?: number;
  /** POD_NAME and POD_NAMESPACE (the downward API in config/manager/deployment.yaml); default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Default: the in-cluster service-account mount. */
  serviceAccountNamespaceFile?: string;
  resyncIntervalMs?: number;
  concurrency?: number;
  baseBackoffMs?: number;
  /** Longest wait between retries of one object (default 30 s: a data plane that comes up is seen soon). */
  maxBackoffMs?: number;
  /** Overall limit on retries per kind (token bucket; default 10 per second, burst 100). */
  retryRatePerSecond?: number;
  retryBurst?: number;
  /** How old a Domain's status.usage may get before a reconcile reads it again (default 5 minutes). */
  domainUsageRefreshMs?: number;
  /** How long Drive changes of one Domain gather before its usage is read again (default 2 s). */
  domainUsageCoalesceMs?: number;
  /**
   * How long a new Drive waits, at most, before it first acts in the data plane, so that one created in
   * the same second can tie with it (drive-identity.ts tieSettleMs; default 2 s). 0 for suites whose Drives
   * never share an identity.
   */
  driveTieSettleMs?: number;
  /** How soon a Domain held back by --max-concurrent-rollouts asks again (default 5 s). */
  rolloutRetryMs?: number;
  /** How long a Domain waits for its replicas before the operator asks their pods why (default 20 s). */
  podDiagnosisAfterMs?: number;
  /** Test hook: chart options that stand in for a newer operator's chart (a changed pod template, a new setting). */
  domainChartOptions?: Pick<DomainChartOptions, 'podAnnotations' | 'configEnv'>;
  /** Replaces the Domain reconciler (the benchmark's no-op baseline). */
  domainReconciler?: (runtime: OperatorRuntime) => Reconcile<Domain>;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /** Called when leadership is lost: the process should exit so its replacement starts clean. */
  onLostLeadership?: () => void;
}

export interface RunningOperator {
  metricsUrl: string;
  controllers: Map<string, Controller<KubernetesObject>>;
  isLeader(): boolean;
  /** Graceful: drain, release the Lease, close. */
  stop(): Promise<void>;
  /** Abrupt, like a killed process: nothing is drained or released (tests of crash recovery). */
  kill(): Promise<void>;
}

/** How long Drive changes of one Domain gather before its usage is read again (OperatorRuntime.domainUsageChanged). */
const USAGE_CHANGE_COALESCE_MS = 2000;

type Log = NonNullable<OperatorOptions['log']>;

function domainRegistration(options: OperatorOptions, monitoring: () => MonitoringOption, deploymentCache: () => ResilientInformer<KubernetesObject> | undefined, adminClients: DomainAdminClients, rollouts: RolloutBudget, log: Log): ReconcilerRegistration<Domain & KubernetesObject> & Pick<DomainReconciler, 'usageChanged'> {
  // The reconciler for the current monitoring setting, built by create() and again whenever the setting
  // changed (the Prometheus Operator's CRDs installed or removed while running): a reconciler fixes at
  // creation which kinds it renders and prunes, so a new one is what a restart of the operator would give.
  // Its caches start empty, so each Domain's next reconcile applies its chart again. Both the reconcile
  // and the Deployment watch below belong to this one operator instance.
  let current: { monitoring: string; reconciler: DomainReconciler } | undefined;
  // Every Domain's S3 keyspaces, kept by a watch below: one index for the reconcilers of both settings.
  const keyspaces = createDomainKeyspaces();
  return {
  // The reconciler of the moment's: a Drive changed what its Domain holds (OperatorRuntime.domainUsageChanged).
  usageChanged: (key: string) => current?.reconciler.usageChanged(key),
  kind: 'Domain',
  plural: 'domains',
  create(runtime) {
    if (options.domainReconciler) return options.domainReconciler(runtime) as Reconcile<Domain & KubernetesObject>;
    const reconcilerFor = (enabled: MonitoringOption): DomainReconciler => {
      if (current?.monitoring === JSON.stringify(enabled)) return current.reconciler;
      const reconciler = createDomainReconciler({
        client: runtime.client,
        events: runtime.events,
        monitoring: enabled,
        domainEndpoints: options.domainEndpoints ?? {},
        // The Deployment watch below: its cache answers most readiness checks without a GET.
        cachedDeployment: (namespace, name) => deploymentCache()?.get(name, namespace) as KubeObject | undefined,
        // From the Domain watch's index below: the Domains a storage conflict can be with.
        overlappingDomains: (domain) => keyspaces.overlapping(domain),
        // The clients runtime.domainAccess hands out too: one login per domain for usage and Drives.
        adminClients,
        // One budget for every reconciler this operator builds: slots survive a monitoring switch.
        rollouts,
        ...(options.rolloutRetryMs !== undefined ? { rolloutRetryMs: options.rolloutRetryMs } : {}),
        ...(options.domainChartOptions ? { chartOptions: options.domainChartOptions } : {}),
        ...(options.domainUsageRefreshMs !== undefined ? { usageRefreshMs: options.domainUsageRefreshMs } : {}),
        ...(options.podDiagnosisAfterMs !== undefined ? { podDiagnosisAfterMs: options.podDiagnosisAfterMs } : {}),
        log,
      });
      current = { monitoring: JSON.stringify(enabled), reconciler };
      return reconciler;
    };
    reconcilerFor(monitoring());
    return ((context) => reconcilerFor(monitoring())(context as never)) as Reconcile<Domain & KubernetesObject>;
  },
  // The Deployment watch first: runOperator reads its cache as the Domain controller's secondaries[0].
  secondary: (runtime) => {
    /**
     * A child deleted by hand (a Service, an Ingress, a NetworkPolicy, ...) is applied again at once: its
     * Domain's last apply is forgotten and the Domain queued. Without it, a Ready Domain was reconciled
     * again only at the resync (10 minutes) and said Ready all that while, with no Service in front of its
     * pods. Deletions only: hand edits are put right at the periodic re-apply, as before. Our own objects
     * only (by label), so the watch costs no more than the Domains have children.
     */
    const childDeletions = ({ apiVersion, kind, plural }: (typeof CHILD_KINDS)[number]): SecondaryWatch => ({
      path: `${apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`}${options.namespace ? `/namespaces/${options.namespace}` : ''}/${plural}`,
      labelSelector: MANAGED_BY_OPERATOR,
      list: () => runtime.client.list({ apiVersion, kind, ...(options.namespace ? { namespace: options.namespace } : {}) }, { labelSelector: MANAGED_BY_OPERATOR }) as unknown as Promise<KubernetesListObject<KubernetesObject>>,
      ownerKeys(object, event) {
        const owner = object.metadata?.labels?.[DOMAIN_LABEL];
        if (event !== 'delete' || !owner) return [];
        const key = `${object.metadata?.namespace}/${owner}`;
        current?.reconciler.invalidate(key);
        return [key];
      },
    });
    return [
      {
        path: `/apis/apps/v1${options.namespace ? `/namespaces/${options.namespace}` : ''}/deployments`,
        labelSelector: MANAGED_BY_OPERATOR,
        list: () => runtime.client.list({ apiVersion: 'apps/v1', kind: 'Deployment', ...(options.namespace ? { namespace: options.namespace } : {}) }, { labelSelector: MANAGED_BY_OPERATOR }) as unknown as Promise<KubernetesListObject<KubernetesObject>>,
        ownerKeys(object, event, previous) {
          const owner = object.metadata?.labels?.[DOMAIN_LABEL];
          if (!owner) return [];
          const key = `${object.metadata?.namespace}/${owner}`;
          // A deleted child or a spec edit (generation) must be re-applied, not skipped as current.
          if (event === 'delete') current?.reconciler.deploymentChanged(key, object.metadata!.name!, undefined);
          else if (previous && previous.metadata?.generation !== object.metadata?.generation) current?.reconciler.deploymentChanged(key, object.metadata!.name!, object.metadata?.generation ?? 0);
          const statusOf = (o: KubernetesObject | undefined) => JSON.stringify((o as { status?: unknown } | undefined)?.status ?? null);
          return event === 'update' && statusOf(previous) === statusOf(object) && previous?.metadata?.generation === object.metadata?.generation ? [] : [key];
        },
      },
      // Not for a reconciler passed in (the benchmark's baselines): they neither re-apply nor ask the index.
      ...(options.domainReconciler ? [] : [...CHILD_KINDS.map((kind) => childDeletions(kind)), keyspaces.watch]),
    ];
  },
  };
}

const MANAGED_BY_OPERATOR = 'app.kubernetes.io/managed-by=openpds-operator';
/**
 * A Domain's children whose deletion by hand re-applies it at once. Not Deployments (a watch of their own),
 * and not ConfigMaps: the operator itself deletes the old settings ConfigMaps after each rollout, and each
 * of those deletions would re-apply the whole chart for nothing (a settings ConfigMap deleted by hand is put
 * back at the periodic re-apply, and its pods say why they cannot start meanwhile).
 */
const CHILD_KINDS = [
  { apiVersion: 'v1', kind: 'Service', plural: 'services' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', plural: 'ingresses' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets' },
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers' },
] as const;

/**
 * The Prometheus Operator kinds this cluster serves, from discovery (false: none). Per kind, not per group:
 * a cluster with the ServiceMonitor CRD alone (several agents install just that one) would otherwise get
 * a PrometheusRule in every Domain's chart, which then fails to apply, and Domains never turn Ready and
 * cannot be deleted (pruning and deletion list every kind rendered).
 */
async function detectMonitoring(client: KubeClient): Promise<MonitoringOption> {
  const served = new Set<string>();
  for (const groupVersion of new Set(MONITORING_KINDS.map((k) => k.apiVersion))) {
    try {
      const list = (await client.request('GET', `/apis/${groupVersion}`)) as { resources?: { name?: string; kind?: string }[] } | undefined;
      for (const r of list?.resources ?? []) if (r.kind && !r.name?.includes('/')) served.add(`${groupVersion}/${r.kind}`);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  const kinds = MONITORING_KINDS.filter((k) => served.has(`${k.apiVersion}/${k.kind}`)).map((k) => k.kind);
  return kinds.length === 0 ? false : kinds;
}

export async function runOperator(options: OperatorOptions): Promise<RunningOperator> {
  const log: Log = options.log ?? ((level, message, fields) => console.error(JSON.stringify({ level, msg: message, ...fields })));
  const k8s = await import('@kubernetes/client-node');
  const kubeConfig = new k8s.KubeConfig();
  try {
    if (options.kubeconfig) kubeConfig.loadFromFile(options.kubeconfig);
    else kubeConfig.loadFromDefault();
  } catch (error) {
    // A missing, unreadable or malformed file: one line naming it (the CLI prints ConfigErrors), not a stack.
    const e = error as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message.split('\n')[0];
    throw new ConfigError(`cannot load the kubeconfig ${options.kubeconfig ?? '($KUBECONFIG or ~/.kube/config)'}: ${why}`);
  }
  let killed = false;
  // Set when the Lease is lost: a reconcile still running sends nothing more (each further request fails
  // at once), since the next leader may already be reconciling the same objects.
  let lostLease = false;
  const client = createKubeClient(kubeConfig, { isAlive: () => !killed && !lostLease });
  const metrics: OperatorMetrics = createOperatorMetrics();
  const events = createEventRecorder({ client, onError: (error) => log('warn', 'event not recorded', { error: String(error) }) });
  const autoMonitoring = options.monitoring === undefined || options.monitoring === 'auto';
  let monitoring: MonitoringOption = autoMonitoring ? await detectMonitoring(client) : options.monitoring === true;
  const controllers = new Map<string, Controller<KubernetesObject>>();
  let state: 'starting' | 'standby' | 'running' | 'stopped' = 'starting';
  // Why the last leader-election attempt could not read or write the Lease (cleared by one that could):
  // a standby that cannot even see its Lease (403 from RBAC, wrong namespace) is not ready, so
  // `kubectl get pods` shows it instead of two healthy-looking pods of which neither reconciles.
  let electionFailure: string | undefined;
  let elector: LeaderElector | undefined;
  const reconciling = () => state === 'running' && (!elector || elector.isLeader());
  new Gauge({
    name: 'openpds_operator_leader',
    help: '1 while this instance reconciles (holds the Lease, or runs without leader election), 0 on standby.',
    registers: [metrics.registry],
    collect() {
      this.set(reconciling() ? 1 : 0);
    },
  });
  // Per-Domain readiness from the Domain cache, on the leader only: a standby runs no informers (they start
  // with startControllers), and a leader that lost the Lease stops its own, so the only cache that is
  // current is the leader's and any other replica would report stale data as fresh. The alert reading it
  // still takes max by (namespace, domain): a failover changes the pod/instance labels of the series, and
  // without the aggregation the alert's `for:` would start again at each one.
  registerDomainReadyMetric({
    registry: metrics.registry,
    domains: () => {
      const informer = controllers.get('Domain')?.informer;
      return reconciling() && informer?.hasSynced() ? (informer.list() as Domain[]) : undefined;
    },
  });

  const health = (): string | undefined => {
    if (state === 'running') return undefined;
    if (state === 'standby') return electionFailure ? `leader election failing: ${electionFailure}` : undefined;
    return state;
  };
  const server = await startHealthServer(options.metricsPort, metrics, health);
  const metricsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const usageChanges = new Map<string, NodeJS.Timeout>();
  const clearUsageChanges = () => {
    for (const timer of usageChanges.values()) clearTimeout(timer);
    usageChanges.clear();
  };
  const adminClients = createDomainAdminClients({ client });
  const runtime: OperatorRuntime = {
    client,
    kubeConfig,
    events,
    config: options,
    domainAccess: createDomainAccessResolver({
      client,
      domainEndpoints: options.domainEndpoints ?? {},
      getDomain: (namespace, name) => controllers.get('Domain')?.informer.get(name, namespace) as Domain | undefined,
      adminClients,
    }),
    enqueue: (kind, key) => controllers.get(kind)?.enqueue(key),
    // At most one usage read per Domain per USAGE_CHANGE_COALESCE_MS (or domainUsageCoalesceMs): a GitOps
    // sync creating 50 Drives of one Domain costs one or two reads, not 50 reconciles, probes, reads and
    // status writes.
    domainUsageChanged(namespace, name) {
      // Stopped (stop, kill, a lost Lease): a Drive reconcile that the drain lets finish after stop() cleared
      // the timers must not arm one that outlives the operator.
      if (state === 'stopped' || lostLease) return;
      const key = `${namespace}/${name}`;
      if (usageChanges.has(key)) return;
      usageChanges.set(key, setTimeout(() => {
        usageChanges.delete(key);
        domain.usageChanged(key);
        controllers.get('Domain')?.enqueue(key);
      }, options.domainUsageCoalesceMs ?? USAGE_CHANGE_COALESCE_MS).unref());
    },
    metrics,
  };

  // The rollout budget across Domains reads the Deployment watch's cache only (no request).
  // The Domain registration's first secondary watch (domainRegistration says so where it lists them).
  const deploymentCache = () => controllers.get('Domain')?.secondaries[0];
  const rollouts = createRolloutBudget({
    limit: options.maxConcurrentRollouts ?? DEFAULT_MAX_CONCURRENT_ROLLOUTS,
    deployments: () => deploymentCache()?.list() as KubeObject[] | undefined,
    deployment: (namespace, name) => deploymentCache()?.get(name, namespace) as KubeObject | undefined,
  });
  metrics.trackQueuedRollouts(() => (reconciling() ? rollouts.queued() : 0));
  const domain = domainRegistration(options, () => monitoring, deploymentCache, adminClients, rollouts, log);
  const registrations: ReconcilerRegistration<any>[] = [domain, ...(options.reconcilers ?? [])];
  for (const registration of registrations) {
    const apiVersion = registration.apiVersion ?? API_VERSION;
    const ns = options.namespace;
    const ref = { apiVersion, kind: registration.kind, ...(ns ? { namespace: ns } : {}) };
    const controller = createController<KubernetesObject>({
      kind: registration.kind,
      kubeConfig,
      makeInformer: k8s.makeInformer as never,
      path: resourcePathFor(apiVersion, registration.plural, ns),
      // Lists omit apiVersion/kind per item; Events and owner references need them.
      list: async () => {
        const list = await client.list(ref);
        return { ...list, items: list.items.map((item) => ({ apiVersion, kind: registration.kind, ...item })) } as KubernetesListObject<KubernetesObject>;
      },
      reconcile: registration.create(runtime) as Reconcile<KubernetesObject>,
      secondary: registration.secondary?.(runtime) ?? [],
      concurrency: registration.concurrency ?? options.concurrency ?? 8,
      baseBackoffMs: options.baseBackoffMs ?? 250,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      ...(options.retryRatePerSecond !== undefined ? { retryRatePerSecond: options.retryRatePerSecond } : {}),
      ...(options.retryBurst !== undefined ? { retryBurst: options.retryBurst } : {}),
      resyncIntervalMs: options.resyncIntervalMs ?? 10 * 60_000,
      metrics,
      onError: (key, error, retryInMs) =>
        log(error instanceof Error && error.name === 'RequeueError' ? 'info' : 'warn', 'reconcile requeued', { kind: registration.kind, key, retryInMs, error: (error as Error).message }),
    });
    controllers.set(registration.kind, controller);
    metrics.trackQueueDepth(registration.kind, () => controller.queue.depth());
  }

  // 'auto' asks discovery again now and then: the Prometheus Operator installed (or removed) after the
  // operator started changes every Domain's chart (ServiceMonitor, PrometheusRule, AlertmanagerConfig).
  // On a change every Domain is queued; its reconcile builds the chart for the new setting. A failed
  // check keeps the setting it has (an API server hiccup must not drop every Domain's monitoring).
  let monitoringRecheck: ReturnType<typeof setInterval> | undefined;
  const recheckMs = options.monitoringRecheckMs ?? 5 * 60_000;
  let rechecking = false;
  const recheckMonitoring = async () => {
    if (rechecking) return;
    rechecking = true;
    try {
      const found = await detectMonitoring(client);
      if (JSON.stringify(found) === JSON.stringify(monitoring) || state === 'stopped') return;
      const before = monitoringKinds(monitoring);
      monitoring = found;
      const domains = controllers.get('Domain');
      const keys = domains?.informer.list().map((d) => `${d.metadata?.namespace}/${d.metadata?.name}`) ?? [];
      const now = monitoringKinds(found);
      const appeared = [...now].filter((k) => !before.has(k));
      const disappeared = [...before].filter((k) => !now.has(k));
      const change = [appeared.length ? `${appeared.join(', ')} appeared` : '', disappeared.length ? `${disappeared.join(', ')} disappeared` : ''].filter(Boolean).join('; ');
      log('info', `monitoring.coreos.com ${now.size === 0 ? 'disappeared' : before.size === 0 ? 'appeared' : 'changed'} (${change}): rendering ${now.size ? [...now].join(', ') : 'no monitoring kind'}`, { monitoring, domains: keys.length });
      for (const key of keys) domains!.enqueue(key);
    } catch (error) {
      log('warn', 'monitoring re-detection failed; keeping the current setting', { monitoring, error: String(error) });
    } finally {
      rechecking = false;
    }
  };
  if (autoMonitoring && recheckMs > 0) {
    monitoringRecheck = setInterval(() => void recheckMonitoring(), recheckMs);
    monitoringRecheck.unref();
  }

  const startControllers = async () => {
    await Promise.all([...controllers.values()].map((c) => c.start()));
    state = 'running';
    log('info', 'operator running', { kinds: [...controllers.keys()], monitoring });
  };
  const stopControllers = () => Promise.all([...controllers.values()].map((c) => c.stop()));

  if (options.leaderElect) {
    state = 'standby';
    const env = options.env ?? process.env;
    const leaseNamespace = resolveLeaseNamespace({
      flag: options.leaseNamespace,
      podNamespace: env.POD_NAMESPACE,
      serviceAccountNamespace: readOptional(options.serviceAccountNamespaceFile ?? SERVICE_ACCOUNT_NAMESPACE_FILE),
      watchNamespace: options.namespace,
    });
    const lease = `${leaseNamespace}/${options.leaseName ?? 'openpds-operator'}`;
    // client-go's identity: the pod name where there is one (what `kubectl get lease` should show), made
    // unique per process so a restarted container never mistakes its predecessor's Lease for its own.
    const identity = `${env.POD_NAME || `${hostname()}-${process.pid}`}_${randomBytes(4).toString('hex')}`;
    const throttled = createThrottle(10_000);
    log('info', `leader election: candidate for Lease ${lease}`, { identity });
    elector = createLeaderElector({
      client,
      namespace: leaseNamespace,
      name: options.leaseName ?? 'openpds-operator',
      identity,
      ...(options.leaseDurationMs ? { leaseDurationMs: options.leaseDurationMs } : {}),
      onError: (error) => {
        const api = error instanceof KubeApiError ? { status: error.status, reason: error.reason } : {};
        const message = error instanceof Error ? error.message : String(error);
        electionFailure = error instanceof KubeApiError ? `${error.status} ${error.reason}: ${message}` : message;
        // A leader still has until its renew deadline; a candidate that cannot even read the Lease (403:
        // RBAC, wrong namespace) never will reconcile.
        const level = elector?.isLeader() ? 'warn' : 'error';
        throttled(electionFailure, (suppressed) => log(level, `leader election: cannot read or write Lease ${lease}`, { ...api, error: message, ...(suppressed ? { repeated: suppressed } : {}) }));
      },
      onStandby: (holder) => {
        electionFailure = undefined;
        throttled(`standby ${holder}`, () => log('info', `waiting for Lease ${lease} held by ${holder}`));
      },
      onStoppedLeading: () => {
        lostLease = true;
        clearUsageChanges();
        log('error', 'lost the Lease; stopping');
        void stopControllers().then(() => options.onLostLeadership?.());
      },
    });
    // Acquire in the background: a standby serves /healthz and /readyz while it waits.
    void elector.acquire().then((won) => {
      if (!won || state !== 'standby') return undefined;
      electionFailure = undefined;
      log('info', `leader election: acquired Lease ${lease}`, { identity });
      return startControllers();
    }).catch((error) => log('error', 'start failed', { error: String(error) }));
  } else {
    await startControllers();
  }

  const closeServer = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return {
    metricsUrl,
    controllers,
    isLeader: () => (elector ? elector.isLeader() : state === 'running'),
    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      clearInterval(monitoringRecheck);
      clearUsageChanges();
      await stopControllers();
      await elector?.release();
      server.closeAllConnections();
      await closeServer();
    },
    async kill() {
      killed = true;
      state = 'stopped';
      clearInterval(monitoringRecheck);
      clearUsageChanges();
      elector?.abandon();
      // Stops watches and drops queued keys; a request already on the wire still completes, as it would
      // when a process dies after writing to its socket, but a reconcile still running sends nothing more.
      void stopControllers();
      server.closeAllConnections();
      await closeServer();
    },
  };
}

function resourcePathFor(apiVersion: string, plural: string, namespace: string | undefined): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${base}${namespace ? `/namespaces/${namespace}` : ''}/${plural}`;
}

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined; // not in a pod
  }
}

/**
 * Logs a message at once when it differs from the last one, else at most once per `intervalMs` with the
 * number of repeats in between: every failed attempt is reported without a line every two seconds.
 */
function createThrottle(intervalMs: number): (key: string, emit: (suppressed: number) => void) => void {
  let lastKey: string | undefined;
  let lastAt = 0;
  let suppressed = 0;
  return (key, emit) => {
    const now = performance.now();
    if (key === lastKey && now - lastAt < intervalMs) return void suppressed++;
    emit(key === lastKey ? suppressed : 0);
    lastKey = key;
    lastAt = now;
    suppressed = 0;
  };
}

/** `notReady()`: undefined when ready, else why not (the /readyz body). */
function startHealthServer(port: number, metrics: OperatorMetrics, notReady: () => string | undefined): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    if (path === '/readyz') {
      const why = notReady();
      return void res.writeHead(why ? 503 : 200, { 'content-type': 'text/plain' }).end(why ? `${why}\n` : 'ok\n');
    }
    if (path === '/metrics') {
      void metrics.registry.metrics().then((body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body));
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}
